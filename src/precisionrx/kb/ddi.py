"""Drug–drug interaction tables (``kb/data/ddi/``), read through the registry.

Four files, all CSV (built by ``tools/build_kb.py --only ddi`` from ``shared/data/plan``; sources
and licences in the source's ``about.json`` and docs/methods/interactions.md):

- ``ddi_major.csv``: one row per interacting pair, ``drug_a, drug_b`` an ingredient or a
  ``class:NAME`` token, with ``severity`` (contraindicated|major|moderate), ``action``
  (avoid|dose_cap|monitor), ``dose_cap`` text, ``dose_cap_applies_to``, ``dose_cap_max_mg_day``,
  ``specificity_rank`` (1 ingredient–ingredient, 2 label/guideline class row, 3 ONC-2012 class
  row), ``source`` and ``verified``. Curated from the ONC high-priority list (Phansalkar S et al.
  JAMIA 2012;19:735, Table 2) and FDA labels and safety communications; each row cites its own.
- ``ddi_classes.csv``: class -> member (a member may itself be ``class:NAME``), with ``verified``.
  ``qt_prolonging_known_risk`` has no member on purpose (CredibleMeds cannot be redistributed):
  its rows are reported as not assessable, never silently empty.
- ``ddi_non_interruptive.csv``: the ONC 2013 low-priority class pairs (Phansalkar S et al. JAMIA
  2013;20:489), as transcribed by Ayvaz S et al. (J Biomed Inform 2015;55:206). An empty member
  list means the class name is the one member (``Niacin``, ``Omeprazole``).
- ``ddi_corrections.csv``: transcription errors of those tables, corrected here with the reason
  (the shipped value must still be the one corrected, or the knowledge base is refused).

A ``drug_a``/``drug_b`` token with a hyphen (``sulfamethoxazole-trimethoprim``) names a
combination product: it matches only a medicine holding every one of its ingredients.

Loading is lazy and cached on the :class:`~precisionrx.kb.registry.KnowledgeBase` object.

>>> from precisionrx.kb.registry import KnowledgeBase
>>> tables = load_ddi(KnowledgeBase())
>>> rule = tables.rule("DDI025")
>>> rule.drug_a.token, rule.drug_b.token, rule.action, rule.dose_cap_max_mg_day
('simvastatin', 'amlodipine', 'dose_cap', 20.0)
>>> tables.classes["qt_prolonging_known_risk"]
()
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, cast, get_args

from precisionrx.errors import KbIntegrityError

if TYPE_CHECKING:
    from precisionrx.kb.registry import KnowledgeBase

SOURCE = "ddi"
MAJOR = "ddi_major.csv"
CLASSES = "ddi_classes.csv"
LOW_PRIORITY = "ddi_non_interruptive.csv"
CORRECTIONS = "ddi_corrections.csv"

Severity = Literal["contraindicated", "major", "moderate"]
Action = Literal["avoid", "dose_cap", "monitor"]
#: Most severe first.
SEVERITIES: tuple[Severity, ...] = ("contraindicated", "major", "moderate")
_CLASS = "class:"
_SPACES = re.compile(r"\s+")


def norm(name: str) -> str:
    """Names compared lower-case with single spaces (``Zinc  Acetate`` = ``zinc acetate``)."""
    return _SPACES.sub(" ", name.strip().lower())


@dataclass(frozen=True, slots=True)
class Member:
    """One drug of a class: ``via`` is the chain of classes it was reached through; ``verified``
    is False when any link of that chain is unverified in ``ddi_classes.csv``."""

    name: str
    verified: bool
    via: tuple[str, ...]
    source: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a rule: an ingredient, a combination product or a class (expanded)."""

    token: str
    #: The class name for a ``class:`` token.
    klass: str | None = None
    #: Every member by name (a plain token is its own one verified member).
    members: dict[str, Member] = field(default_factory=dict)
    #: The ingredients of a combination token (empty otherwise).
    combination: tuple[str, ...] = ()
    #: Why a class has no member (its placeholder row's source), when it has none.
    empty_note: str | None = None

    @property
    def empty(self) -> bool:
        return not self.members

    def display(self) -> str:
        return " / ".join(self.combination) if self.combination else self.token


