"""The house rule of issue #13: no module in handlers/ over 400 lines (bot/ is checked in
test_adapters); generated Alembic revisions aside."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LIMIT = 400


def test_no_module_in_handlers_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(REPO)): lines
        for path in (REPO / "handlers").rglob("*.py")
        if "versions" not in path.parts
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > LIMIT
    }
    assert long == {}
