"""A private PostgreSQL server for tests that restart it (never the machine's shared one)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


class PrivatePostgres:
    """initdb + pg_ctl in a temporary directory, on a free port; as ``postgres`` when root."""

    def __init__(self) -> None:
        self.bin = _binaries()
        self.dir = Path(tempfile.mkdtemp(prefix="puente-pg-"))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @staticmethod
    def unavailable() -> str | None:
        """Why this machine can't run one, or None."""
        if _binaries() is None:
            return "no PostgreSQL server binaries (initdb) on this machine"
        if os.geteuid() == 0 and shutil.which("runuser") is None:
            return "running as root without runuser to start PostgreSQL as another user"
        return None

    def _run(self, *args: str) -> None:
        assert self.bin is not None
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> PrivatePostgres:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        data = str(self.dir / "data")
        self._run("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
        self._pg_ctl("start")
        return self

    def restart(self) -> None:
        """A fast restart: every open connection is cut, as in a failover or an upgrade."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        try:
            self._pg_ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.dir / "server.log")
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-o", options, "-l", log, "-w",
                  action, *extra)  # fmt: skip
