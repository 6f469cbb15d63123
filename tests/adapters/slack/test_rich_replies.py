"""The core answers /oncall with structure (who to mention, what to emphasise); Slack renders."""

from __future__ import annotations

from bot.adapters.slack import oncall as slack_oncall
from handlers.api import Puente
from handlers.common.i18n import translator
from handlers.contract.rich import Line, Mention, RichReply
from handlers.oncall.command import OncallRequest
from handlers.oncall.schedule import Rotation
from handlers.oncall.sla import OncallPolicy


def test_the_core_mentions_people_as_data_not_as_slack_syntax(puente: Puente) -> None:
    puente.oncall = OncallPolicy(rotation=Rotation(("U0LUCIA", "U0TOMAS")))
    overview = puente.answer_oncall(OncallRequest("U0LUCIA", ""))
    now = dict(overview.lines[0].values)
    members = {Mention("U0LUCIA"), Mention("U0TOMAS")}
    assert {now["user"], now["next"]} == members
    handed = puente.answer_oncall(OncallRequest("U0LUCIA", "handoff U0TOMAS"))
    assert dict(handed.lines[0].values)["user"] == Mention("U0TOMAS")
    slack_syntax = puente.answer_oncall(OncallRequest("U0LUCIA", "handoff <@U0TOMAS>"))
    assert slack_syntax.lines == (Line("oncall_bad_handoff"),)


def test_stats_hand_over_figures_to_emphasise(puente: Puente) -> None:
    stats = puente.answer_oncall(OncallRequest("U0LUCIA", "stats"))
    assert stats.figures and all(label and value for label, value in stats.figures)
    assert not any("*" in label for label, _ in stats.figures)


def test_slack_renders_mentions_and_emphasis() -> None:
    t = translator("es")
    reply = RichReply(
        (Line.of("oncall_paged", case=7, user=Mention("U0TOMAS")), Line.of("oncall_help")),
        (("Conversaciones", "5"),),
    )
    text = slack_oncall.reply_text(reply, t)
    assert "<@U0TOMAS>" in text and "*Conversaciones:* 5" in text
    nobody = slack_oncall.reply_text(
        RichReply((Line.of("oncall_paged", case=7, user=Mention(None)),)), t
    )
    assert t.gettext("oncall_nobody_on_call") in nobody


def test_slack_mentions_reach_the_core_as_plain_ids() -> None:
    assert slack_oncall.command_text("handoff <@U0TOMAS|tomas>") == "handoff U0TOMAS"
    assert slack_oncall.command_text("handoff <@U0TOMAS>") == "handoff U0TOMAS"
    assert slack_oncall.command_text("list mine") == "list mine"
