"""The store: nothing readable at rest, crypto-shredding, the audit chain, migrations."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text, update

from precisionrx.errors import IntegrityError
from precisionrx.service.state import ServiceState
from precisionrx.storage import schema
from precisionrx.storage.store import Store
from tests.service.conftest import MASTER
from tests.service.helpers import DEMO, demo_record

#: Values that must never be found in the database in clear.
NAME = "Zebulon Quibblesworth"
BIRTH = "1961-07-23"
SAMPLE = "ZQSAMPLE77"


def _vcf() -> bytes:
    text_ = (DEMO / "demo.vcf").read_text().replace("demo-001", SAMPLE)
    return text_.encode()


def _raw_dump(store: Store) -> bytes:
    """Every byte the database holds for our tables (SQLite: the files; PostgreSQL: every
    column of every row as text)."""
    url = store.engine.url
    if url.get_backend_name() == "sqlite":
        store.engine.dispose()  # checkpoint is not needed: read the WAL too
        base = Path(str(url.database))
        return b"".join(p.read_bytes() for p in base.parent.glob(base.name + "*"))
    out = []
    with store.engine.connect() as c:
        for table in schema.metadata.sorted_tables:
            for row in c.execute(select(table)):
                out.append(repr(tuple(row)).encode())
                for v in row:
                    if isinstance(v, (bytes, memoryview)):
                        out.append(bytes(v))
    return b"\n".join(out)


def test_no_plaintext_at_rest(state: ServiceState) -> None:
    store = state.store
    record = demo_record(name=NAME)
    record["demographics"] = {**record["demographics"], "birth_date": BIRTH}
    row = store.create_patient(record, "org-a")
    store.add_file(row.id, "germline_vcf", _vcf(), {"filename": f"{SAMPLE}.vcf"})
    store.put_consents(row.id, [{"resourceType": "Consent", "id": "x", "note": NAME}])
    store.save_plan(row.id, store.create_job(row.id, "plan", "dr").id, f'{{"name": "{NAME}"}}')
    assert store.get_patient(row.id).record["name"] == NAME  # type: ignore[union-attr]
    raw = _raw_dump(store)
    for secret in (NAME, BIRTH, SAMPLE, "rs114096998", "97078987", "clopidogrel"):
        assert secret.encode() not in raw, secret
    assert row.id.encode() in raw  # the dump did read the tables


def test_ciphertexts_are_bound_to_their_row(state: ServiceState) -> None:
    """A ciphertext copied to another patient's row does not open (AAD binds patient, table,
    column, row)."""
    store = state.store
    a = store.create_patient(demo_record(name="A"), "org-a")
    b = store.create_patient(demo_record(name="B"), "org-a")
    with store.engine.begin() as c:
        blob = c.execute(select(schema.patients.c.record_enc).where(
            schema.patients.c.id == a.id)).scalar_one()  # fmt: skip
        c.execute(update(schema.patients).where(schema.patients.c.id == b.id)
                  .values(record_enc=blob))  # fmt: skip
    with pytest.raises(IntegrityError):
        store.get_patient(b.id)


def test_erasure_shreds_the_key_so_backups_stay_closed(state: ServiceState, tmp_path: Path) -> None:  # fmt: skip
    store = state.store
    row = store.create_patient(demo_record(name=NAME), "org-a")
    store.add_file(row.id, "germline_vcf", _vcf(), {})
    backup = None
    if store.engine.url.get_backend_name() == "sqlite":
        store.engine.dispose()
        src = Path(str(store.engine.url.database))
        backup = tmp_path / "backup.db"
        with store.engine.connect() as c:  # a consistent copy, as a backup tool makes
            c.execute(text(f"VACUUM INTO '{backup}'"))
    else:  # PostgreSQL: keep the encrypted row as a dump would
        with store.engine.connect() as c:
            saved = c.execute(select(schema.patients).where(
                schema.patients.c.id == row.id)).first()  # fmt: skip
    assert store.erase_patient(row.id)
    assert store.get_patient(row.id) is None
    assert not list((state.settings.home / "keys").glob(f"{row.pseudonym}*"))
    # the backup, opened with the same master key and key store, no longer opens
    if backup is not None:
        restored = Store.open(state.settings.home, _master(), f"sqlite:///{backup}")
        try:
            with pytest.raises(IntegrityError):
                restored.get_patient(row.id)
            with pytest.raises(IntegrityError):
                restored.file_content(row.id, restored.list_files(row.id)[0].id)  # type: ignore[index]
        finally:
            restored.close()
        del src
    else:
        with pytest.raises(IntegrityError):
            store._open(saved.pseudonym, "patients", "record", row.id, saved.record_enc)


def _master() -> bytes:
    import base64

    return base64.b64decode(MASTER)


def test_audit_chain_detects_edits_and_deletions(state: ServiceState) -> None:
    store = state.store
    for i in range(6):
        store.audit(actor="dr", role="clinician", patient_id=f"p{i}", action="patient.read",
                    purpose="TREAT", outcome="success")  # fmt: skip
    assert store.verify_audit().intact and store.verify_audit().rows == 6
    rows = list(store.audit_rows())
    assert rows[1].prev_hash == rows[0].hash and rows[0].patient != "p0"  # pseudonym only
    with store.engine.begin() as c:
        c.execute(update(schema.audit).where(schema.audit.c.seq == 3).values(outcome="denied"))
    check = store.verify_audit()
    assert not check.intact and check.broken_at == 3
    with store.engine.begin() as c:
        c.execute(update(schema.audit).where(schema.audit.c.seq == 3).values(outcome="success"))
        c.execute(schema.audit.delete().where(schema.audit.c.seq == 4))
    check = store.verify_audit()
    assert check.broken_at == 4 and "missing" in check.problem
    with store.engine.begin() as c:  # deleting the tail is caught against the head
        c.execute(schema.audit.delete().where(schema.audit.c.seq >= 4))
    check = store.verify_audit()
    assert not check.intact and check.broken_at == 4


def test_migrations_create_the_schema_the_code_uses(state: ServiceState) -> None:
    inspector = inspect(state.store.engine)
    for table in schema.metadata.sorted_tables:
        have = {c["name"] for c in inspector.get_columns(table.name)}
        assert have == {c.name for c in table.columns}, table.name
    # migrating again is a no-op (start-up on an existing database)
    from precisionrx.storage.database import migrate

    migrate(state.store.engine)


def test_jobs_left_running_are_resumed(state: ServiceState) -> None:
    store = state.store
    row = store.create_patient(demo_record(), "org-a")
    job = store.create_job(row.id, "plan", "dr")
    store.set_job(job.id, status="running", progress=0.5)
    assert store.unfinished_jobs() == [job.id]


def test_concurrent_audit_appends_form_one_chain(state: ServiceState) -> None:
    """Rows appended by many threads at once (the group-commit writer batches them) get
    contiguous sequence numbers, each caller gets back its own committed row, the chain and
    the head verify, and nothing is lost."""
    from concurrent.futures import ThreadPoolExecutor

    store = state.store
    before = store.count("audit")

    def append(i: int) -> tuple[int, int, str]:
        row = store.audit(actor=f"user-{i}", role="clinician", patient_id=None,
                          action="patient.search", purpose="TREAT", outcome="success",
                          detail=f"call {i}")  # fmt: skip
        return i, row.seq, row.detail

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(append, range(400)))
    assert all(detail == f"call {i}" for i, _, detail in results)
    seqs = sorted(seq for _, seq, _ in results)
    assert seqs == list(range(before + 1, before + 401))
    check = store.verify_audit()
    assert check.intact and check.rows == before + 400
    assert store.read_head() is not None and store.read_head()[0] == before + 400  # type: ignore[index]
    with store.engine.connect() as c:
        actors = {r.actor: r.detail for r in c.execute(select(schema.audit))}
    assert all(actors[f"user-{i}"] == f"call {i}" for i in range(400))


def test_a_session_shares_one_connection_and_sees_its_own_writes(state: ServiceState) -> None:
    """Inside ``Store.session`` a request's reads take one pooled connection (one checkout
    and liveness ping), run in autocommit, and so see writes committed meanwhile — the
    request's own included."""
    from sqlalchemy import event

    store = state.store
    row = store.create_patient(demo_record(), "org-a")
    checkouts: list[object] = []

    def count(*_args: object) -> None:
        checkouts.append(object())

    event.listen(store.engine, "checkout", count)
    try:
        with store.session():
            assert store.patient_meta(row.id) is not None
            assert store.plan_stale(row.id) is True
            store.mark_stale(row.id, False)  # a write, in its own transaction
            assert store.plan_stale(row.id) is False  # seen by the next read
            assert store.latest_plan(row.id) is None and store.consents(row.id) == []
            reads_and_write = len(checkouts)
        assert reads_and_write == 2  # one for the session's reads, one for the write
        checkouts.clear()
        store.patient_meta(row.id)
        store.plan_stale(row.id)
        assert len(checkouts) == 2  # outside a session: one per read
    finally:
        event.remove(store.engine, "checkout", count)
