"""kb variants learned from production

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 17:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ENUMS = ("variantsource", "variantstatus")


def upgrade() -> None:
    op.create_table(
        "kbvariant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("locale", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("folded", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("source", sa.Enum("PICK", "AGENT", name="variantsource"), nullable=False),
        sa.Column(
            "status",
            sa.Enum("PENDING", "APPROVED", "REJECTED", name="variantstatus"),
            nullable=False,
        ),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("reviewed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("article_id", "locale", "folded"),
    )
    with op.batch_alter_table("kbvariant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kbvariant_article_id"), ["article_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_kbvariant_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("kbvariant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kbvariant_status"))
        batch_op.drop_index(batch_op.f("ix_kbvariant_article_id"))
    op.drop_table("kbvariant")
    bind = op.get_bind()
    for enum in _ENUMS:
        sa.Enum(name=enum).drop(bind, checkfirst=True)  # PostgreSQL keeps enum types apart
