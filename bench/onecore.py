"""Shared by every benchmark: one core, and which code was measured.

Import it before numpy (or anything using it): BLAS / OpenMP pools are sized at their import.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

THREAD_VARIABLES: tuple[str, ...] = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "RAYON_NUM_THREADS",
)
for _variable in THREAD_VARIABLES:
    os.environ.setdefault(_variable, "1")

REPO_ROOT = Path(__file__).resolve().parent.parent


def code_version() -> str:
    """The commit and a hash of handlers/ (code and data) as it is in the working tree."""
    digest = hashlib.sha256()
    for path in sorted((REPO_ROOT / "handlers").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(REPO_ROOT).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return f"commit {commit}, working tree handlers/ sha256 {digest.hexdigest()[:12]}"


def affinity_note() -> str:
    if hasattr(os, "sched_getaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) == 1:
            return f"; process pinned to CPU {cpus[0]}"
    return ""


def pin_to_one_cpu() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
