"""The ``puente`` command: chat, tickets, kb import/export/match/review, report."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from bot.app import build_puente, encoder, match_policy
from bot.cli_insights import add_commands as add_insights_commands
from bot.cli_kb import add_commands as add_kb_commands
from bot.cli_tickets import tickets as tickets_command
from bot.config import Settings
from bot.logs import configure as configure_logging
from bot.safe_errors import (
    configured_secrets,
    database_problem,
    quiet_broken_pipe,
    url_problem,
)
from handlers.common.i18n import N_, SUPPORTED_LOCALES, negotiate
from handlers.kb.articles import KnowledgeBase
from handlers.kb.files import KbFormatError, read_kb_file
from handlers.kb.matching.matcher import Matcher
from handlers.storage.db import SchemaOutOfDate, make_engine, migrate

CASE_STATUS_LABELS = {
    "open": N_("case_status_open"),
    "assigned": N_("case_status_assigned"),
    "returned": N_("case_status_returned"),
    "resolved": N_("case_status_resolved"),
}


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(_problem(e["loc"][0], e["msg"]) for e in exc.errors() if e["loc"])
        print(f"error: invalid configuration in the environment: {problems}", file=sys.stderr)
        return 2
    configure_logging(
        settings.operations.log_level, settings.operations.log_format, configured_secrets(settings)
    )
    problem = url_problem(settings.operations.database_url)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        return int(args.func(args, settings) or 0)
    except KbFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SchemaOutOfDate as exc:
        print(f"error: {exc}; run `puente migrate` first", file=sys.stderr)
        return 2
    except DBAPIError as exc:
        print(f"error: {database_problem(exc, settings.operations.database_url)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `puente tickets | head -3`: the reader has all it wanted
        quiet_broken_pipe()
        return 0
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="puente", description="Support bot for LIVE creators.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    chat = commands.add_parser("chat", help="talk to Puente in the terminal, as a creator")
    chat.add_argument("--locale", choices=SUPPORTED_LOCALES, default=None)
    chat.add_argument("--user", default=None, help="creator name (default: your OS user)")
    chat.set_defaults(func=_chat)

    serve = commands.add_parser("serve", help="run the web process (health check, webhooks)")
    serve.set_defaults(func=_serve)

    migrate_ = commands.add_parser(
        "migrate", help="upgrade the database to the newest schema (the release step)"
    )
    migrate_.add_argument(
        "--new",
        metavar="MESSAGE",
        help="developers: write a new migration from the models' changes instead",
    )
    migrate_.set_defaults(func=_migrate)

    worker = commands.add_parser(
        "worker", help="fire SLA timers, page repeats, nudges and auto-closes (until SIGTERM)"
    )
    worker.set_defaults(func=_worker)

    tickets = commands.add_parser("tickets", help="list escalations")
    tickets.add_argument("--open", action="store_true", help="only cases not yet closed")
    tickets.add_argument("--locale", choices=SUPPORTED_LOCALES, default=None)
    tickets.add_argument(
        "--json", action="store_true", help="JSON Lines: one JSON object per case and line"
    )
    tickets.set_defaults(func=tickets_command)

    triage = commands.add_parser(
        "triage", help='JSON lines {"text", "locale"} on stdin → priority, category, reasons'
    )
    triage.add_argument(
        "--locale",
        choices=SUPPORTED_LOCALES,
        default="en",
        help="language of the reasons (default en: the stable machine interface)",
    )
    triage.set_defaults(func=_triage)

    kb = commands.add_parser("kb", help="knowledge base: import, export, match")
    kb_commands = kb.add_subparsers(required=True, metavar="ACTION")
    add_kb_commands(kb_commands)
    kb_match = kb_commands.add_parser(
        "match", help='match JSON lines {"text", "locale"} from stdin; no database needed'
    )
    kb_match.add_argument("--kb", type=Path, default=None, help="KB file (default: the shipped KB)")
    kb_match.set_defaults(func=_kb_match)
    add_insights_commands(commands, kb_commands)
    return parser


def _chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.adapters.console import ConsoleChat

    locale = args.locale or negotiate(settings.matching.default_locale)
    return ConsoleChat(build_puente(settings), locale=locale, user=args.user).run()


def _serve(_: argparse.Namespace, settings: Settings) -> int:
    from bot.serve import serve

    try:
        return asyncio.run(serve(settings))
    except ValueError as exc:  # a malformed token or setting: say which, never echo it
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Operators' output, in English like the other operational messages."""
    if args.new:
        from handlers.storage.migrations import new_revision

        print(f"wrote {new_revision(args.new)}")
        return 0
    engine = make_engine(settings.operations.database_url, check_schema=False)
    try:
        print(f"database at revision {migrate(engine)}")
    finally:
        engine.dispose()
    return 0


def _worker(_: argparse.Namespace, settings: Settings) -> int:
    from bot.worker import main as run_worker

    return run_worker(settings)


def _triage(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import kb_questions
    from handlers.kb.source import KbSource
    from handlers.triage.learned import shipped

    reader_encoder = encoder(settings)
    reader = shipped(reader_encoder)
    if reader_encoder is not None:  # as in the service: the KB's questions are benign neighbours
        kb = KbSource(
            path=settings.matching.kb_path, policy=match_policy(settings), encoder=reader_encoder
        )
        reader.benign = kb_questions(kb)
    classify = reader.classify
    fallback = {"priority": "P4", "category": "none", "reasons": []}
    return _json_lines(
        lambda query: classify(str(query.get("text", "")), vip=bool(query.get("vip"))).as_json(
            args.locale
        ),
        fallback,
    )


def _kb_match(args: argparse.Namespace, settings: Settings) -> int:
    path = args.kb or settings.matching.kb_path
    kb = KnowledgeBase.from_rows(read_kb_file(path))
    matcher = Matcher(kb, match_policy(settings), encoder(settings))
    fallback = {"action": "escalate", "article_id": None, "score": 0.0, "suggestions": []}
    return _json_lines(
        lambda query: matcher.match(
            str(query.get("text", "")), negotiate(query.get("locale"))
        ).as_json(),
        fallback,
    )


def _json_lines(
    answer: Callable[[dict[str, Any]], dict[str, object]], fallback: dict[str, object]
) -> int:
    """The machine interface: one JSON object per input line, even for a broken line."""
    for raw in sys.stdin.buffer:
        line = raw.decode("utf-8", errors="replace").strip()
        if not line:
            continue
        try:
            query = json.loads(line)
            if not isinstance(query, dict):
                raise ValueError("not an object")
        except ValueError:
            print(json.dumps({**fallback, "error": "invalid JSON line"}), flush=True)
            continue
        print(json.dumps(answer(query), ensure_ascii=False), flush=True)
    return 0


def _problem(variable: object, message: str) -> str:
    """One configuration error, naming its environment variable once."""
    message = message.removeprefix("Value error, ")
    return message if message.startswith(f"{variable}:") else f"{variable}: {message}"
