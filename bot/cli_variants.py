"""``puente kb review`` for learned wordings: list, approve or reject pending variants (``v12``,
``v3,v4`` or ``variants`` for all of them)."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlmodel import Session

from handlers.common.i18n import N_, Translator
from handlers.common.utc import utcnow
from handlers.kb import variants
from handlers.kb.review import ReviewError
from handlers.storage.models import KbVariant, VariantSource

ALL_VARIANTS = "variants"
PREFIX = "v"
_SOURCE = {
    VariantSource.PICK: N_("variant_source_pick"),
    VariantSource.AGENT: N_("variant_source_agent"),
}


def is_variant_ident(ident: str | None) -> bool:
    """``variants``, ``v12`` or ``v3,v4``: an id for this module, not a draft's or a gap's."""
    if not ident:
        return False
    return ident == ALL_VARIANTS or all(
        part.strip().startswith(PREFIX) for part in ident.split(",")
    )


def print_pending(session: Session, t: Translator, *, as_json: bool) -> int:
    rows = variants.pending(session)
    for row in rows:
        if as_json:
            line = {"id": f"{PREFIX}{row.id}", "kind": "variant", "article_id": row.article_id,
                    "locale": row.locale, "text": row.text, "source": row.source.value}  # fmt: skip
            print(json.dumps(line, ensure_ascii=False))
        else:
            print(describe(row, t))
    return len(rows)


def describe(row: KbVariant, t: Translator) -> str:
    return t.gettext(
        "review_variant",
        id=f"{PREFIX}{row.id}",
        locale=row.locale,
        article=row.article_id,
        text=row.text,
        source=t.gettext(_SOURCE[VariantSource(row.source)]),
    )


def decide(session: Session, ident: str, t: Translator, *, approve: bool) -> int:
    """Approve or reject the variants named by ``ident``; how many changed."""
    ids = _ids(session, ident)
    changed = variants.review(session, ids, approve=approve, now=utcnow())
    if not changed:
        raise ReviewError(f"no pending variant {ident!r} (see --list)")
    key = N_("review_variants_approved") if approve else N_("review_variants_rejected")
    print(t.gettext(key, count=t.number(len(changed))))
    return len(changed)


def _ids(session: Session, ident: str) -> list[int]:
    if ident == ALL_VARIANTS:
        return [row.id for row in variants.pending(session) if row.id is not None]
    try:
        return [int(part.strip().removeprefix(PREFIX)) for part in ident.split(",")]
    except ValueError as exc:
        raise ReviewError(f"not a variant id: {ident!r}") from exc


def interactive(session: Session, t: Translator, ask: Callable[[str], str]) -> None:
    """One pending variant at a time: [a]pprove, [r]eject, [s]kip; [q]uit moves on to drafts.
    ``ask`` answers "q" at the end of input."""
    for row in variants.pending(session):
        assert row.id is not None
        print(describe(row, t))
        choice = ask(t.gettext("review_variant_prompt")).strip().casefold()[:1]
        if choice == "q":
            return
        if choice in ("a", "r"):
            variants.review(session, [row.id], approve=choice == "a", now=utcnow())
            session.commit()
