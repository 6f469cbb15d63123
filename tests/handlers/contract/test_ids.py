"""Ids typed as text: one parser, and a polite reply (never a traceback) for odd ones."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from handlers.api import Puente
from handlers.contract.ids import (
    MAX_ID,
    SurveyAnswer,
    parse_article_payload,
    parse_case_ref,
    parse_id,
    parse_survey,
    split_id,
)
from handlers.contract.priority import Priority
from handlers.storage.models import Escalation
from tests.conftest import Creator

ODD_NUMBERS = ("", "²", "١٢", "-1", "+1", "4 2", "1e3", "42\n", " 42", "9" * 11, str(MAX_ID + 1))


def test_ids_are_plain_ascii_numbers_a_primary_key_holds() -> None:
    assert parse_id("0") == 0 and parse_id("42") == 42 and parse_id(str(MAX_ID)) == MAX_ID
    for value in ODD_NUMBERS:
        assert parse_id(value) is None, value


def test_case_refs_split_ids_and_article_payloads() -> None:
    assert parse_case_ref("#42") == 42 and parse_case_ref("##42") is None
    assert split_id("42:harassment") == (42, "harassment")
    assert split_id("42:") is None and split_id("²:x") is None
    assert parse_article_payload("kb:live-eligibility") == "live-eligibility"
    assert parse_article_payload("kb: ") is None and parse_article_payload("live") is None
    assert parse_article_payload("kb:" + "x" * 201) is None


def test_survey_answers_need_a_case_and_a_score_from_one_to_five() -> None:
    assert parse_survey("csat:12:5") == SurveyAnswer(12, 5)
    odd = ("csat:²:5", "csat:99999999999999999999:5", "csat:1:²", "csat:1:6", "csat:1:0")
    for text in (*odd, "csat:1", "csat:1:2:3", "csat::", "csat:1:05x", "hola"):
        assert parse_survey(text) is None, text


@pytest.mark.parametrize(
    "text", ["csat:²:5", "csat:99999999999999999999:5", "csat:1:²", "csat:1:99999999999"]
)
def test_a_creator_typing_an_odd_survey_answer_gets_a_polite_reply(
    creator: Creator, puente: Puente, text: str
) -> None:
    result = creator.says(text)
    assert len(result.replies) == 1 and result.replies[0].text
    with Session(puente.engine) as session:
        assert session.get(Escalation, 1) is None


@pytest.mark.parametrize("text", ["kb:" + "9" * 30, "kb:²", "kb:" + "x" * 300])
def test_an_odd_article_payload_is_read_as_words(creator: Creator, text: str) -> None:
    assert creator.says(text).replies


def test_priorities_are_ordered_by_severity() -> None:
    assert list(Priority) == sorted(Priority, key=lambda p: -p.severity)
    assert Priority.P1.outranks("P2") and not Priority.P2.outranks(Priority.P2)
    assert not Priority.P4.outranks("P3")
    assert [p for p in Priority if p.urgent] == [Priority.P1, Priority.P2]
    assert Priority.of("P9") is Priority.P4 and Priority.of("P2") is Priority.P2
