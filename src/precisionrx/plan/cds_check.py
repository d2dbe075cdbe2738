"""The prescribing check behind the CDS Hooks services (docs/cds-hooks.md).

Genotypes come either from FHIR Genomics Reporting Observations (the hook's prefetch, or
fetched from the client's FHIR server) or from a stored plan's PGx result; the medications are
the hook's draft orders and the patient's current medications. The check is
:func:`~precisionrx.engines.pgx.recommender.prescribed` with all of them listed, so a current
medication that inhibits an enzyme converts the phenotype used for a draft drug (codeine
ordered for a CYP2D6 normal metaboliser who takes paroxetine is checked as a poor metaboliser).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from precisionrx.engines.pgx.medications import resolve
from precisionrx.engines.pgx.outside import outside_gene_call
from precisionrx.engines.pgx.recommender import prescribed
from precisionrx.errors import FhirValidationError
from precisionrx.io.cds_orders import OrderedMedication
from precisionrx.io.fhir_genomics import genomics_from_data
from precisionrx.io.outside_calls import by_gene
from precisionrx.kb.ddi import load_ddi
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.plan.fhir_genomics_compare import import_outside_calls
from precisionrx.records import SampleResult
from precisionrx.records.patient import Medication


@dataclass(frozen=True)
class FhirGenotypes:
    """Genotypes read from FHIR values: the result (None when there were none) and notes."""

    result: SampleResult | None
    notes: tuple[str, ...] = ()


def fhir_genotypes(
    kb: KnowledgeBase, values: Sequence[tuple[Any, str]], patient: str
) -> FhirGenotypes:
    """Genotype, HLA and phenotype-only results of the given FHIR values (Bundles, lists or
    single resources, each with where it came from) as one PGx result.

    Raises FhirValidationError when a result is about someone other than ``patient``, the
    results are about several people, or they contradict each other (an HLA allele both present
    and absent)."""
    read = genomics_from_data(values, validate=False).result
    others = [s for s in read.subjects if not _same_patient(s, patient)]
    if others:
        raise FhirValidationError(
            f"genomic results about {', '.join(others)}, not Patient/{patient}", path="prefetch"
        )
    calls = import_outside_calls(read, kb, "prefetch", phenotypes=True)
    if not calls:
        return FhirGenotypes(None, read.warnings)
    genes = [outside_gene_call(kb, lines) for lines in by_gene(calls).values()]
    provenance = kb.provenance(["pharmcat", "guidelines", "interactions"], None, {})
    result = SampleResult(input="FHIR Genomics Reporting results", sample=patient, genes=genes,
                          provenance=provenance)  # fmt: skip
    return FhirGenotypes(result, read.warnings)


def _same_patient(subject: str, patient: str) -> bool:
    """Whether a result's subject reference names the hook's patient (relative or absolute)."""
    return subject == f"Patient/{patient}" or subject.endswith(f"/Patient/{patient}")


def medication(order: OrderedMedication) -> Medication:
    return Medication(name=order.name or order.rxnorm or "", rxnorm=order.rxnorm)


def order_drug(kb: KnowledgeBase, order: OrderedMedication) -> str | None:
    """The guideline drug an order is for (ingredient), or None when the knowledge base has
    no PGx guideline for it (or cannot tell what it is)."""
    found = resolve(medication(order), kb.prescribing).drug
    return found if found in kb.prescribing.drugs else None


def _vocabulary(kb: KnowledgeBase) -> dict[int, frozenset[str]]:
    """Drug names an alternative may be (guideline drugs, enzyme modulators, interaction class
    members), by their number of words."""

    def build() -> dict[int, frozenset[str]]:
        names = set(kb.prescribing.drugs) | {m.drug for m in kb.prescribing.modulators}
        names |= {m.name for members in load_ddi(kb).classes.values() for m in members}
        by_length: dict[int, set[str]] = {}
        for n in names:
            words = n.lower().split()
            if len(n) > 3 and words:
                by_length.setdefault(len(words), set()).add(" ".join(words))
        return {k: frozenset(v) for k, v in by_length.items()}

    found: dict[int, frozenset[str]] = kb.memo(("cds", "alternative names"), build)
    return found


#: A word of a drug name: letters, digits and inner hyphens ("5-fluorouracil", "alfa-2a");
#: a name prefixed "non-" ("a non-tramadol opioid") is the opposite of naming the drug.
_WORD = re.compile(r"(?<![\w-])(?!non-)[a-z0-9]+(?:-[a-z0-9]+)*")


def _mentions(kb: KnowledgeBase, text: str) -> list[str]:
    """Vocabulary names in ``text``, in order of first mention (longest name at a position)."""
    vocab = _vocabulary(kb)
    words = [m.group(0) for m in _WORD.finditer(text.lower())]
    found: list[str] = []
    for i in range(len(words)):
        for size in sorted(vocab, reverse=True):
            name = " ".join(words[i : i + size])
            if name in vocab[size]:
                found.append(name)
                break
    return list(dict.fromkeys(found))


#: Interaction-table classes that are therapeutic groups (drugs one could be swapped for
#: another); the other classes group enzyme inhibitors, inducers or risk properties.
THERAPEUTIC_CLASSES = frozenset(
    {"antiplatelets", "opioids", "onc_narcotic_analgesics", "onc_ssri_snri", "onc_tca",
     "benzodiazepines", "nsaids", "ace_inhibitors", "arbs", "onc_ppi", "thiazide_diuretics",
     "onc_triptans", "fluoropyrimidines", "thiopurines"}
)  # fmt: skip
#: WHO INN stems that name a therapeutic group ("-vastatin": HMG-CoA reductase inhibitors;
#: WHO, The use of stems in the selection of INN, 2018), for groups the tables lack.
INN_STEMS = ("vastatin",)


def _groups(kb: KnowledgeBase, drug: str) -> frozenset[str]:
    def build() -> dict[str, frozenset[str]]:
        out: dict[str, set[str]] = {}
        for name, members in load_ddi(kb).classes.items():
            if name in THERAPEUTIC_CLASSES:
                for m in members:
                    out.setdefault(m.name.lower(), set()).add(name)
        return {k: frozenset(v) for k, v in out.items()}

    table: dict[str, frozenset[str]] = kb.memo(("cds", "therapeutic groups"), build)
    stems = {f"stem:{s}" for s in INN_STEMS if drug.endswith(s)}
    return table.get(drug, frozenset()) | stems


def named_alternatives(kb: KnowledgeBase, drug: str, texts: Iterable[str]) -> list[str]:
    """Drugs of the same therapeutic group as ``drug`` (:data:`THERAPEUTIC_CLASSES`,
    :data:`INN_STEMS`) named in recommendation texts, in order of first mention. A drug of
    another group named in the text (an interacting drug, say) is never an alternative."""
    groups = _groups(kb, drug)
    if not groups:
        return []
    names = _mentions(kb, "\n".join(texts))
    return [n for n in names if n != drug and _groups(kb, n) & groups]


def check(
    kb: KnowledgeBase,
    genotypes: SampleResult,
    orders: Sequence[OrderedMedication],
    current: Sequence[OrderedMedication],
    extra_drugs: Sequence[str] = (),
) -> SampleResult:
    """``genotypes`` with recommendations for the ordered drugs (and ``extra_drugs``, e.g.
    alternatives to check), every current medication and order counted as co-medication."""
    meds = [medication(o) for o in [*current, *orders] if o.name or o.rxnorm]
    drugs = sorted({d for o in orders if (d := order_drug(kb, o))} | set(extra_drugs))
    return prescribed(kb, genotypes, meds, drugs)


def warm(kb: KnowledgeBase) -> None:
    """Load everything the CDS check reads (guidelines, phenotype tables of every gene,
    interaction classes, the alternative-name pattern) so that the first orders do not pay for
    it, and so that the caller can move it out of the garbage collector's reach."""
    from precisionrx.engines.pgx.outside import outside_genes
    from precisionrx.errors import PrecisionRxError
    from precisionrx.io.outside_calls import OutsideCall

    calls: list[OutsideCall] = []
    for gene in sorted(outside_genes(kb)):
        try:
            ref = kb.definition(gene).reference_allele.name
        except PrecisionRxError:
            continue
        calls.append(OutsideCall(gene, f"{ref}/{ref}", None, None, len(calls) + 1, "warm-up"))
    genes = []
    for lines in by_gene(calls).values():
        try:
            genes.append(outside_gene_call(kb, lines))
        except PrecisionRxError:
            continue
    sample = SampleResult(input="warm-up", sample="warm-up", genes=genes)
    prescribed(kb, sample, [Medication(name="paroxetine")], sorted(kb.prescribing.drugs))
    _vocabulary(kb)
    _groups(kb, "clopidogrel")
