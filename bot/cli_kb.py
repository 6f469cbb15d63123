"""``puente kb import``, ``kb export``, ``kb delete`` and ``kb embed``: the KB files commands."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sqlmodel import Session

from bot.app import build_puente, encoder
from bot.config import Settings
from bot.progress import chunks, progress
from handlers.kb.articles import KbRow, KnowledgeBase
from handlers.kb.files import check_extension, read_kb_file, write_kb_file
from handlers.storage import store
from handlers.storage.db import make_engine

IMPORT_CHUNK = 200
EMBED_CHUNK = 64


def add_commands(kb_commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    kb_import = kb_commands.add_parser("import", help="import a CSV or XLSX file into the database")
    kb_import.add_argument("file", type=Path)
    kb_import.add_argument(
        "--replace",
        action="store_true",
        help="also remove the database's articles that the file doesn't have",
    )
    kb_import.set_defaults(func=kb_import_file)
    kb_export = kb_commands.add_parser("export", help="export the live KB to .csv or .xlsx")
    kb_export.add_argument("file", type=Path)
    kb_export.set_defaults(func=kb_export_file)
    kb_delete = kb_commands.add_parser("delete", help="remove articles imported into the database")
    kb_delete.add_argument("ids", nargs="+", metavar="ID")
    kb_delete.set_defaults(func=kb_delete_articles)
    kb_embed = kb_commands.add_parser(
        "embed", help="embed every KB question into the cache (once; restarts reuse it)"
    )
    kb_embed.add_argument("--kb", type=Path, default=None, help="KB file (default: the live KB)")
    kb_embed.set_defaults(func=embed_questions)


def kb_import_file(args: argparse.Namespace, settings: Settings) -> int:
    rows = read_kb_file(args.file)
    removed = 0
    with Session(make_engine(settings.operations.database_url)) as session:
        if args.replace:
            stale = store.published_article_ids(session) - {row.id for row in rows}
            removed = store.delete_articles(session, article_ids=stale)
        count = 0
        with progress(f"importing {args.file.name}", len(rows)) as advance:
            for chunk in chunks(rows, IMPORT_CHUNK):
                count += store.upsert_articles(session, rows=chunk)
                advance(len(chunk))
        session.commit()
    articles = len({row.id for row in rows})
    print(f"imported {count} rows ({articles} articles) from {args.file}")
    if args.replace:
        print(f"removed {removed} rows no longer in the file")
    return 0


def kb_export_file(args: argparse.Namespace, settings: Settings) -> int:
    check_extension(args.file)
    kb = build_puente(settings).kb.kb
    count = write_kb_file(args.file, kb.rows())
    print(f"exported {count} rows ({len(kb)} articles) to {args.file}")
    return 0


def kb_delete_articles(args: argparse.Namespace, settings: Settings) -> int:
    """Only imported articles live in the database; the shipped file's are edited in the file."""
    with Session(make_engine(settings.operations.database_url)) as session:
        known = store.published_article_ids(session)
        removed = store.delete_articles(session, article_ids=args.ids)
        session.commit()
    in_file = set()
    if settings.matching.kb_path is not None and Path(settings.matching.kb_path).exists():
        in_file = {row.id for row in read_kb_file(settings.matching.kb_path)}
    print(f"removed {removed} rows")
    status = 0
    for article_id in args.ids:
        if article_id in in_file:
            path = settings.matching.kb_path
            print(f"error: {article_id} is in the KB file {path}: edit it there", file=sys.stderr)
            status = 1
        elif article_id not in known:
            print(f"error: no article {article_id} in the database", file=sys.stderr)
            status = 1
    return status


def embed_questions(args: argparse.Namespace, settings: Settings) -> int:
    embedder = encoder(settings)
    if embedder is None:
        print("error: the sentence encoder is off (PUENTE_SEMANTIC=false)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    texts = [q for row in _kb_rows(args.kb, settings) for q in row.questions]
    new = embedder.missing(texts)
    with progress("embedding questions", len(texts)) as advance:
        for chunk in chunks(texts, EMBED_CHUNK):
            embedder.encode_many(chunk)
            advance(len(chunk))
    print(f"embedded {new} new questions in {time.perf_counter() - started:.1f} s")
    return 0


def _kb_rows(path: Path | None, settings: Settings) -> list[KbRow]:
    """The given file's rows, or the live KB's (the KB file merged with the database's)."""
    if path is not None:
        return read_kb_file(path)
    kb = KnowledgeBase.from_rows(read_kb_file(settings.matching.kb_path))
    with Session(make_engine(settings.operations.database_url)) as session:
        return kb.merged(store.published_articles(session)).rows()
