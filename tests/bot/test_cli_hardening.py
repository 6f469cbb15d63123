"""The command line under a new user's mistakes and pipes, driven as subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.bot.test_cli import lines, puente
from tests.conftest import REPO

HEADER = "id,locale,category,questions,answer\n"


def test_a_missing_kb_file_is_one_line(tmp_path: Path) -> None:
    done = puente(tmp_path, "kb", "import", "missing.csv")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "missing.csv" in done.stderr and "cannot read the file" in done.stderr


def test_unknown_extensions_are_refused(tmp_path: Path) -> None:
    exported = puente(tmp_path, "kb", "export", "kb.json")
    assert exported.returncode == 2 and "unknown extension" in exported.stderr
    assert not (tmp_path / "kb.json").exists()
    report = puente(tmp_path, "report", "--out", "x.pdf")
    assert report.returncode == 2 and ".xlsx" in report.stderr
    assert not (tmp_path / "x.pdf").exists()


def test_kb_delete_and_import_replace(tmp_path: Path) -> None:
    first = tmp_path / "first.csv"
    first.write_text(
        HEADER + "merch,es,features,¿Cómo abro una tienda de merch?,Abre la tienda.\n"
        "sorteo,es,events,¿Cómo hago un sorteo en el live?,Usa la ruleta.\n",
        encoding="utf-8",
    )
    assert puente(tmp_path, "kb", "import", str(first)).returncode == 0
    deleted = puente(tmp_path, "kb", "delete", "merch")
    assert deleted.returncode == 0, deleted.stderr
    shipped = puente(tmp_path, "kb", "delete", "live-eligibility", "nope")
    assert shipped.returncode == 1
    assert "KB file" in shipped.stderr and "no article nope" in shipped.stderr
    puente(tmp_path, "kb", "import", str(first))
    second = tmp_path / "second.csv"
    second.write_text(HEADER + "merch,es,features,¿Abro una tienda?,Nueva.\n", encoding="utf-8")
    replaced = puente(tmp_path, "kb", "import", "--replace", str(second))
    assert replaced.returncode == 0 and "removed 1 rows" in replaced.stdout
    puente(tmp_path, "kb", "export", "all.csv")
    text = (tmp_path / "all.csv").read_text(encoding="utf-8")
    assert "Nueva." in text and "sorteo" not in text and "Abre la tienda." not in text


def test_a_bad_database_url_is_one_line_without_the_password(tmp_path: Path) -> None:
    for url in ("postgresql://puente:s3cr3t-pw@127.0.0.1:1/db", "nonsense://x:s3cr3t-pw@h:abc/"):
        done = subprocess.run(
            [sys.executable, "-m", "bot", "tickets"],
            capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False,
            env={**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
        assert done.returncode == 2
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "DATABASE_URL" in done.stderr and "s3cr3t-pw" not in done.stderr


def test_tickets_into_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    puente(tmp_path, "chat", stdin=lines("quiero hablar con una persona"))
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "tickets"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
             "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # like `| head -0`: the reader is gone before anything is printed
    error = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0
    assert "BrokenPipeError" not in error and "Traceback" not in error


def test_tickets_are_in_the_tables_language_and_aligned(tmp_path: Path) -> None:
    puente(tmp_path, "chat", "--user", "una creadora con un nombre muy largo de verdad",
           stdin=lines("quiero hablar con una persona"))  # fmt: skip
    puente(tmp_path, "chat", "--user", "b", stdin=lines("me hackearon la cuenta"))
    spanish = puente(tmp_path, "tickets", "--locale", "es").stdout.splitlines()
    assert "human_request" not in "\n".join(spanish) and "pide una persona" in spanish[-1]
    assert "Categoría" in spanish[0]
    columns = {line.index("Pri") if "Pri" in line else None for line in spanish[:1]}
    starts = {line.find(" P", 5) for line in spanish[1:]}
    assert len(starts) == 1 and columns == {next(iter(starts)) + 1}
    english = puente(tmp_path, "tickets", "--locale", "en").stdout
    assert "asks for a person" in english and "Category" in english


def test_progress_is_drawn_on_a_terminal_and_never_into_a_pipe(tmp_path: Path) -> None:
    import pty

    kb = tmp_path / "kb.csv"
    kb.write_text(
        HEADER + "".join(f"t{n},es,general,Pregunta {n},R {n}\n" for n in range(300)),
        encoding="utf-8",
    )
    piped = puente(tmp_path, "kb", "import", str(kb))
    assert piped.returncode == 0 and piped.stderr == ""
    leader, follower = pty.openpty()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "kb", "import", str(kb)],
        stdout=subprocess.PIPE, stderr=follower, cwd=tmp_path, timeout=60, check=False,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
             "PYTHONPATH": str(REPO), "TERM": "xterm"},
    )  # fmt: skip
    os.close(follower)
    drawn = os.read(leader, 65536).decode(errors="replace")
    os.close(leader)
    assert done.returncode == 0
    assert "importing kb.csv" in drawn


def test_numbered_options_survive_between_runs_for_the_same_user(tmp_path: Path) -> None:
    offer = puente(tmp_path, "chat", "--user", "e", stdin=lines("lo de los regalos"))
    options = [line.strip() for line in offer.stdout.splitlines() if line.startswith("  2) ")]
    assert options, offer.stdout
    picked = puente(tmp_path, "chat", "--user", "e", stdin=lines("2"))
    assert "no encontré" not in picked.stdout
    other = puente(tmp_path, "chat", "--user", "f", stdin=lines("2"))
    assert "no encontré" in other.stdout  # another creator's run has no offer to pick from
