"""``puente tickets``: the cases as an aligned table in the reader's language, or JSON Lines."""

from __future__ import annotations

import argparse
import json

from rich.cells import cell_len
from sqlmodel import Session

from bot.config import Settings
from handlers.common.i18n import N_, Translator, translator
from handlers.common.utc import as_utc
from handlers.storage import store
from handlers.storage.db import make_engine
from handlers.storage.models import Creator, Escalation

CASE_STATUS_LABELS = {
    "open": N_("case_status_open"),
    "assigned": N_("case_status_assigned"),
    "returned": N_("case_status_returned"),
    "resolved": N_("case_status_resolved"),
}
CATEGORY_LABELS = {
    "self_harm": N_("case_category_self_harm"),
    "child_safety": N_("case_category_child_safety"),
    "violent_threat": N_("case_category_violent_threat"),
    "sextortion": N_("case_category_sextortion"),
    "account_compromise": N_("case_category_account_compromise"),
    "payment_fraud": N_("case_category_payment_fraud"),
    "harassment": N_("case_category_harassment"),
    "legal": N_("case_category_legal"),
    "vip_incident": N_("case_category_vip_incident"),
    "human_request": N_("case_category_human_request"),
    "complaint": N_("case_category_complaint"),
    "none": N_("case_category_none"),
}
COLUMNS = (
    N_("tickets_column_case"),
    N_("tickets_column_status"),
    N_("tickets_column_priority"),
    N_("tickets_column_category"),
    N_("tickets_column_opened"),
    N_("tickets_column_creator"),
    N_("tickets_column_assignee"),
)


def tickets(args: argparse.Namespace, settings: Settings) -> int:
    t = translator(args.locale or settings.matching.default_locale)
    statuses = store.OPEN_STATUSES if args.open else None
    with Session(make_engine(settings.operations.database_url)) as session:
        cases = store.list_escalations(session, statuses=statuses)
    if args.json:
        for case, creator in cases:
            print(json.dumps({**case.model_dump(mode="json"), "creator": creator.display_name}))
        return 0
    if not cases:
        print(t.gettext("tickets_none"))
        return 0
    for line in table([t.gettext(c) for c in COLUMNS], [_cells(c, p, t) for c, p in cases]):
        print(line)
    return 0


def category_label(category: str, t: Translator) -> str:
    label = CATEGORY_LABELS.get(category)
    return t.gettext(label) if label else category


def _cells(case: Escalation, creator: Creator, t: Translator) -> list[str]:
    status = CASE_STATUS_LABELS.get(case.status)
    return [
        f"#{case.id}",
        t.gettext(status) if status else str(case.status),
        str(case.priority),
        category_label(case.category, t),
        t.datetime(as_utc(case.created_at)),
        f"{creator.display_name or creator.platform_user_id} ({creator.platform})",
        case.assignee or "-",
    ]


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Columns padded to their widest cell, measured in terminal cells (accents, emoji)."""
    widths = [max(cell_len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(
            cell + " " * (width - cell_len(cell)) for cell, width in zip(row, widths, strict=True)
        ).rstrip()
        for row in [header, *rows]
    ]