@dataclass(frozen=True, slots=True)
class DdiRule:
    """One row of ``ddi_major.csv``."""

    id: str
    drug_a: Side
    drug_b: Side
    mechanism: str
    severity: Severity
    effect: str
    action: Action
    dose_cap: str | None
    dose_cap_applies_to: str | None
    dose_cap_max_mg_day: float | None
    source: str
    verified: bool
    specificity_rank: int
    onc_2012_high_priority: bool
    notes: str


@dataclass(frozen=True, slots=True)
class LowPriorityPair:
    """One ONC 2013 non-interruptive class pair (``object`` affected by ``precipitant``)."""

    id: str
    object: Side
    precipitant: Side
    source: str
    verified: bool
    note: str
    #: Reasons of the corrections applied to this row (``ddi_corrections.csv``).
    corrections: tuple[str, ...] = ()


@dataclass(frozen=True)
class DdiTables:
    rules: tuple[DdiRule, ...]
    low_priority: tuple[LowPriorityPair, ...]
    #: Class name -> its members (nested classes expanded).
    classes: dict[str, tuple[Member, ...]]
    #: Every ingredient name the tables know (members, plain tokens, combination parts).
    vocabulary: frozenset[str]

    def rule(self, rule_id: str) -> DdiRule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


def load_ddi(kb: KnowledgeBase) -> DdiTables:
    """The interaction tables, parsed and checked once per knowledge-base object."""
    return kb.memo((SOURCE, "tables"), lambda: _build(kb))


def _build(kb: KnowledgeBase) -> DdiTables:
    fixes = _corrections(kb)
    class_rows = kb.rows(SOURCE, CLASSES, delimiter=",")
    raw: dict[str, list[dict[str, str]]] = {}
    for r in class_rows:
        raw.setdefault(r["class"], []).append(r)
    classes = {name: _expand(name, raw, ()) for name in raw}
    # A class left empty on purpose has one placeholder row whose source says why.
    notes = {name: "; ".join(r["source"] for r in rows if not r["member"].strip())
             for name, rows in raw.items()}  # fmt: skip
    rules = tuple(
        _rule(r, n, classes, notes)
        for n, r in enumerate(kb.rows(SOURCE, MAJOR, delimiter=","), start=2)
    )
    low = tuple(
        _low_priority(r, fixes.get(r["onc2013_id"], {}))
        for r in kb.rows(SOURCE, LOW_PRIORITY, delimiter=",")
    )
    vocab: set[str] = set()
    for rule in rules:
        for side in (rule.drug_a, rule.drug_b):
            vocab |= set(side.members) | set(side.combination)
    for pair in low:
        vocab |= set(pair.object.members) | set(pair.precipitant.members)
    return DdiTables(rules, low, classes, frozenset(vocab))


def _expand(
    name: str, raw: dict[str, list[dict[str, str]]], seen: tuple[str, ...]
) -> tuple[Member, ...]:
    if name in seen:
        raise KbIntegrityError(f"class {name} contains itself", path=f"{SOURCE}/{CLASSES}")
    if name not in raw:
        raise KbIntegrityError(f"class {name} is used but not defined", path=f"{SOURCE}/{CLASSES}")
    out: dict[str, Member] = {}
    chain = (*seen, name)
    for r in raw[name]:
        member, ok = norm(r["member"]), _bool(r["verified"], f"{CLASSES} {name}")
        if not member:
            continue  # a placeholder row: the class is empty on purpose (its note says why)
        if member.startswith(_CLASS):
            for m in _expand(member.removeprefix(_CLASS), raw, chain):
                # an unverified link says why in its own note; a verified one keeps the member's
                src, note = (m.source, m.note) if ok else (r["source"], r["note"])
                _keep(out, Member(m.name, ok and m.verified, m.via, src, note))
        else:
            _keep(out, Member(member, ok, chain, r["source"], r["note"]))
    return tuple(out.values())


def _keep(out: dict[str, Member], m: Member) -> None:
    """The first listing of a member, unless a later one is verified and it is not."""
    old = out.get(m.name)
    if old is None or (m.verified and not old.verified):
        out[m.name] = m


