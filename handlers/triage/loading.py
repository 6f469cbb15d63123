"""The shipped triage data files: rules, cues and idioms (``data/rules.toml``) and labelled
examples (``data/examples.jsonl``)."""

from __future__ import annotations

import json
import logging
import re
import tomllib
from pathlib import Path
from typing import Any

from handlers.triage.verdicts import PRIORITIES, Example, Rule

log = logging.getLogger(__name__)

DATA = Path(__file__).parent / "data"


def load_rules(path: Path = DATA / "rules.toml") -> tuple[list[Rule], list[re.Pattern[str]]]:
    if not path.exists():
        log.warning("triage rules %s are missing: triage reads examples only", path)
        return [], []
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    idioms = [_compile(p, data) for block in data.get("idiom", []) for p in block["patterns"]]
    return _blocks(data, "rule"), idioms


def load_cues(path: Path = DATA / "rules.toml") -> list[Rule]:
    """Cue words per critical category: evidence that only counts with close examples."""
    if not path.exists():
        return []
    return _blocks(tomllib.loads(path.read_text(encoding="utf-8")), "cue")


def _blocks(data: dict[str, Any], kind: str) -> list[Rule]:
    """The ``[[rule]]`` or ``[[cue]]`` blocks of the rules file, for known categories."""
    return [
        Rule(
            block["category"], block["reason"], tuple(_compile(p, data) for p in block["patterns"])
        )
        for block in data.get(kind, [])
        if block["category"] in PRIORITIES
    ]


FRAGMENT = re.compile(r"\{\{(\w+)\}\}")


def _compile(pattern: str, data: dict[str, Any]) -> re.Pattern[str]:
    """A pattern of the rules file with its ``{{name}}`` fragments (``[fragments]``) filled in,
    so a long alternation such as the ways of hurting someone is written once."""
    fragments = data.get("fragments", {})
    return re.compile(FRAGMENT.sub(lambda m: f"(?:{fragments[m.group(1)]})", pattern))


def load_examples(path: Path = DATA / "examples.jsonl") -> list[Example]:
    if not path.exists():
        log.warning("triage examples %s are missing: triage reads rules only", path)
        return []
    examples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            if item.get("category") in PRIORITIES:
                examples.append(Example(item["text"], item["category"]))
    return examples
