"""The tables of the patient store (SQLAlchemy Core).

Columns that hold patient data (``*_enc``) are AES-256-GCM ciphertexts under the patient's
data key (:mod:`precisionrx.storage.keys`); in clear are only random ids, the organisation,
kinds, sizes, times, job states and the audit trail (which names patients by keyed pseudonym).
The Alembic migrations in ``migrations/versions`` create the same tables; a test compares them.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

patients = Table(
    "patients",
    metadata,
    Column("id", String(36), primary_key=True),
    #: HMAC-SHA256 pseudonym of the id (names the data key in the key store and audit rows).
    Column("pseudonym", String(64), nullable=False, unique=True),
    Column("organisation", String(200), nullable=True, index=True),
    Column("record_enc", LargeBinary, nullable=True),
    Column("version", Integer, nullable=False, default=1),
    Column("plan_stale", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    #: Set on erasure: the row stays (so a reused id cannot resurrect data) with no content.
    Column("erased_at", DateTime(timezone=True), nullable=True),
)

files = Table(
    "files",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("patient_id", String(36), ForeignKey("patients.id"), nullable=False, index=True),
    Column("kind", String(40), nullable=False),
    Column("size", Integer, nullable=False),
    #: File name and upload options (tumour type, time zone, ...), encrypted JSON.
    Column("meta_enc", LargeBinary, nullable=False),
    Column("content_enc", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

consents = Table(
    "consents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("patient_id", String(36), ForeignKey("patients.id"), nullable=False, index=True),
    #: The FHIR Consent resources of one PUT, encrypted JSON array (the newest set applies).
    Column("content_enc", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

plans = Table(
    "plans",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("patient_id", String(36), ForeignKey("patients.id"), nullable=False, index=True),
    Column("job_id", String(36), nullable=False),
    Column("content_enc", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    #: What needs attention (plan/attention.py), sealed; None for plans made before 0002.
    Column("attention_enc", LargeBinary, nullable=True),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("patient_id", String(36), ForeignKey("patients.id"), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("status", String(10), nullable=False),
    Column("progress", Float, nullable=False, default=0.0),
    #: The error of a failed job (it may quote the input), encrypted.
    Column("error_enc", LargeBinary, nullable=True),
    Column("plan_id", String(36), nullable=True),
    Column("requested_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("patient", String(64), nullable=True),
    Column("action", String(40), nullable=False),
    Column("purpose", String(20), nullable=True),
    Column("outcome", String(20), nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
