"""The first schema: patients, files, consents, plans, jobs, audit.

Revision ID: 0001
Revises:
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("pseudonym", sa.String(64), nullable=False, unique=True),
        sa.Column("organisation", sa.String(200), nullable=True, index=True),
        sa.Column("record_enc", sa.LargeBinary, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("plan_stale", sa.Boolean, nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("updated_at", _TZ, nullable=False),
        sa.Column("erased_at", _TZ, nullable=True),
    )
    op.create_table(
        "files",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("patient_id", sa.String(36), sa.ForeignKey("patients.id"), nullable=False,
                  index=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("meta_enc", sa.LargeBinary, nullable=False),
        sa.Column("content_enc", sa.LargeBinary, nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
    )  # fmt: skip
    op.create_table(
        "consents",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("patient_id", sa.String(36), sa.ForeignKey("patients.id"), nullable=False,
                  index=True),
        sa.Column("content_enc", sa.LargeBinary, nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
    )  # fmt: skip
    op.create_table(
        "plans",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("patient_id", sa.String(36), sa.ForeignKey("patients.id"), nullable=False,
                  index=True),
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("content_enc", sa.LargeBinary, nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
    )  # fmt: skip
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("patient_id", sa.String(36), sa.ForeignKey("patients.id"), nullable=False,
                  index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("error_enc", sa.LargeBinary, nullable=True),
        sa.Column("plan_id", sa.String(36), nullable=True),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("updated_at", _TZ, nullable=False),
    )  # fmt: skip
    op.create_table(
        "audit",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("time", _TZ, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("patient", sa.String(64), nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for name in ("audit", "jobs", "plans", "consents", "files", "patients"):
        op.drop_table(name)
