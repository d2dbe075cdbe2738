"""HL7 FHIR Genomics Operations on a patient's pharmacogenomic results, as ``Parameters``.

``$find-subject-haplotypes`` and ``$find-subject-tx-implications`` of the Genomics Reporting IG
3.0.0 (OperationDefinition-find-subject-haplotypes / -find-subject-tx-implications, shared
data/interop/genomics-reporting-3.0.0/conformance), answered in the shape of the HL7 reference
server (github.com/FHIR/genomics-operations, Apache-2.0; Dolin et al., JAMIA 2023, doi
10.1093/jamia/ocac246; shared research/interop.md §1.2):

- ``$find-subject-haplotypes``: one ``haplotypes`` parameter per gene, with the parts
  ``geneItem`` (valueString: the gene as it was asked, else its symbol) and ``genotype`` (the
  Genotype Observation, LOINC 84413-4, one per called genotype of that gene); a gene asked but
  not called has ``geneItem`` only (the OperationDefinition: "one for each gene in geneList").
  The IG example Parameters-FindSubjectHaplotypesOutput has the same shape.
- ``$find-subject-tx-implications``: one ``implications`` parameter per therapeutic
  implication, with the parts ``implication`` (the TherapeuticImplication Observation) and
  ``genotype`` (each Genotype its ``derivedFrom`` names). The OperationDefinition requires the
  targets of ``derivedFrom`` in the response; the reference server groups them with their
  implication, as here (the IG example Parameters-FindSubjectTxImplicationsOutput lists
  ``implication`` and ``variant`` side by side instead).
- Nothing found: a ``Parameters`` without ``parameter`` (FHIR JSON has no empty arrays).

The Observations are those of ``plan --format fhir`` (:func:`~.pgx.sample_resources`), with
references made relative (``Patient/<subject>``, ``Observation/<id>``): a Parameters resource
is not a Bundle, so the ``urn:uuid`` full URLs of the plan's Bundle would not resolve. The
implications are the genotype-based CPIC and DPWG recommendations of the current knowledge
base for every drug (or the drugs asked); an implication that rests on no called genotype (a
guideline's "No Result" row) is left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from precisionrx.engines.pgx.medications import resolve
from precisionrx.engines.pgx.outside import check_outside_call, outside_gene_call, outside_genes
from precisionrx.engines.pgx.recommender import prescribed
from precisionrx.errors import InputError, OutsideCallError
from precisionrx.io.outside_calls import OutsideCall
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import Medication, SampleResult
from precisionrx.records.evidence import Caveat, CaveatKind
from precisionrx.records.fhir_genomics import GENE_STUDIED, HGNC_SYMBOLS
from precisionrx.report.fhir.common import RXNORM, Resource, full_url
from precisionrx.report.fhir.pgx import patient_resource, sample_resources
from precisionrx.report.writers import json_text

#: Limits of one request's list parameters (values after splitting at commas).
MAX_VALUES = 100
MAX_LENGTH = 200
#: Parameters of the IG's OperationDefinitions that precisionrx does not implement: asked for,
#: they are refused (400, not-supported), never silently ignored.
UNSUPPORTED = {
    "find-subject-haplotypes": ("testIdentifiers", "testDateRange", "specimenIdentifiers"),
    "find-subject-tx-implications": ("variants", "ranges", "conditions", "testIdentifiers",
                                     "testDateRange", "specimenIdentifiers"),
}  # fmt: skip
#: Where a haplotypes= value comes from, in the caveats of the genes it gives.
HAPLOTYPES_SOURCE = "request parameter haplotypes"

_SUBJECT = re.compile(r"(?:Patient/)?([A-Za-z0-9\-.]{1,64})")
_SYMBOL = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)*")
_HAPLOTYPE = re.compile(
    r"(?P<gene>[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*)(?:[\s_]+|(?=\*))(?P<alleles>\S.*)"
)


class OperationInputError(InputError):
    """A parameter of a genomics operation that cannot be used (HTTP 400). ``issue`` is the
    OperationOutcome issue type: ``invalid``, ``required`` or ``not-supported``."""

    def __init__(self, message: str, *, parameter: str, issue: str = "invalid") -> None:
        self.issue = issue
        self.parameter = parameter
        super().__init__(message, record=parameter)


# --------------------------------------------------------------------------- parameters


def values_of(name: str, given: Iterable[str] | None) -> list[str]:
    """The values of a list parameter: repeated and/or comma-separated (FHIR search syntax),
    blank values dropped.

    >>> values_of("genes", ["CYP2C19, CYP2D6", "HLA-B"])
    ['CYP2C19', 'CYP2D6', 'HLA-B']
    """
    out = [v.strip() for raw in given or [] for v in raw.split(",") if v.strip()]
    if len(out) > MAX_VALUES:
        raise OperationInputError(f"at most {MAX_VALUES} values (got {len(out)})", parameter=name)
    for v in out:
        if len(v) > MAX_LENGTH or not v.isprintable():
            raise OperationInputError(
                f"value {v[:40]!r}... is longer than {MAX_LENGTH} characters or not printable"
                if len(v) > MAX_LENGTH
                else f"value {v!r} has characters that are not printable",
                parameter=name,
            )
    return out


def subject_id(value: str | None) -> str:
    """The patient id of ``subject`` (``ID`` or ``Patient/ID``, a FHIR id).

    >>> subject_id("Patient/4f2a"), subject_id("4f2a")
    ('4f2a', '4f2a')
    """
    if value is None or not value.strip():
        raise OperationInputError(
            "subject is required: the id of the patient (subject=ID)",
            parameter="subject",
            issue="required",
        )
    m = _SUBJECT.fullmatch(value.strip())
    if m is None:
        raise OperationInputError(
            f"{value[:80]!r} is not a patient id (letters, digits, '-' and '.', at most 64; "
            "or Patient/<id>)",
            parameter="subject",
        )
    return m.group(1)


def refuse_unsupported(operation: str, asked: Iterable[str]) -> None:
    """400 (not-supported) for a parameter of the IG that precisionrx does not implement."""
    names = sorted(set(asked) & set(UNSUPPORTED[operation]))
    if names:
        raise OperationInputError(
            f"{', '.join(names)}: not supported by precisionrx (supported: subject, "
            + (
                "genes, genomicSourceClass)"
                if operation == "find-subject-haplotypes"
                else "haplotypes, treatments, genomicSourceClass)"
            ),
            parameter=names[0],
            issue="not-supported",
        )


def germline_wanted(value: str | None) -> bool:
    """``genomicSourceClass``: the pharmacogenomic genotypes are germline, so ``somatic`` finds
    none (False) and ``germline`` or no value finds them all (True)."""
    if value is None or not value.strip() or value.strip().lower() == "germline":
        return True
    if value.strip().lower() == "somatic":
        return False
    raise OperationInputError(
        f"{value[:40]!r}: genomicSourceClass is 'germline' or 'somatic'",
        parameter="genomicSourceClass",
    )


def parse_genes(values: Sequence[str]) -> list[tuple[str, str]]:
    """``genes`` as (value as asked, gene symbol): a symbol (``CYP2C19``) or an HGNC coding
    (``http://www.genenames.org|HGNC:2621``; the ids of :data:`HGNC_SYMBOLS`).

    >>> parse_genes(["cyp2c19", "http://www.genenames.org|HGNC:2625"])
    [('cyp2c19', 'CYP2C19'), ('http://www.genenames.org|HGNC:2625', 'CYP2D6')]
    """
    out: list[tuple[str, str]] = []
    for v in values:
        symbol = v
        if "|" in v:
            system, code = (x.strip() for x in v.split("|", 1))
            if "genenames.org" not in system:
                raise OperationInputError(
                    f"{v!r}: genes are HGNC symbols or codes of http://www.genenames.org",
                    parameter="genes",
                )
            symbol = code
            if code.upper().startswith("HGNC:"):
                known = HGNC_SYMBOLS.get(code.upper())
                if known is None:
                    raise OperationInputError(
                        f"{v!r}: HGNC id {code} is not one precisionrx knows; give the gene "
                        "symbol (genes=CYP2C19)",
                        parameter="genes",
                    )
                symbol = known
        if not _SYMBOL.fullmatch(symbol):
            raise OperationInputError(f"{v!r} is not a gene symbol", parameter="genes")
        out.append((v, symbol.upper()))
    return out


def parse_haplotypes(kb: KnowledgeBase, values: Sequence[str]) -> list[OutsideCall]:
    """``haplotypes`` as outside calls: ``GENE *a/*b`` (``CYP2C19 *2/*2``, ``CYP2C19*1/*17``,
    ``HLA-B*57:01``, a PharmVar-style ``CYP2D6_*1/*4``), optionally as ``system|code``; one
    value per gene. Every allele is checked against the knowledge base (an unknown gene or
    allele is a 400 naming the value, with the nearest names)."""
    genes = outside_genes(kb)
    calls: list[OutsideCall] = []
    for n, v in enumerate(values, start=1):
        code = v.split("|", 1)[1].strip() if "|" in v else v
        m = _HAPLOTYPE.fullmatch(code)
        if m is None:
            raise OperationInputError(
                f"{v!r} is not a gene and its diplotype: write GENE *a/*b (e.g. "
                "'CYP2C19 *1/*2' or 'HLA-B *57:01/*58:01')",
                parameter="haplotypes",
            )
        gene = m.group("gene")
        sides = [
            s.strip().removeprefix(gene).lstrip("_").strip() for s in m.group("alleles").split("/")
        ]
        if any(c.gene == gene for c in calls):
            raise OperationInputError(
                f"{gene} is given more than once; give one diplotype per gene",
                parameter="haplotypes",
            )
        call = OutsideCall(gene, "/".join(sides), None, None, n, HAPLOTYPES_SOURCE)
        try:
            check_outside_call(kb, call, genes)
        except OutsideCallError as exc:
            raise OperationInputError(f"{v!r}: {exc.message}", parameter="haplotypes") from exc
        calls.append(call)
    return calls


def parse_treatments(kb: KnowledgeBase, values: Sequence[str]) -> list[str]:
    """``treatments`` as guideline drug names: RxNorm codes
    (``http://www.nlm.nih.gov/research/umls/rxnorm|32968``, or the bare code) through the
    knowledge base's RxNorm map, and names (``clopidogrel``, brand names) as a medication list
    resolves them. A treatment without pharmacogenomic guidance gives no drug (and so no
    implication); a code system other than RxNorm is a 400.

    >>> from precisionrx.kb.registry import KnowledgeBase
    >>> parse_treatments(KnowledgeBase(), [f"{RXNORM}|32968", "Plavix", "amlodipine"])
    ['clopidogrel']
    """
    pkb = kb.prescribing
    drugs: list[str] = []
    for v in values:
        if "|" in v:
            system, code = (x.strip() for x in v.split("|", 1))
            if system.rstrip("/") != RXNORM:
                raise OperationInputError(
                    f"{v!r}: treatments are RxNorm codes ({RXNORM}|CODE) or drug names",
                    parameter="treatments",
                )
            drug = pkb.rxnorm_to_drug.get(code)
        else:
            drug = resolve(Medication(name=v), pkb).drug
        if drug and drug not in drugs:
            drugs.append(drug)
    return drugs


# --------------------------------------------------------------------------- results


def given_genotypes(kb: KnowledgeBase, calls: Sequence[OutsideCall], sample: str) -> SampleResult:
    """The engine's reading of the diplotypes a request states (one gene call each, as for
    outside calls; plan/record_genotypes.py does the same for a record's outside calls)."""
    provenance = kb.provenance(["pharmcat", "guidelines", "interactions"], None, {})
    genes = []
    for c in calls:
        found = outside_gene_call(kb, c)
        given = Caveat(code="outside_call", kind=CaveatKind.NOTE,
                       message=f"{c.gene} {c.diplotype} as the request gave it (haplotypes=), "
                       "interpreted by precisionrx; not a stored result")  # fmt: skip
        caveats = [given if x.code == "outside_call" else x for x in found.caveats]
        genes.append(found.model_copy(update={"caveats": caveats}))
    return SampleResult(input=HAPLOTYPES_SOURCE, sample=sample, genes=genes, provenance=provenance)


def genotypes_only(result: SampleResult) -> SampleResult:
    """A sample's gene calls without the prescribing fields of the plan they came from."""
    return SampleResult(input=result.input, sample=result.sample, genome_build=result.genome_build,
                        genes=result.genes, provenance=result.provenance)  # fmt: skip


def with_implications(
    kb: KnowledgeBase, result: SampleResult, drugs: list[str] | None
) -> SampleResult:
    """The sample's genotype-based recommendations: for every drug of the knowledge base
    (``drugs`` None) or for ``drugs`` (empty: none). No medication list, so no
    phenoconversion: these are the genetic implications."""
    base = genotypes_only(result)
    if drugs is not None and not drugs:
        return base.model_copy(update={"recommendations": []})
    return prescribed(kb, base, None, drugs)


def _relative(node: Any, refs: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {k: _relative(v, refs) for k, v in node.items()}
        ref = out.get("reference")
        if isinstance(ref, str) and ref in refs:
            out["reference"] = refs[ref]
        return out
    if isinstance(node, list):
        return [_relative(v, refs) for v in node]
    return node


def _profile(resource: Resource) -> str:
    profiles = (resource.get("meta") or {}).get("profile") or [""]
    return str(profiles[0]).rsplit("/", 1)[-1]


def observations(
    kb: KnowledgeBase, results: Iterable[SampleResult], subject: str, issued: str
) -> list[Resource]:
    """The Genotype and TherapeuticImplication Observations of the samples (as in the plan's
    Bundle), about ``Patient/<subject>``, references relative."""
    out: list[Resource] = []
    for result in results:
        patient = patient_resource(result.sample)
        made = sample_resources(kb, result, issued, patient)
        refs = {full_url(r): f"{r['resourceType']}/{r['id']}" for r in made}
        refs[full_url(patient)] = f"Patient/{subject}"
        out += [_relative(r, refs) for r in made if r["resourceType"] == "Observation"]
    return out


def _gene_of(genotype: Resource) -> str:
    for comp in genotype.get("component") or []:
        if any(c.get("code") == GENE_STUDIED for c in comp["code"]["coding"]):
            return str(comp["valueCodeableConcept"]["text"])
    return ""


def _parameters(parameter: list[dict[str, Any]]) -> Resource:
    out: Resource = {"resourceType": "Parameters"}
    if parameter:
        out["parameter"] = parameter
    return out


def find_subject_haplotypes(
    kb: KnowledgeBase,
    results: Sequence[SampleResult],
    subject: str,
    issued: str,
    genes: list[tuple[str, str]] | None = None,
) -> Resource:
    """``$find-subject-haplotypes``: the called genotypes of ``genes`` ((as asked, symbol);
    None: every called gene, in the order of the results) as ``Parameters``."""
    genotypes = [
        r
        for r in observations(kb, (genotypes_only(s) for s in results), subject, issued)
        if _profile(r) == "genotype"
    ]
    if genes is None:
        genes = [(g, g) for g in dict.fromkeys(_gene_of(r) for r in genotypes)]
    parameter = []
    for asked, symbol in genes:
        parts: list[dict[str, Any]] = [{"name": "geneItem", "valueString": asked}]
        parts += [{"name": "genotype", "resource": r} for r in genotypes
                  if _gene_of(r).upper() == symbol]  # fmt: skip
        parameter.append({"name": "haplotypes", "part": parts})
    return _parameters(parameter)


def find_subject_tx_implications(
    kb: KnowledgeBase,
    results: Sequence[SampleResult],
    subject: str,
    issued: str,
    drugs: list[str] | None = None,
) -> Resource:
    """``$find-subject-tx-implications``: every implication of the samples' genotypes (for
    ``drugs`` only when given) with the genotypes it derives from, as ``Parameters``."""
    found = observations(kb, (with_implications(kb, s, drugs) for s in results), subject, issued)
    genotypes = {f"Observation/{r['id']}": r for r in found if _profile(r) == "genotype"}
    parameter = []
    for implication in (r for r in found if _profile(r) == "therapeutic-implication"):
        linked = [genotypes[d["reference"]] for d in implication.get("derivedFrom") or []
                  if d.get("reference") in genotypes]  # fmt: skip
        if not linked:
            continue
        parts: list[dict[str, Any]] = [{"name": "implication", "resource": implication}]
        parts += [{"name": "genotype", "resource": g} for g in linked]
        parameter.append({"name": "implications", "part": parts})
    return _parameters(parameter)


def operation_outcome(message: str, issue: str = "invalid") -> Resource:
    """An OperationOutcome with one error (``issue``: a FHIR IssueType code)."""
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": issue, "diagnostics": message}]}  # fmt: skip


def fhir_text(resource: Resource) -> str:
    """Strict JSON (no NaN or Infinity) of a resource."""
    return json_text(resource, indent=None)
