"""``puente report`` and ``puente kb review``: the insights commands of the CLI."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from bot import cli_variants
from bot.app import encoder, match_policy
from bot.config import Settings
from bot.progress import progress
from handlers.common.i18n import SUPPORTED_LOCALES, Translator, translator
from handlers.common.utc import as_utc, utcnow
from handlers.insights import metrics, report
from handlers.kb import gaps
from handlers.kb import review as kb_review
from handlers.kb.review import ReviewError
from handlers.kb.source import KbSource
from handlers.storage.db import make_engine

_SPAN = re.compile(r"^\s*(\d+)\s*([hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def span(text: str) -> timedelta:
    """``7d``, ``24h``, ``2w`` → a timedelta (argparse type)."""
    found = _SPAN.match(text)
    if not found or int(found.group(1)) == 0:
        raise argparse.ArgumentTypeError(f"expected a span like 7d, 24h or 2w, not {text!r}")
    return timedelta(**{_UNITS[found.group(2).lower()]: int(found.group(1))})


def xlsx_path(text: str) -> Path:
    """The report is a workbook: any other extension is refused, not silently ignored."""
    if Path(text).suffix.lower() != ".xlsx":
        raise argparse.ArgumentTypeError(f"the report is an .xlsx workbook, not {text!r}")
    return Path(text)


def moment(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected an ISO date or time, not {text!r}") from exc
    return as_utc(value)


def add_commands(
    commands: argparse._SubParsersAction, kb_commands: argparse._SubParsersAction
) -> None:  # type: ignore[type-arg]
    report_cmd = commands.add_parser("report", help="write the insights workbook (.xlsx)")
    _window_arguments(report_cmd)
    report_cmd.add_argument("--out", type=xlsx_path, default=Path("report.xlsx"))
    report_cmd.add_argument("--locale", choices=SUPPORTED_LOCALES, default=None)
    report_cmd.set_defaults(func=_report)

    review = kb_commands.add_parser(
        "review", help="review KB drafts and missing topics: approve, edit or reject"
    )
    _window_arguments(review, default_since="30d")
    review.add_argument("--locale", choices=SUPPORTED_LOCALES, default=None)
    review.add_argument("--list", action="store_true", help="list drafts and gaps, then exit")
    review.add_argument("--json", action="store_true", help="with --list: one JSON per line")
    review.add_argument(
        "--approve", metavar="ID",
        help="publish a draft (d12) or gap (g1a2b…); variants: v3, v3,v4 or 'variants' (all)",
    )  # fmt: skip
    review.add_argument("--reject", metavar="ID", help="drop a draft or dismiss a gap")
    review.add_argument("--question", help="question variants, separated by |")
    review.add_argument("--answer", help="the answer (required to approve a gap)")
    review.add_argument("--category", help="the article's category")
    review.add_argument("--id", dest="article_id", help="the published article's id")
    review.set_defaults(func=_review)


def _window_arguments(parser: argparse.ArgumentParser, default_since: str = "7d") -> None:
    parser.add_argument("--since", type=span, default=span(default_since), help="e.g. 7d, 24h")
    parser.add_argument("--until", type=moment, default=None, help="end (ISO), default now")


def _live_kb(settings: Settings) -> KbSource:
    """The database and the live KB, without the rest of the service (no triage to load)."""
    return KbSource(
        path=settings.matching.kb_path,
        engine=make_engine(settings.operations.database_url),
        policy=match_policy(settings),
        encoder=encoder(settings),
    )


def _window(args: argparse.Namespace) -> tuple[datetime, datetime]:
    until = args.until or utcnow()
    return until - args.since, until


def _report(args: argparse.Namespace, settings: Settings) -> int:
    t = translator(args.locale or settings.matching.default_locale)
    kb = _live_kb(settings)
    with progress("building the report", None):
        _build_report(args, settings, kb, t)
    print(t.gettext("report_written", path=str(args.out)))
    return 0


def _build_report(
    args: argparse.Namespace, settings: Settings, kb: KbSource, t: Translator
) -> None:
    since, until = _window(args)
    matcher = kb.matcher()
    assert kb.engine is not None
    with Session(kb.engine) as session:
        found = metrics.metrics(
            session,
            since,
            until,
            matcher=matcher,
            repeat_days=settings.cases.repeat_days,
            targets=settings.oncall.sla,
        )
        missing = gaps.kb_gaps(session, since, until, matcher)
    report.build_report(found, missing, args.out, t.locale)


# -- kb review -------------------------------------------------------------------------------


def _review(args: argparse.Namespace, settings: Settings) -> int:
    t = translator(args.locale or settings.matching.default_locale)
    kb = _live_kb(settings)
    since, until = _window(args)
    assert kb.engine is not None
    with Session(kb.engine) as session:
        pending = kb_review.drafts(session)
        missing = gaps.kb_gaps(session, since, until, kb.matcher())
        if args.list:
            learned = cli_variants.print_pending(session, t, as_json=args.json)
            _print_list(pending, missing, t, as_json=args.json, more=learned)
            return 0
        try:
            if cli_variants.is_variant_ident(args.approve or args.reject):
                approve = bool(args.approve)
                cli_variants.decide(session, args.approve or args.reject, t, approve=approve)
            elif args.approve or args.reject:
                _decide(session, args, pending, missing, t)
            else:
                cli_variants.interactive(session, t, lambda p: _ask(input, p))
                _interactive(session, pending, missing, t)
        except ReviewError as exc:
            print(t.gettext("review_error", reason=str(exc)), file=sys.stderr)
            return 2
        session.commit()
    return 0


def _print_list(
    pending: list[kb_review.Draft],
    missing: list[gaps.GapCluster],
    t: Translator,
    *,
    as_json: bool,
    more: int = 0,
) -> None:
    if as_json:
        for draft in pending:
            row = {"id": f"d{draft.row_id}", "kind": "draft", "article_id": draft.article_id,
                   "locale": draft.locale, "category": draft.category,
                   "questions": list(draft.questions), "answer": draft.answer,
                   "case": draft.source_case}  # fmt: skip
            print(json.dumps(row, ensure_ascii=False))
        for gap in missing:
            row = {"id": f"g{gap.key}", "kind": "gap", "label": gap.label, "locale": gap.locale,
                   "count": gap.count, "escalated": gap.escalated,
                   "examples": list(gap.examples)}  # fmt: skip
            print(json.dumps(row, ensure_ascii=False))
        return
    if not pending and not missing and not more:
        print(t.gettext("review_nothing"))
    for draft in pending:
        print(_describe_draft(draft, t))
    for gap in missing:
        print(_describe_gap(gap, t))


def _describe_draft(draft: kb_review.Draft, t: Translator) -> str:
    return t.gettext(
        "review_draft",
        id=f"d{draft.row_id}",
        case=draft.source_case or "-",
        locale=draft.locale,
        questions=" | ".join(draft.questions),
        answer=draft.answer,
    )


def _describe_gap(gap: gaps.GapCluster, t: Translator) -> str:
    return t.gettext(
        "review_gap",
        id=f"g{gap.key}",
        locale=gap.locale,
        count=t.number(gap.count),
        escalated=t.number(gap.escalated),
        examples=" | ".join(gap.examples),
    )


def _ident(item: kb_review.Draft | gaps.GapCluster) -> str:
    return f"d{item.row_id}" if isinstance(item, kb_review.Draft) else f"g{item.key}"


def _find(
    ident: str, pending: list[kb_review.Draft], missing: list[gaps.GapCluster]
) -> kb_review.Draft | gaps.GapCluster:
    for item in (*pending, *missing):
        if ident == _ident(item):
            return item
    raise ReviewError(f"nothing to review with id {ident!r} (see --list)")


def _decide(
    session: Session,
    args: argparse.Namespace,
    pending: list[kb_review.Draft],
    missing: list[gaps.GapCluster],
    t: Translator,
) -> None:
    item = _find(args.approve or args.reject, pending, missing)
    now = utcnow()
    if args.reject:
        _reject(session, item, now)
        print(t.gettext("review_rejected", id=args.reject))
        return
    if isinstance(item, kb_review.Draft):
        article = kb_review.approve_draft(
            session, item.row_id, now=now, questions=args.question, answer=args.answer,
            category=args.category, article_id=args.article_id,
        )  # fmt: skip
    else:
        article = kb_review.approve_gap(
            session, item, answer=args.answer or "", now=now, category=args.category or "",
            article_id=args.article_id, questions=args.question,
        )  # fmt: skip
    print(t.gettext("review_published", article=article.article_id, locale=article.locale))


def _reject(session: Session, item: kb_review.Draft | gaps.GapCluster, now: datetime) -> None:
    if isinstance(item, kb_review.Draft):
        kb_review.reject_draft(session, item.row_id)
    else:
        kb_review.dismiss_gap(session, item, now=now)


def _interactive(
    session: Session,
    pending: list[kb_review.Draft],
    missing: list[gaps.GapCluster],
    t: Translator,
    ask: Callable[[str], str] = input,
) -> None:
    """One item at a time: [a]pprove, [e]dit then approve, [r]eject, [s]kip, [q]uit."""
    items: list[kb_review.Draft | gaps.GapCluster] = [*pending, *missing]
    if not items:
        print(t.gettext("review_nothing"))
        return
    for item in items:
        is_draft = isinstance(item, kb_review.Draft)
        print(_describe_draft(item, t) if is_draft else _describe_gap(item, t))  # type: ignore[arg-type]
        choice = _ask(ask, t.gettext("review_prompt")).strip().casefold()[:1]
        if choice == "q":
            break
        try:
            if choice == "r":
                _reject(session, item, utcnow())
                print(t.gettext("review_rejected", id=_ident(item)))
            elif choice in ("a", "e"):
                _approve_interactively(session, item, t, ask, edit=choice == "e")
        except ReviewError as exc:
            print(t.gettext("review_error", reason=str(exc)))
        session.commit()


def _approve_interactively(
    session: Session,
    item: kb_review.Draft | gaps.GapCluster,
    t: Translator,
    ask: Callable[[str], str],
    *,
    edit: bool,
) -> None:
    questions = answer = None
    if edit or isinstance(item, gaps.GapCluster):
        current = " | ".join(item.questions if isinstance(item, kb_review.Draft) else item.examples)
        questions = _ask(ask, t.gettext("review_ask_questions", current=current)).strip() or None
        existing = item.answer if isinstance(item, kb_review.Draft) else ""
        answer = _edit_text(existing) if os.environ.get("EDITOR") and sys.stdin.isatty() else (
            _ask(ask, t.gettext("review_ask_answer")).strip() or None
        )  # fmt: skip
    if isinstance(item, kb_review.Draft):
        article = kb_review.approve_draft(
            session, item.row_id, now=utcnow(), questions=questions, answer=answer
        )
    else:
        article = kb_review.approve_gap(
            session, item, answer=answer or "", now=utcnow(), questions=questions
        )
    print(t.gettext("review_published", article=article.article_id, locale=article.locale))


def _ask(ask: Callable[[str], str], prompt: str) -> str:
    try:
        return ask(prompt)
    except EOFError:
        return "q"


def _edit_text(text: str) -> str:
    """Open $EDITOR on ``text``; what is saved comes back."""
    with tempfile.NamedTemporaryFile("w+", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write(text)
    try:
        subprocess.run([*os.environ["EDITOR"].split(), f.name], check=False)
        return Path(f.name).read_text(encoding="utf-8").strip()
    finally:
        os.unlink(f.name)
