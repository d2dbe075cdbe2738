"""Plan jobs, run off the request thread.

:class:`JobRunner` is the in-process queue (worker threads). Jobs live in the database, so the
queue itself holds only ids: a job queued or running when the server stopped (or was killed)
runs again on the next start, and an external queue (a task broker) could replace the runner
by calling :func:`run_job` with the same id.
"""

from __future__ import annotations

import gc
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from precisionrx.errors import PrecisionRxError
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.storage.store import Store

if TYPE_CHECKING:
    from precisionrx.plan.model import TreatmentPlan

log = logging.getLogger("precisionrx.service")


def run_job(store: Store, kb: KnowledgeBase, job_id: str) -> None:
    """Run one plan job to its end: ``done`` with the stored plan, or ``failed`` with the
    error (the error tree's one paragraph; anything else is an internal error)."""
    from precisionrx.report.writers import model_json
    from precisionrx.service.planning import build_stored_plan

    job = store.get_job(job_id)
    if job is None or job.status in ("done", "failed"):
        return
    store.set_job(job_id, status="running", progress=0.05)
    try:
        plan = build_stored_plan(
            store, job.patient_id, kb, lambda p: store.set_job(job_id, progress=p)
        )
        plan_id = store.save_plan(
            job.patient_id, job_id, model_json(plan), _attention(store, kb, job.patient_id, plan)
        )
    except PrecisionRxError as exc:
        store.set_job(job_id, status="failed", error=f"[{exc.code}] {exc.render()}")
        return
    except LookupError:  # the patient was erased while the job waited
        store.set_job(job_id, status="failed", error="the patient's record is gone")
        return
    except Exception as exc:  # a bug: say so without the data (no PHI in logs)
        log.error("plan job %s failed: internal error (%s)", job_id, type(exc).__name__)
        store.set_job(job_id, status="failed", error="internal error; please report")
        return
    store.set_job(job_id, status="done", progress=1.0, plan_id=plan_id)
    _freeze_survivors()
    store.audit(
        actor="precisionrx",
        role="service",
        patient_id=job.patient_id,
        action="plan.create",
        purpose="TREAT",
        outcome="success",
        detail=f"job {job_id}",
    )


def _attention(
    store: Store, kb: KnowledgeBase, patient_id: str, plan: TreatmentPlan
) -> dict[str, Any]:
    """What in the plan needs attention, its critical findings compared with the previous
    plan's (plan/attention.py); items naming a psychiatric drug are labelled PSY."""
    from precisionrx.kb.questionnaires import psychiatric_drugs
    from precisionrx.plan.attention import Attention, plan_attention, with_new

    before = store.latest_attention(patient_id)
    previous = Attention.model_validate(before) if before is not None else None
    current = plan_attention(plan, frozenset(psychiatric_drugs(kb)))
    return with_new(current, previous).model_dump(mode="json")


def _freeze_survivors() -> None:
    """Collect the job's garbage, then move what survives — mostly the knowledge base's
    tables, loaded by the first plan — out of the cyclic garbage collector's reach. Without
    this every collection triggered by request traffic rescans hundreds of thousands of
    knowledge-base objects, and read latency under load grows several-fold. Frozen objects
    are still freed by reference counting when they are no longer used."""
    gc.collect()
    gc.freeze()


class JobRunner:
    """Worker threads over job ids (the jobs themselves are rows in the store)."""

    def __init__(self, store: Store, kb: KnowledgeBase, workers: int = 1) -> None:
        self.store = store
        self.kb = kb
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="plan-job")

    def submit(self, job_id: str) -> None:
        self._pool.submit(run_job, self.store, self.kb, job_id)

    def resume(self) -> int:
        """Queue the jobs left unfinished by a previous run; their number."""
        ids = self.store.unfinished_jobs()
        for job_id in ids:
            self.store.set_job(job_id, status="queued")
            self.submit(job_id)
        return len(ids)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
