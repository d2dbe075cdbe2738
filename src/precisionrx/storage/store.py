"""The patient store: every patient datum encrypted under the patient's own key.

:class:`Store` is the one door between the service and the database. It encrypts on write and
decrypts on read (AES-256-GCM; the associated data binds each ciphertext to its patient, table,
column and row, so a ciphertext moved to another row does not open), keeps the data keys in the
:class:`~precisionrx.storage.keys.KeyStore`, and appends the audit trail. It does not decide who
may do what: the service checks roles and consent before it calls the store.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, text, update

from precisionrx.errors import IntegrityError
from precisionrx.security.crypto import aes_gcm_decrypt, aes_gcm_encrypt
from precisionrx.storage import schema
from precisionrx.storage.audit import AuditRow, ChainCheck, row_from, verify_chain
from precisionrx.storage.audit_writer import AuditWriter
from precisionrx.storage.database import default_url, migrate, open_engine
from precisionrx.storage.keys import KeyStore, ServiceKeys

JOB_STATES = ("queued", "running", "done", "failed")


def now() -> datetime:
    return datetime.now(UTC)


def _aware(t: datetime) -> datetime:
    """SQLite returns naive datetimes for what was written in UTC."""
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


@dataclass(frozen=True)
class PatientRow:
    id: str
    pseudonym: str
    organisation: str | None
    record: dict[str, Any]
    version: int
    plan_stale: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class StoredFile:
    id: str
    patient_id: str
    kind: str
    size: int
    meta: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Job:
    id: str
    patient_id: str
    kind: str
    status: str
    progress: float
    error: str | None
    plan_id: str | None
    created_at: datetime
    updated_at: datetime


class Store:
    """The patient store over one database and one key store."""

    def __init__(self, engine: Engine, keystore: KeyStore, keys: ServiceKeys, head: Path) -> None:
        self.engine = engine
        self.keystore = keystore
        self.keys = keys
        self._head_path = head
        self._audit_writer = AuditWriter(engine, head, now)
        self._local = threading.local()

    @classmethod
    def open(cls, home: Path, master_key: bytes, url: str | None = None) -> Store:
        """Open (creating and migrating on first use) the store of a deployment."""
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        keys = ServiceKeys.open(home / "keys", master_key)  # a wrong master key stops here
        engine = open_engine(url or default_url(home))
        migrate(engine)
        return cls(engine, KeyStore(home / "keys", keys), keys, home / "audit.head")

    def close(self) -> None:
        self._audit_writer.close()
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[None]:
        """Let this thread's reads share one connection until the block ends (one pool
        checkout and liveness ping for a request's several reads instead of one each).
        The connection runs in autocommit, so each read sees every commit made before it,
        including this request's own writes; writes keep their own transactions. Nested
        sessions reuse the outer one."""
        if getattr(self._local, "conn", None) is not None:
            yield
            return
        with self._reading() as conn:
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None

    def _reading(self) -> AbstractContextManager[Connection]:
        """The connection for a read: the thread's session connection, else a new
        autocommit one (no BEGIN and ROLLBACK round trips around a single SELECT)."""
        shared: Connection | None = getattr(self._local, "conn", None)
        if shared is not None:
            return nullcontext(shared)
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def ready(self) -> bool:
        """Does the database answer?"""
        try:
            with self.engine.connect() as c:
                c.execute(text("SELECT 1"))
        except Exception:  # any driver error means not ready
            return False
        return True

    # -- encryption -------------------------------------------------------------------------

    def _key(self, pseudonym: str) -> bytes:
        key = self.keystore.get(pseudonym)
        if key is None:
            raise IntegrityError("the patient's data key is gone (erased)")
        return key

    @staticmethod
    def _aad(pseudonym: str, table: str, column: str, row_id: str) -> bytes:
        return f"{pseudonym}|{table}|{column}|{row_id}".encode()

    def _seal(self, pseudonym: str, table: str, column: str, row_id: str, data: Any) -> bytes:
        raw = data if isinstance(data, bytes) else json.dumps(data, allow_nan=False).encode()
        return aes_gcm_encrypt(
            self._key(pseudonym), raw, aad=self._aad(pseudonym, table, column, row_id)
        )

    def _open(self, pseudonym: str, table: str, column: str, row_id: str, blob: bytes) -> bytes:
        return aes_gcm_decrypt(
            self._key(pseudonym), blob, aad=self._aad(pseudonym, table, column, row_id)
        )

    def _open_json(self, pseudonym: str, table: str, column: str, row_id: str, blob: bytes) -> Any:
        return json.loads(self._open(pseudonym, table, column, row_id, blob))

    # -- patients ---------------------------------------------------------------------------

    def create_patient(self, record: dict[str, Any], organisation: str | None) -> PatientRow:
        pid = uuid.uuid4().hex
        pseudonym = self.keys.patient_pseudonym(pid)
        self.keystore.create(pseudonym)
        t = now()
        with self.engine.begin() as c:
            c.execute(
                insert(schema.patients).values(
                    id=pid,
                    pseudonym=pseudonym,
                    organisation=organisation,
                    record_enc=self._seal(pseudonym, "patients", "record", pid, record),
                    version=1,
                    plan_stale=True,
                    created_at=t,
                    updated_at=t,
                )
            )
        return PatientRow(pid, pseudonym, organisation, record, 1, True, t, t)

    def _patient_row(self, patient_id: str) -> Any:
        with self._reading() as c:
            return c.execute(
                select(schema.patients).where(
                    schema.patients.c.id == patient_id, schema.patients.c.erased_at.is_(None)
                )
            ).first()

    def patient_meta(self, patient_id: str) -> tuple[str, str | None] | None:
        """(pseudonym, organisation) of a live patient, without decrypting anything."""
        row = self._patient_row(patient_id)
        return None if row is None else (row.pseudonym, row.organisation)

    def get_patient(self, patient_id: str) -> PatientRow | None:
        row = self._patient_row(patient_id)
        if row is None:
            return None
        record = self._open_json(row.pseudonym, "patients", "record", row.id, row.record_enc)
        return PatientRow(
            row.id,
            row.pseudonym,
            row.organisation,
            record,
            row.version,
            bool(row.plan_stale),
            _aware(row.created_at),
            _aware(row.updated_at),
        )

    def list_patients(
        self, organisation: str | None, *, limit: int = 100, offset: int = 0
    ) -> list[tuple[str, bool, datetime]]:
        """(id, plan_stale, updated_at) of the live patients of an organisation."""
        q = select(
            schema.patients.c.id, schema.patients.c.plan_stale, schema.patients.c.updated_at
        ).where(schema.patients.c.erased_at.is_(None))
        if organisation is not None:
            q = q.where(schema.patients.c.organisation == organisation)
        q = (
            q.order_by(schema.patients.c.created_at, schema.patients.c.id)
            .limit(limit)
            .offset(offset)
        )
        with self._reading() as c:
            return [(r.id, bool(r.plan_stale), _aware(r.updated_at)) for r in c.execute(q)]

    def all_patient_ids(self) -> list[str]:
        with self._reading() as c:
            return [
                r.id
                for r in c.execute(
                    select(schema.patients.c.id)
                    .where(schema.patients.c.erased_at.is_(None))
                    .order_by(schema.patients.c.created_at)
                )
            ]

    def update_patient(self, patient_id: str, record: dict[str, Any]) -> PatientRow | None:
        meta = self.patient_meta(patient_id)
        if meta is None:
            return None
        pseudonym, _org = meta
        with self.engine.begin() as c:
            c.execute(
                update(schema.patients)
                .where(schema.patients.c.id == patient_id)
                .values(
                    record_enc=self._seal(pseudonym, "patients", "record", patient_id, record),
                    version=schema.patients.c.version + 1,
                    plan_stale=True,
                    updated_at=now(),
                )
            )
        return self.get_patient(patient_id)

    def plan_stale(self, patient_id: str) -> bool:
        """Did data arrive after the newest plan? (one column read, nothing decrypted)"""
        with self._reading() as c:
            value = c.execute(
                select(schema.patients.c.plan_stale).where(schema.patients.c.id == patient_id)
            ).scalar()
        return bool(value)

    def mark_stale(self, patient_id: str, stale: bool = True) -> None:
        with self.engine.begin() as c:
            c.execute(
                update(schema.patients)
                .where(schema.patients.c.id == patient_id)
                .values(plan_stale=stale)
            )

    def erase_patient(self, patient_id: str) -> bool:
        """GDPR art. 17 erasure: destroy the data key (crypto-shredding), then delete the
        patient's files, consents, plans and jobs and blank the record. The row stays, empty,
        so the id is never reused. False when there is no such live patient."""
        meta = self.patient_meta(patient_id)
        if meta is None:
            return False
        pseudonym, _org = meta
        self.keystore.destroy(pseudonym)  # first: from here on nothing of theirs opens
        with self.engine.begin() as c:
            for table in (schema.files, schema.consents, schema.plans, schema.jobs):
                c.execute(delete(table).where(table.c.patient_id == patient_id))
            c.execute(
                update(schema.patients)
                .where(schema.patients.c.id == patient_id)
                .values(record_enc=None, erased_at=now(), organisation=None)
            )
        return True

    # -- files ------------------------------------------------------------------------------

    def add_file(
        self, patient_id: str, kind: str, content: bytes, meta: dict[str, Any]
    ) -> StoredFile:
        pseudonym = self._pseudonym(patient_id)
        fid = uuid.uuid4().hex
        t = now()
        with self.engine.begin() as c:
            c.execute(
                insert(schema.files).values(
                    id=fid,
                    patient_id=patient_id,
                    kind=kind,
                    size=len(content),
                    meta_enc=self._seal(pseudonym, "files", "meta", fid, meta),
                    content_enc=self._seal(pseudonym, "files", "content", fid, content),
                    created_at=t,
                )
            )
            c.execute(
                update(schema.patients)
                .where(schema.patients.c.id == patient_id)
                .values(plan_stale=True, updated_at=t)
            )
        return StoredFile(fid, patient_id, kind, len(content), meta, t)

    def _pseudonym(self, patient_id: str) -> str:
        meta = self.patient_meta(patient_id)
        if meta is None:
            raise IntegrityError("no such patient")
        return meta[0]

    def list_files(self, patient_id: str) -> list[StoredFile]:
        pseudonym = self._pseudonym(patient_id)
        with self._reading() as c:
            rows = c.execute(
                select(
                    schema.files.c.id,
                    schema.files.c.kind,
                    schema.files.c.size,
                    schema.files.c.meta_enc,
                    schema.files.c.created_at,
                )
                .where(schema.files.c.patient_id == patient_id)
                .order_by(schema.files.c.created_at)
            ).all()
        return [
            StoredFile(
                r.id,
                patient_id,
                r.kind,
                r.size,
                self._open_json(pseudonym, "files", "meta", r.id, r.meta_enc),
                _aware(r.created_at),
            )
            for r in rows
        ]

    def file_content(self, patient_id: str, file_id: str) -> bytes:
        pseudonym = self._pseudonym(patient_id)
        with self._reading() as c:
            row = c.execute(
                select(schema.files.c.content_enc).where(
                    schema.files.c.id == file_id, schema.files.c.patient_id == patient_id
                )
            ).first()
        if row is None:
            raise IntegrityError("no such file")
        return self._open(pseudonym, "files", "content", file_id, row.content_enc)

    # -- consents ---------------------------------------------------------------------------

    def put_consents(self, patient_id: str, consents: list[dict[str, Any]]) -> None:
        pseudonym = self._pseudonym(patient_id)
        cid = uuid.uuid4().hex
        with self.engine.begin() as c:
            c.execute(
                insert(schema.consents).values(
                    id=cid,
                    patient_id=patient_id,
                    created_at=now(),
                    content_enc=self._seal(pseudonym, "consents", "content", cid, consents),
                )
            )

    def consents(self, patient_id: str) -> list[dict[str, Any]]:
        """The patient's Consent resources: those of the newest PUT (an empty list: none)."""
        pseudonym = self._pseudonym(patient_id)
        with self._reading() as c:
            row = c.execute(
                select(schema.consents.c.id, schema.consents.c.content_enc)
                .where(schema.consents.c.patient_id == patient_id)
                .order_by(schema.consents.c.created_at.desc())
                .limit(1)
            ).first()
        if row is None:
            return []
        out: list[dict[str, Any]] = self._open_json(
            pseudonym, "consents", "content", row.id, row.content_enc
        )
        return out

    # -- jobs and plans ---------------------------------------------------------------------

    def create_job(self, patient_id: str, kind: str, requested_by: str) -> Job:
        jid = uuid.uuid4().hex
        t = now()
        with self.engine.begin() as c:
            c.execute(
                insert(schema.jobs).values(
                    id=jid,
                    patient_id=patient_id,
                    kind=kind,
                    status="queued",
                    progress=0.0,
                    requested_by=requested_by,
                    created_at=t,
                    updated_at=t,
                )
            )
        return Job(jid, patient_id, kind, "queued", 0.0, None, None, t, t)

    def set_job(
        self,
        job_id: str,
        *,
        status: str | None = None,
        progress: float | None = None,
        error: str | None = None,
        plan_id: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"updated_at": now()}
        if status is not None:
            values["status"] = status
        if progress is not None:
            values["progress"] = progress
        if plan_id is not None:
            values["plan_id"] = plan_id
        if error is not None:
            job = self.get_job(job_id)
            if job is not None:
                pseudonym = self._pseudonym(job.patient_id)
                values["error_enc"] = self._seal(pseudonym, "jobs", "error", job_id, error.encode())
        with self.engine.begin() as c:
            c.execute(update(schema.jobs).where(schema.jobs.c.id == job_id).values(**values))

    def get_job(self, job_id: str) -> Job | None:
        with self._reading() as c:
            r = c.execute(select(schema.jobs).where(schema.jobs.c.id == job_id)).first()
        if r is None:
            return None
        error = None
        if r.error_enc is not None:
            meta = self.patient_meta(r.patient_id)
            if meta is not None:
                error = self._open(meta[0], "jobs", "error", r.id, r.error_enc).decode()
        return Job(
            r.id,
            r.patient_id,
            r.kind,
            r.status,
            r.progress,
            error,
            r.plan_id,
            _aware(r.created_at),
            _aware(r.updated_at),
        )

    def unfinished_jobs(self) -> list[str]:
        """Jobs queued or interrupted while running (to run again after a restart)."""
        with self._reading() as c:
            return [
                r.id
                for r in c.execute(
                    select(schema.jobs.c.id)
                    .where(schema.jobs.c.status.in_(("queued", "running")))
                    .order_by(schema.jobs.c.created_at)
                )
            ]

    def save_plan(
        self,
        patient_id: str,
        job_id: str,
        plan_json: str,
        attention: dict[str, Any] | None = None,
    ) -> str:
        """Store a finished plan (and what in it needs attention), mark the patient's plan fresh
        unless data arrived meanwhile."""
        pseudonym = self._pseudonym(patient_id)
        plan_id = uuid.uuid4().hex
        sealed = None
        if attention is not None:
            sealed = self._seal(pseudonym, "plans", "attention", plan_id, attention)
        with self.engine.begin() as c:
            c.execute(
                insert(schema.plans).values(
                    id=plan_id,
                    patient_id=patient_id,
                    job_id=job_id,
                    created_at=now(),
                    content_enc=self._seal(
                        pseudonym, "plans", "content", plan_id, plan_json.encode()
                    ),
                    attention_enc=sealed,
                )
            )
            job_created = c.execute(
                select(schema.jobs.c.created_at).where(schema.jobs.c.id == job_id)
            ).scalar_one()
            c.execute(
                update(schema.patients)
                .where(
                    schema.patients.c.id == patient_id, schema.patients.c.updated_at <= job_created
                )
                .values(plan_stale=False)
            )
        return plan_id

    def latest_plan(self, patient_id: str) -> tuple[str, str, datetime] | None:
        """(plan id, plan JSON, created) of the newest plan, or None."""
        pseudonym = self._pseudonym(patient_id)
        with self._reading() as c:
            row = c.execute(
                select(schema.plans)
                .where(schema.plans.c.patient_id == patient_id)
                .order_by(schema.plans.c.created_at.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        content = self._open(pseudonym, "plans", "content", row.id, row.content_enc).decode()
        return row.id, content, _aware(row.created_at)

    def latest_attention(self, patient_id: str) -> dict[str, Any] | None:
        """What needs attention in the newest plan (None: no plan, or one made before it was
        kept). Decrypts a few hundred bytes, not the plan."""
        meta = self.patient_meta(patient_id)
        if meta is None:
            return None
        with self._reading() as c:
            row = c.execute(
                select(schema.plans.c.id, schema.plans.c.attention_enc)
                .where(schema.plans.c.patient_id == patient_id)
                .order_by(schema.plans.c.created_at.desc())
                .limit(1)
            ).first()
        if row is None or row.attention_enc is None:
            return None
        found: dict[str, Any] = self._open_json(
            meta[0], "plans", "attention", row.id, row.attention_enc
        )
        return found

    def attention_and_consents(
        self, patient_ids: Sequence[str]
    ) -> dict[str, tuple[dict[str, Any] | None, list[dict[str, Any]]]]:
        """For each live patient of ``patient_ids``: what needs attention in their newest plan
        (as :meth:`latest_attention`) and their consents (as :meth:`consents`), read in three
        queries for the whole list (the patient list's flags)."""
        out: dict[str, tuple[dict[str, Any] | None, list[dict[str, Any]]]] = {}
        for start in range(0, len(patient_ids), 500):
            out.update(self._attention_and_consents(list(patient_ids[start : start + 500])))
        return out

    def _attention_and_consents(
        self, ids: list[str]
    ) -> dict[str, tuple[dict[str, Any] | None, list[dict[str, Any]]]]:
        p, pl, cs = schema.patients.c, schema.plans.c, schema.consents.c
        with self._reading() as c:
            pseudonyms = {r.id: r.pseudonym for r in c.execute(
                select(p.id, p.pseudonym).where(p.id.in_(ids), p.erased_at.is_(None)))}  # fmt: skip
            plans = c.execute(
                select(pl.id, pl.patient_id, pl.attention_enc)
                .where(pl.patient_id.in_(ids))
                .order_by(pl.patient_id, pl.created_at.desc())
            ).all()
            consents = c.execute(
                select(cs.id, cs.patient_id, cs.content_enc)
                .where(cs.patient_id.in_(ids))
                .order_by(cs.patient_id, cs.created_at.desc())
            ).all()
        newest_plan: dict[str, Any] = {}
        for row in plans:
            newest_plan.setdefault(row.patient_id, row)
        newest_consent: dict[str, Any] = {}
        for row in consents:
            newest_consent.setdefault(row.patient_id, row)
        out: dict[str, tuple[dict[str, Any] | None, list[dict[str, Any]]]] = {}
        for pid, pseudonym in pseudonyms.items():
            plan, consent = newest_plan.get(pid), newest_consent.get(pid)
            attention = None
            if plan is not None and plan.attention_enc is not None:
                attention = self._open_json(pseudonym, "plans", "attention", plan.id,
                                            plan.attention_enc)  # fmt: skip
            held: list[dict[str, Any]] = []
            if consent is not None:
                held = self._open_json(pseudonym, "consents", "content", consent.id,
                                       consent.content_enc)  # fmt: skip
            out[pid] = (attention, held)
        return out

    # -- audit ------------------------------------------------------------------------------

    def audit(
        self,
        *,
        actor: str,
        role: str,
        patient_id: str | None,
        action: str,
        purpose: str | None,
        outcome: str,
        detail: str = "",
    ) -> AuditRow:
        """Append one audit row (the patient named by pseudonym), chained to the previous."""
        patient = self.keys.patient_pseudonym(patient_id) if patient_id else None
        return self._audit_writer.append((actor, role, patient, action, purpose, outcome, detail))

    def read_head(self) -> tuple[int, str] | None:
        try:
            seq, digest = self._head_path.read_text().split()
        except (FileNotFoundError, ValueError):
            return None
        return int(seq), digest

    def audit_rows(self, *, after: int = 0, limit: int | None = None) -> Iterator[AuditRow]:
        q = select(schema.audit).where(schema.audit.c.seq > after).order_by(schema.audit.c.seq)
        if limit is not None:
            q = q.limit(limit)
        with self._reading() as c:
            for r in c.execute(q):
                m = dict(r._mapping)
                m["time"] = _aware(m["time"])
                yield row_from(m)

    def verify_audit(self) -> ChainCheck:
        return verify_chain(self.audit_rows(), self.read_head())

    def count(self, table: str) -> int:
        t: Sequence[Any] = [getattr(schema, table)]
        with self._reading() as c:
            return int(c.execute(select(func.count()).select_from(t[0])).scalar_one())
