"""The house rules that a machine can check: ruff clean, and arrows one way (bot → handlers)."""

import ast
import subprocess
import sys

from tests.conftest import REPO

SDKS = ("telegram", "slack_bolt", "slack_sdk", "bot")


def test_ruff_is_clean() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_handlers_import_no_chat_sdk_and_nothing_from_bot() -> None:
    for path in (REPO / "handlers").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in SDKS, f"{path.name} imports {name}"


def imported_roots(path) -> set[str]:  # type: ignore[no-untyped-def]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_each_chat_sdk_is_imported_by_its_adapter_only() -> None:
    adapters = REPO / "bot" / "adapters"
    owners = {"telegram": "telegram", "slack_bolt": "slack", "slack_sdk": "slack"}
    for path in [*(REPO / "bot").rglob("*.py"), *(REPO / "handlers").rglob("*.py")]:
        for sdk, package in owners.items():
            if sdk in imported_roots(path):
                assert path.parent == adapters / package, (path, sdk)


def test_slack_rendering_modules_are_pure() -> None:
    """Block Kit and thread texts are plain data: no SDK, so tests can inspect them."""
    for name in ("kit", "blocks", "modals", "home", "oncall", "threads"):
        path = REPO / "bot" / "adapters" / "slack" / f"{name}.py"
        assert not {"slack_bolt", "slack_sdk"} & imported_roots(path), path
