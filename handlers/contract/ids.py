"""Ids that arrive as text (typed by a creator, or in a button's payload), parsed one way.

A creator may type anything a button would send: ``csat:²:5`` or ``csat:99999999999999999999:5``
must get a polite reply, not a traceback ("²".isdigit() is true, and a database id column holds
32 bits on PostgreSQL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.contract.actions import SURVEY_PAYLOAD

MAX_ID = 2**31 - 1  # the INTEGER primary keys' range on PostgreSQL
ARTICLE_PAYLOAD = "kb:"  # a KB suggestion button: kb:<article id>
MAX_ARTICLE_ID = 200
_ASCII_NUMBER = re.compile(r"[0-9]{1,10}")
SCORES = range(1, 6)


def parse_id(value: str) -> int | None:
    """A database id: plain ASCII digits a primary key can hold (0 included); None otherwise."""
    if not _ASCII_NUMBER.fullmatch(value):
        return None
    number = int(value)
    return number if number <= MAX_ID else None


def parse_case_ref(value: str) -> int | None:
    """A case number as agents write it: ``42`` or ``#42``."""
    return parse_id(value.removeprefix("#"))


def split_id(value: str) -> tuple[int, str] | None:
    """``<id>:<rest>`` (a button's value such as ``42:harassment``) with a non-empty rest."""
    head, _, rest = value.partition(":")
    number = parse_id(head)
    return None if number is None or not rest else (number, rest)


@dataclass(frozen=True, slots=True)
class SurveyAnswer:
    case_id: int
    score: int


def parse_survey(text: str) -> SurveyAnswer | None:
    """``csat:<case>:<1-5>`` from the survey buttons; None for anything else."""
    if not text.startswith(SURVEY_PAYLOAD):
        return None
    parts = text.removeprefix(SURVEY_PAYLOAD).split(":")
    if len(parts) != 2:
        return None
    case, score = parse_id(parts[0]), parse_id(parts[1])
    if case is None or score is None or score not in SCORES:
        return None
    return SurveyAnswer(case, score)


def parse_article_payload(text: str) -> str | None:
    """The article id of a ``kb:<id>`` suggestion; None when it isn't one."""
    if not text.startswith(ARTICLE_PAYLOAD):
        return None
    article = text.removeprefix(ARTICLE_PAYLOAD).strip()
    return article if 0 < len(article) <= MAX_ARTICLE_ID else None
