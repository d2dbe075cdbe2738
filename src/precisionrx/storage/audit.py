"""The audit trail: append-only, hash-chained rows.

Each row carries the SHA-256 of the previous row (``prev_hash``) and its own ``hash`` =
SHA-256 over ``prev_hash`` and the row's canonical JSON (sequence number, time, actor, role,
patient pseudonym, action, purpose, outcome, detail). Editing a row breaks its hash; deleting
a row breaks the sequence and the next row's ``prev_hash``; deleting rows at the end is caught
against the head (sequence and hash of the newest row) that the store also keeps in
``<home>/audit.head``. Patients are named only by their keyed pseudonym; the detail never
holds patient data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: The ``prev_hash`` of the first row.
GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditRow:
    seq: int
    time: datetime
    actor: str
    role: str
    patient: str | None
    action: str
    purpose: str | None
    outcome: str
    detail: str
    prev_hash: str
    hash: str = ""

    def canonical(self) -> bytes:
        fields = [
            self.seq,
            self.time.isoformat(),
            self.actor,
            self.role,
            self.patient,
            self.action,
            self.purpose,
            self.outcome,
            self.detail,
        ]
        return json.dumps(fields, separators=(",", ":"), ensure_ascii=True).encode()

    def computed_hash(self) -> str:
        return hashlib.sha256(self.prev_hash.encode() + b"\n" + self.canonical()).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time.isoformat(),
            "actor": self.actor,
            "role": self.role,
            "patient": self.patient,
            "action": self.action,
            "purpose": self.purpose,
            "outcome": self.outcome,
            "detail": self.detail,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def row_from(mapping: Mapping[str, Any]) -> AuditRow:
    return AuditRow(**{k: mapping[k] for k in AuditRow.__dataclass_fields__})


@dataclass(frozen=True)
class ChainCheck:
    """The result of :func:`verify_chain`: intact, or the first broken row and why."""

    rows: int
    broken_at: int | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify_chain(rows: Iterable[AuditRow], head: tuple[int, str] | None = None) -> ChainCheck:
    """Check every row's hash and link, in sequence order, and the newest row against
    ``head`` (sequence, hash) when one is known."""
    prev_hash, expected_seq, n = GENESIS, 1, 0
    last: AuditRow | None = None
    for row in rows:
        n += 1
        if row.seq != expected_seq:
            return ChainCheck(n, expected_seq, f"row {expected_seq} is missing (next is {row.seq})")
        if row.prev_hash != prev_hash:
            return ChainCheck(n, row.seq, "its prev_hash does not match the row before it")
        if row.computed_hash() != row.hash:
            return ChainCheck(n, row.seq, "its content does not match its hash (edited)")
        prev_hash, expected_seq, last = row.hash, expected_seq + 1, row
    if head is not None:
        seq, digest = head
        if last is None or last.seq < seq:
            return ChainCheck(
                n,
                (last.seq + 1) if last else 1,
                f"rows after {last.seq if last else 0} up to {seq} are missing",
            )
        if last.seq == seq and last.hash != digest:
            return ChainCheck(n, seq, "the newest row does not match the recorded head")
    return ChainCheck(n)


def audit_event(row: AuditRow, *, service: str = "precisionrx") -> dict[str, Any]:
    """The row as a FHIR R4 AuditEvent (IHE BALP pattern: type rest, action, outcome, agent,
    source, entity = the patient by pseudonym, purposeOfEvent)."""
    action = {"create": "C", "read": "R", "update": "U", "delete": "D", "erase": "D"}.get(
        row.action.split(".")[-1], "E"
    )
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": f"audit-{row.seq}",
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "RESTful Operation",
        },
        "subtype": [{"system": "urn:precisionrx:audit-action", "code": row.action}],
        "action": action,
        "recorded": row.time.isoformat(),
        "outcome": "0" if row.outcome == "success" else "4" if row.outcome == "denied" else "8",
        "outcomeDesc": row.outcome + (f": {row.detail}" if row.detail else ""),
        "agent": [{"who": {"display": row.actor}, "requestor": True, "role": [{"text": row.role}]}],
        "source": {"observer": {"display": service}},
        "extension": [{"url": "urn:precisionrx:audit-hash", "valueString": row.hash}],
    }
    if row.purpose:
        event["purposeOfEvent"] = [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                        "code": row.purpose,
                    }
                ]
            }
        ]
    if row.patient:
        event["entity"] = [
            {"what": {"identifier": {"system": "urn:precisionrx:pseudonym", "value": row.patient}}}
        ]
    return event