def _side(token: str, classes: dict[str, tuple[Member, ...]], notes: dict[str, str]) -> Side:
    t = norm(token)
    if t.startswith(_CLASS):
        name = t.removeprefix(_CLASS)
        if name not in classes:
            raise KbIntegrityError(f"class {name} is not defined", path=f"{SOURCE}/{CLASSES}")
        members = {m.name: m for m in classes[name]}
        return Side(t, name, members, (), None if members else notes.get(name) or "no members")
    if "-" in t:  # a combination product (sulfamethoxazole-trimethoprim)
        parts = tuple(p.strip() for p in t.split("-") if p.strip())
        return Side(t, None, {p: Member(p, True, ()) for p in parts}, parts)
    return Side(t, None, {t: Member(t, True, ())})


def _rule(
    r: dict[str, str], line: int, classes: dict[str, tuple[Member, ...]], notes: dict[str, str]
) -> DdiRule:
    where = f"{MAJOR} line {line} ({r.get('id', '?')})"
    severity, action = r["severity"].strip(), r["action"].strip()
    if severity not in get_args(Severity) or action not in get_args(Action):
        raise KbIntegrityError(f"{where}: severity {severity!r} or action {action!r} unknown",
                               path=f"{SOURCE}/{MAJOR}")  # fmt: skip
    try:
        rank = int(r["specificity_rank"])
        cap = float(r["dose_cap_max_mg_day"]) if r["dose_cap_max_mg_day"].strip() else None
    except ValueError as exc:
        raise KbIntegrityError(f"{where}: {exc}", path=f"{SOURCE}/{MAJOR}") from exc
    a, b = _side(r["drug_a"], classes, notes), _side(r["drug_b"], classes, notes)
    applies = norm(r["dose_cap_applies_to"]) or None
    if applies is not None and applies not in (a.token, b.token):
        raise KbIntegrityError(f"{where}: dose cap applies to {applies}, not one of the pair",
                               path=f"{SOURCE}/{MAJOR}")  # fmt: skip
    return DdiRule(
        id=r["id"],
        drug_a=a,
        drug_b=b,
        mechanism=r["mechanism"],
        severity=cast(Severity, severity),
        effect=r["effect"],
        action=cast(Action, action),
        dose_cap=r["dose_cap"].strip() or None,
        dose_cap_applies_to=applies,
        dose_cap_max_mg_day=cap,
        source=r["source"],
        verified=_bool(r["verified"], where),
        specificity_rank=rank,
        onc_2012_high_priority=_bool(r["onc_2012_high_priority"], where),
        notes=r["notes"],
    )


def _low_priority(r: dict[str, str], fixes: dict[str, tuple[str, str, str]]) -> LowPriorityPair:
    where = f"{LOW_PRIORITY} row {r['onc2013_id']}"
    values = dict(r)
    for column, (shipped, corrected, _why) in fixes.items():
        if values.get(column) != shipped:
            raise KbIntegrityError(f"{where}: {column} is not the value its correction expects",
                                   path=f"{SOURCE}/{CORRECTIONS}")  # fmt: skip
        values[column] = corrected

    def side(klass: str, members: str) -> Side:
        names = [norm(m) for m in members.split(";") if m.strip()] or [norm(klass)]
        return Side(norm(klass), norm(klass), {n: Member(n, True, (norm(klass),)) for n in names})

    return LowPriorityPair(
        id=r["onc2013_id"],
        object=side(values["object_class"], values["object_members"]),
        precipitant=side(values["precipitant_class"], values["precipitant_members"]),
        source=r["source"],
        verified=_bool(r["verified"], where),
        note=r["note"],
        corrections=tuple(why for _s, _c, why in fixes.values()),
    )


def _corrections(kb: KnowledgeBase) -> dict[str, dict[str, tuple[str, str, str]]]:
    """Row id -> column -> (shipped, corrected, reason), for the low-priority table."""
    out: dict[str, dict[str, tuple[str, str, str]]] = {}
    for r in kb.rows(SOURCE, CORRECTIONS, delimiter=","):
        if r["file"] != LOW_PRIORITY:
            raise KbIntegrityError(f"correction of {r['file']} is not supported",
                                   path=f"{SOURCE}/{CORRECTIONS}")  # fmt: skip
        out.setdefault(r["row"], {})[r["column"]] = (r["shipped"], r["corrected"], r["reason"])
    return out


def _bool(text: str, where: str) -> bool:
    t = text.strip().lower()
    if t not in ("true", "false"):
        raise KbIntegrityError(f"{where}: {text!r} is not true/false", path=SOURCE)
    return t == "true"
