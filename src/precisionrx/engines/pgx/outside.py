"""Outside calls (CYP2D6, HLA-A, HLA-B, MT-RNR1 or any gene) turned into gene results.

Rules from PharmCAT's outside-call format (pharmcat-docs Outside-Call-Format.md):

- Activity-score genes (CYP2C9, CYP2D6, DPYD): a given activity score trumps the other
  fields; the phenotype is the one CPIC's table assigns to that score, and a warning is
  issued when a given phenotype or diplotype does not match it. Without a score, the score
  is looked up from the phenotype (if given), else from the diplotype. Only CPIC-assigned
  scores are recognised ("7.0" for CYP2D6 is a no call).
- Other genes: a given phenotype is relied on (warning when it differs from the diplotype's).
- Phenotype text is normalised: spelling (metaboliser), capitalisation, the synonyms
  PM/IM/NM/EM/UM, extraction of the main term from longer text, "Likely"/"Possible" kept.
- Diplotypes: sub-alleles are truncated (CYP2D6 ``*4.024`` -> ``*4``, HLA ``*07:02:01`` ->
  ``*07:02``); CYP2D6 copy numbers above CPIC's bins are translated (``*1x5`` -> ``*1x≥3``).
- A gene given on several lines (or in several files) is an ambiguous call: every line is a
  candidate with its own phenotype, and recommendations are made for each.
- A line that cannot be used is an :class:`~precisionrx.errors.OutsideCallError` naming the
  file and line, never a result that overrides the VCF call: a gene the knowledge base does
  not know (the nearest gene symbol is suggested), a diplotype that is not one or two alleles
  separated by ``/``, or an allele not in the gene's definitions or phenotype table (HLA: an
  allele written ``*NN:NN``).

CPIC's activity-score table is the score -> phenotype assignment of the packaged PharmCAT
phenotype table (e.g. CYP2D6: 0 Poor, 0.25-1.0 Intermediate, 1.25-2.25 Normal, >2.25
Ultrarapid, as in the 2019 CPIC/DPWG consensus, Caudle et al. 2020, PMID 31647186).
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from decimal import Decimal, InvalidOperation

from precisionrx.engines.pgx.phenotyper import phenotype_for, summarise
from precisionrx.errors import OutsideCallError, PrecisionRxError
from precisionrx.io.outside_calls import OutsideCall
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.kb.schema import ACTIVITY_SCORE_GENES
from precisionrx.records import Caveat, CaveatKind, DiplotypeCall, GeneCall, PositionSummary

#: HLA alleles with CPIC/DPWG recommendations (abacavir, allopurinol, carbamazepine,
#: oxcarbazepine, phenytoin/fosphenytoin).
HLA_RISK_ALLELES = {"HLA-A": ("*31:01",), "HLA-B": ("*15:02", "*57:01", "*58:01")}

_SUBALLELE = re.compile(r"^(\*\d+)\.\d+")
_HLA_FIELDS = re.compile(r"^(\*\d+:\d+)(:\d+)*[A-Z]?$")
_COPIES = re.compile(r"^(\*\d+)(?:\.\d+)?x(\d+)$")

#: Outside-Call-Format.md, "Phenotypes": synonyms translated to CPIC terms.
PHENOTYPE_SYNONYMS = {
    "pm": "Poor Metabolizer",
    "im": "Intermediate Metabolizer",
    "nm": "Normal Metabolizer",
    "em": "Normal Metabolizer",
    "um": "Ultrarapid Metabolizer",
}
#: Main CPIC metaboliser terms, longest first ("rapid" is inside "ultrarapid").
MAIN_TERMS = (
    "ultrarapid metabolizer",
    "intermediate metabolizer",
    "normal metabolizer",
    "rapid metabolizer",
    "poor metabolizer",
)
MODIFIERS = ("likely", "possible")


def outside_genes(kb: KnowledgeBase) -> frozenset[str]:
    """Genes an outside call may name: the callable genes and every guideline gene."""

    def build() -> frozenset[str]:
        genes = set(kb.genes) | set(HLA_RISK_ALLELES) | set(kb.supplementary.diplotypes)
        genes |= {g for gl in kb.prescribing.guidelines for g in gl.genes}
        return frozenset(genes)

    found: frozenset[str] = kb.memo(("outside", "genes"), build)
    return found


def known_alleles(kb: KnowledgeBase, gene: str) -> set[str]:
    """Allele names of ``gene`` in the knowledge base (definitions, phenotype tables), with the
    short forms of names such as DPYD ``c.85T>C (*9A)`` (``c.85T>C`` and ``*9A``)."""
    names: set[str] = set()
    table = kb.phenotypes(gene)
    if table is not None:
        names |= set(table.functions)
    for pair in kb.supplementary.diplotypes.get(gene, {}):
        names |= set(pair)
    with contextlib.suppress(PrecisionRxError, LookupError, OSError):  # no definition file
        names |= {a.name for a in kb.definition(gene).alleles}
    for name in list(names):
        m = re.fullmatch(r"(.+?)\s*\((.+)\)", name)
        if m:
            names |= {m.group(1), m.group(2)}
    return names


def _nearest(value: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, sorted(choices), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def check_outside_call(
    kb: KnowledgeBase, call: OutsideCall, known: AbstractSet[str] | None = None
) -> None:
    """Refuse a line that cannot be used (see the module docstring), naming file and line."""
    where = {"path": call.source or None, "record": f"line {call.line}"}
    genes = outside_genes(kb) if known is None else known
    if call.gene not in genes:
        upper = {g.upper(): g for g in genes}
        hint = (
            f" (did you mean {upper[call.gene.upper()]!r}?)" if call.gene.upper() in upper else ""
        )
        raise OutsideCallError(
            f"unknown gene {call.gene!r}: not a gene of the knowledge base"
            + (hint or _nearest(call.gene, genes)),
            **where,
        )
    if not call.diplotype:
        return
    parts = call.diplotype.split("/")
    if len(parts) > 2 or any(not p.strip() for p in parts):
        raise OutsideCallError(
            f"{call.gene}: diplotype {call.diplotype!r} is not one allele or two separated by '/'",
            **where,
        )
    known = known_alleles(kb, call.gene)
    table = kb.phenotypes(call.gene)
    functions = frozenset(table.functions) if table is not None else frozenset()
    for part in parts:
        allele = normalise_allele(call.gene, part, functions)
        if call.gene.startswith("HLA-"):
            ok = re.fullmatch(r"\*\d+:\d+", allele) is not None
        elif not known:
            continue  # nothing to check against
        else:
            pieces = [normalise_allele(call.gene, p, functions) for p in allele.split("+")]
            ok = allele in known or all(p in known for p in pieces)
        if not ok:
            shown = part.strip()
            expected = (
                "an HLA allele is written *NN:NN (e.g. *57:01)"
                if call.gene.startswith("HLA-")
                else f"not an allele of {call.gene} in the knowledge base"
            )
            raise OutsideCallError(
                f"{call.gene}: allele {shown!r} in diplotype {call.diplotype!r}: {expected}"
                + ("" if call.gene.startswith("HLA-") else _nearest(shown, known)),
                **where,
            )


def check_outside_calls(kb: KnowledgeBase, calls: Iterable[OutsideCall]) -> None:
    """:func:`check_outside_call` for every line (before any VCF is read)."""
    genes = outside_genes(kb)
    for call in calls:
        check_outside_call(kb, call, genes)


def normalise_allele(gene: str, allele: str, known: frozenset[str] = frozenset()) -> str:
    """Drop sub-allele detail: CYP2D6 ``*4.024`` -> ``*4``; HLA ``*07:02:01:127`` -> ``*07:02``.

    CYP2D6 copy numbers not in CPIC's table go to its open bin: ``*1x5`` -> ``*1x≥3``.
    """
    a = allele.strip()
    if gene == "MT-RNR1" and a and a[0].isdigit():
        return f"m.{a}"  # PharmCAT writes MT-RNR1 alleles as m.1555A>G
    if gene.startswith("HLA-"):
        a = a.removeprefix(gene).removeprefix(gene.replace("-", ""))
        m = _HLA_FIELDS.match(a)
        return m.group(1) if m else a
    copies = _COPIES.match(a)
    if copies:
        star, n = copies.group(1), int(copies.group(2))
        exact = f"{star}x{n}"
        if exact in known or not known:
            return exact
        bins = sorted(
            (int(k.split("≥", 1)[1]), k)
            for k in known
            if k.startswith(f"{star}x≥") and k.split("≥", 1)[1].isdigit()
        )
        fitting = [k for low, k in bins if n >= low]
        return fitting[-1] if fitting else exact
    m = _SUBALLELE.match(a)
    return m.group(1) if m else a


def normalise_phenotype(gene: str, text: str, known: Sequence[str] = ()) -> str:
    """CPIC term for a phenotype as people write it (Outside-Call-Format.md, "Phenotypes")."""
    given = text.strip()
    low = " ".join(given.lower().replace("metaboliser", "metabolizer").split())
    if low in PHENOTYPE_SYNONYMS:
        return PHENOTYPE_SYNONYMS[low]
    for term in known:
        if term.lower() == low:
            return term
    core = re.sub(r"\([^)]*\)", " ", low).replace(gene.lower(), " ")
    core = " ".join(core.replace("metabolizers", "metabolizer").split())
    for term in MAIN_TERMS:
        if term in core:
            modifier = next((m for m in MODIFIERS if re.search(rf"\b{m}\b", core)), None)
            name = term.title()
            return f"{modifier.title()} {name}" if modifier else name
    return given


def score_table(kb: KnowledgeBase, gene: str) -> dict[str, str]:
    """CPIC activity score -> phenotype for an activity-score gene (from the phenotype table;
    built once per knowledge base and gene: the CYP2D6 table has thousands of diplotypes).
    The caller must not change the returned table."""

    def build() -> dict[str, str]:
        table = kb.phenotypes(gene)
        if table is None:
            return {}
        out: dict[str, str] = {}
        for row in table.diplotypes.values():
            if row.activity_score and row.activity_score.lower() != "n/a":
                out.setdefault(row.activity_score, row.phenotype)
        return out

    found: dict[str, str] = kb.memo(("outside", "score table", gene), build)
    return found


def _known_phenotypes(kb: KnowledgeBase, gene: str) -> list[str]:
    def build() -> list[str]:
        table = kb.phenotypes(gene)
        if table is None:
            return sorted(set(kb.supplementary.diplotypes.get(gene, {}).values()))
        return sorted({row.phenotype for row in table.diplotypes.values()})

    found: list[str] = kb.memo(("outside", "known phenotypes", gene), build)
    return list(found)


def _cpic_score(given: str, table: dict[str, str]) -> str | None:
    """The CPIC score string equal to ``given`` (``2`` -> ``2.0``, ``>=3`` -> ``≥3.0``)."""
    text = given.strip().replace(">=", "≥")
    if text in table:
        return text
    bound = text.startswith("≥")
    try:
        value = Decimal(text.removeprefix("≥"))
    except InvalidOperation:
        return None
    for key in table:
        if key.startswith("≥") != bound:
            continue
        try:
            if Decimal(key.removeprefix("≥")) == value:
                return key
        except InvalidOperation:
            continue
    return None


def _same_score(a: str, b: str) -> bool:
    try:
        return Decimal(a.replace("≥", "")) == Decimal(b.replace("≥", ""))
    except InvalidOperation:
        return a == b


def _candidates(kb: KnowledgeBase, call: OutsideCall) -> tuple[list[DiplotypeCall], list[Caveat]]:
    """The candidate results of one outside-call line, with its warnings."""
    gene = call.gene
    caveats: list[Caveat] = []
    table = kb.phenotypes(gene)
    known = frozenset(table.functions) if table is not None else frozenset()
    alleles: list[str] = []
    diplotype = None
    if call.diplotype:
        alleles = [normalise_allele(gene, a, known) for a in call.diplotype.split("/")]
        diplotype = "/".join(alleles)
    phenotype = (
        normalise_phenotype(gene, call.phenotype, _known_phenotypes(kb, gene))
        if call.phenotype
        else None
    )

    def warn(message: str) -> None:
        caveats.append(Caveat(code="outside_call_mismatch", message=f"{call.where}: {message}"))

    functions: list[str] = []
    expected_pheno = expected_score = None
    if gene in HLA_RISK_ALLELES and alleles and not phenotype:
        statuses = [
            f"{gene}{risk} {'positive' if risk in alleles else 'negative'}"
            for risk in HLA_RISK_ALLELES[gene]
        ]
        positives = [s for s in statuses if s.endswith("positive")]
        phenotype = "; ".join(positives) if positives else "; ".join(statuses)
        functions = statuses
    elif gene.startswith("HLA-") and phenotype:
        # Allele-status results such as "*57:01 positive" (Outside-Call-Format.md example).
        parts = [p.strip().removeprefix(gene).strip() for p in phenotype.split(";")]
        phenotype = "; ".join(p for p in parts if p)
        functions = [f"{gene}{p}" for p in parts if p]
    elif alleles and (table is not None or gene in {"G6PD", "RYR1"}):
        expected = phenotype_for(kb, gene, alleles)
        functions = expected.functions
        expected_pheno, expected_score = expected.phenotype, expected.activity_score
        caveats += [Caveat(code="phenotype_note", message=n) for n in expected.notes]
    if gene not in ACTIVITY_SCORE_GENES:
        if phenotype and expected_pheno and phenotype != expected_pheno:
            warn(
                f"outside phenotype {phenotype!r} differs from the expected {expected_pheno!r} "
                f"for {diplotype}; the supplied phenotype is used"
            )
        final = phenotype or expected_pheno
        return [
            DiplotypeCall(
                diplotype=diplotype, phenotype=final, allele_functions=functions, lookup_key=final
            )
        ], caveats
    scores = score_table(kb, gene)
    if call.activity_score:
        score = _cpic_score(call.activity_score, scores)
        if score is None:
            caveats.append(
                Caveat(
                    code="outside_call_unrecognised",
                    message=f"{call.where}: {gene} activity score {call.activity_score!r} is not "
                    f"one CPIC assigns ({', '.join(scores)}); this line gives no result",
                )
            )
            return [], caveats
        from_score = scores[score]
        if phenotype and phenotype != from_score:
            warn(
                f"outside phenotype {phenotype!r} differs from {from_score!r}, CPIC's phenotype "
                f"for activity score {score}; the activity score is used"
            )
        if diplotype and expected_score and not _same_score(score, expected_score):
            warn(
                f"outside activity score {score} differs from the expected {expected_score} "
                f"for {diplotype}; the supplied score is used"
            )
        return [
            DiplotypeCall(
                diplotype=diplotype,
                phenotype=from_score,
                activity_score=score,
                allele_functions=functions,
                lookup_key=score,
            )
        ], caveats
    if phenotype:
        matching = sorted(
            (s for s, p in scores.items() if p == phenotype),
            key=lambda s: (s.startswith("≥"), Decimal(s.removeprefix("≥"))),
        )
        if diplotype and expected_pheno and phenotype != expected_pheno:
            warn(
                f"outside phenotype {phenotype!r} differs from the expected {expected_pheno!r} "
                f"for {diplotype}; the supplied phenotype is used"
            )
        if diplotype and expected_score and expected_score in matching:
            matching = [expected_score]
        if len(matching) > 1:
            caveats.append(
                Caveat(
                    code="outside_call_score_range",
                    kind=CaveatKind.AMBIGUITY,
                    message=f"{call.where}: {gene} {phenotype} without an activity score covers "
                    f"CPIC activity scores {', '.join(matching)}; recommendations are given "
                    "for each",
                )
            )
        return [
            DiplotypeCall(
                diplotype=diplotype,
                phenotype=phenotype,
                activity_score=s,
                allele_functions=functions,
                lookup_key=s,
            )
            for s in matching
        ] or [
            DiplotypeCall(diplotype=diplotype, phenotype=phenotype, lookup_key=phenotype)
        ], caveats
    return [
        DiplotypeCall(
            diplotype=diplotype,
            phenotype=expected_pheno,
            activity_score=expected_score,
            allele_functions=functions,
            lookup_key=expected_score or expected_pheno,
        )
    ], caveats


def outside_gene_call(kb: KnowledgeBase, calls: OutsideCall | Sequence[OutsideCall]) -> GeneCall:
    """One gene's result from its outside-call line(s); several lines are an ambiguous call."""
    lines = [calls] if isinstance(calls, OutsideCall) else list(calls)
    gene = lines[0].gene
    where = ", ".join(c.where for c in lines)
    caveats = [
        Caveat(
            code="outside_call",
            kind=CaveatKind.NOTE,
            message=f"{gene} result supplied as an outside call ({where}); it overrides any VCF "
            "data for this gene",
        )
    ]
    candidates: list[DiplotypeCall] = []
    check_outside_calls(kb, lines)
    for c in lines:
        found, notes = _candidates(kb, c)
        caveats += notes
        candidates += found
    if len(lines) > 1:
        shown = "; ".join(
            " ".join(x for x in (c.diplotype, c.phenotype, c.activity_score) if x) for c in lines
        )
        caveats.append(
            Caveat(
                code="outside_call_ambiguous",
                kind=CaveatKind.AMBIGUITY,
                message=f"{gene} is given {len(lines)} times in the outside calls ({where}): "
                f"{shown}. All are reported as possible results and each gets its "
                "recommendations; none is chosen",
            )
        )
    if gene == "CYP2D6":
        caveats.append(
            Caveat(
                code="cyp2d6_outside",
                kind=CaveatKind.NOTE,
                message="CYP2D6 from an outside caller: copy number and hybrid alleles are as "
                "reliable as that caller's structural-variant detection",
            )
        )
    summary = summarise(candidates)
    return GeneCall(
        gene=gene,
        called=bool(candidates),
        diplotypes=list(dict.fromkeys(c.diplotype for c in candidates if c.diplotype)),
        diplotype_probabilities=None,
        diplotype_calls=candidates
        if len({(c.diplotype, c.phenotype, c.activity_score) for c in candidates}) > 1
        else [],
        phenotype=summary.phenotype,
        activity_score=summary.activity_score if gene in ACTIVITY_SCORE_GENES else None,
        allele_functions=summary.functions,
        lookup_key=summary.lookup_key,
        source="outside",
        positions=PositionSummary(total=0, found=0),
        caveats=caveats,
    )
