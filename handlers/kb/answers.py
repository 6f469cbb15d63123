"""A creator's question answered from the KB: the answer, a choice of close articles, or, after
too many misses, a person."""

from __future__ import annotations

from handlers.cases.opening import CaseOpener
from handlers.common.i18n import N_
from handlers.contract.ids import ARTICLE_PAYLOAD, parse_article_payload
from handlers.contract.messages import OutgoingMessage, Suggestion
from handlers.conversation.context import Turn
from handlers.conversation.offer_streaks import OfferStreaks
from handlers.kb import variants
from handlers.kb.articles import Article
from handlers.kb.matching.matcher import Action
from handlers.kb.source import KbSource
from handlers.storage.models import VariantSource
from handlers.triage.reasons import NO_KB_ANSWER, Reason


class KbAnswers:
    def __init__(self, *, kb: KbSource, max_misses: int, opener: CaseOpener) -> None:
        self.kb = kb
        self.max_misses = max_misses
        self.opener = opener
        self.offer_streaks = OfferStreaks()

    def answer(self, turn: Turn) -> None:
        chosen = self._chosen_article(turn.text)
        matcher = self.kb.matcher()
        if chosen is None:
            result = matcher.match(turn.text, turn.t.locale)
            action, article_id = result.action, result.article_id
        else:
            action, article_id = Action.ANSWER, chosen.id
            self._learn_wording(turn, chosen.id)
        assert turn.conversation.id is not None
        if action is Action.ANSWER and article_id is not None:
            self.offer_streaks.settled(turn.conversation.id)
            turn.conversation.misses = 0
            article = matcher.kb.get(article_id)
            assert article is not None
            answer = OutgoingMessage(article.answer(turn.t.locale), article_id=article_id)
            return turn.replies.append(answer)
        if action is Action.CLARIFY:
            articles = [a for a in map(matcher.kb.get, result.suggestions) if a is not None]
            buttons = _article_buttons(articles, turn.t.locale)
            if self.offer_streaks.offered(turn.conversation.id):  # no pick twice: person first
                return turn.say(turn.t.gettext("clarify"), (*turn.human_button(), *buttons))
            return turn.say(turn.t.gettext("clarify"), (*buttons, *turn.human_button()))
        turn.conversation.misses += 1
        if turn.conversation.misses >= self.max_misses:
            return self.opener.escalate(turn, reasons=(Reason(NO_KB_ANSWER),))
        # a complaint the KB can't answer deserves an apology and a person, not "rephrase it"
        key = N_("no_answer_complaint") if turn.inbound.category == "complaint" else N_("no_answer")
        turn.say(turn.t.gettext(key), turn.human_button())

    @staticmethod
    def _learn_wording(turn: Turn, article_id: str) -> None:
        """The question the creator asked before picking becomes a pending variant."""
        assert turn.conversation.id is not None and turn.inbound.id is not None
        wording = variants.wording_before(
            turn.session, conversation_id=turn.conversation.id, before_id=turn.inbound.id
        )
        variants.learn(
            turn.session,
            wording,
            article_id=article_id,
            locale=turn.t.locale,
            source=VariantSource.PICK,
            now=turn.inbound.created_at,
        )

    def _chosen_article(self, text: str) -> Article | None:
        article_id = parse_article_payload(text)
        return None if article_id is None else self.kb.matcher().kb.get(article_id)


def _article_buttons(articles: list[Article], locale: str) -> tuple[Suggestion, ...]:
    return tuple(Suggestion(a.title(locale), ARTICLE_PAYLOAD + a.id) for a in articles)
