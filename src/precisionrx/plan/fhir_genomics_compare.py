"""A lab's FHIR Genomics Reporting results next to the engine's own interpretation, and as
outside calls of the patient record (docs/fhir.md).

- :func:`compare_with_engine`: for each imported genotype the engine's CPIC phenotype
  (:func:`~precisionrx.engines.pgx.outside.outside_gene_call`, as for an outside call), set
  beside every source implication of that gene. Wording is normalised before comparing
  ("CYP2C19 Poor Metabolizer" = "Poor metabolizer"). HLA genes are compared per drug: the
  source's "High risk" ("Positive") or "Low risk" ("Negative") against whether the
  guideline's risk alleles for that drug are carried. A diplotype the engine cannot interpret
  (an allele not in the knowledge base) gives ``engine_phenotype`` null, ``agree`` false and a
  warning. With ``strict``, the stated genotypes are also checked against the variants they
  rest on (PharmCAT allele definitions, matched by dbSNP id) and each implication's drug
  against the genes of its CPIC/DPWG guidelines.
- :func:`fhir_outside_calls`: the genotypes and HLA results of a ``fhir_bundle`` genomic input
  as outside calls, one per genotype (HLA: a genotype, else the alleles' presence as
  ``*15:02 positive; *57:01 negative``), naming the file and resource. Genes that the knowledge
  base has no calls or guidelines for (APOE, HLA-C ...) are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from precisionrx.engines.pgx.outside import (
    normalise_allele,
    normalise_phenotype,
    outside_gene_call,
    outside_genes,
)
from precisionrx.errors import FhirValidationError, KnowledgeBaseError, OutsideCallError
from precisionrx.io.fhir_genomics import read_fhir_genomics
from precisionrx.io.outside_calls import OutsideCall
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import GeneCall
from precisionrx.records.fhir_genomics import (
    EngineComparison,
    FhirGenomicsImport,
    GenomicsRead,
    GenotypeEvidence,
    ImportedHla,
    ImportedImplication,
)

#: Source wordings of an HLA result: True = risk allele carried, False = not carried.
HLA_RISK_WORDS = {"high risk": True, "positive": True, "present": True, "low risk": False,
                  "negative": False, "absent": False}  # fmt: skip


def import_fhir_genomics(
    paths: Iterable[str | Path], kb: KnowledgeBase, strict: bool = False
) -> FhirGenomicsImport:
    """``precisionrx fhir import``: read the files and compare with the engine."""
    return compare_with_engine(read_fhir_genomics(paths, strict), kb, strict)


def _engine_call(kb: KnowledgeBase, call: OutsideCall) -> tuple[GeneCall | None, str | None]:
    where = call.source
    if call.gene not in outside_genes(kb):
        return (
            None,
            f"{where}: {call.gene} is not a gene of the knowledge base; no engine phenotype",
        )
    try:
        result = outside_gene_call(kb, call)
    except (OutsideCallError, KnowledgeBaseError) as exc:
        return None, f"{where}: {exc.message}; no engine phenotype"
    if not result.phenotype:
        return None, f"{where}: the engine gives no phenotype for {call.gene} {call.diplotype}"
    return result, None


def hla_call(gene: str, entries: list[ImportedHla], source: str, line: int) -> OutsideCall | None:
    """One outside call from a gene's HLA results: its genotype, else the presence of each
    allele reported (``*15:02 positive``); None when a genotype is stated more than once or an
    allele is reported both present and absent (never a guess)."""
    typed = [h for h in entries if h.genotype]
    if len(typed) == 1:
        return OutsideCall(gene, typed[0].genotype, None, None, line, source)
    if typed:
        return None
    status: dict[str, bool] = {}
    for h in entries:
        if h.allele is None or h.present is None:
            continue
        allele = normalise_allele(gene, h.allele)
        if status.get(allele, h.present) != h.present:
            return None
        status[allele] = h.present
    if not status:
        return None
    text = "; ".join(f"{a} {'positive' if p else 'negative'}" for a, p in status.items())
    return OutsideCall(gene, None, text, None, line, source)


def _by_gene(hla: Iterable[ImportedHla]) -> dict[str, list[ImportedHla]]:
    out: dict[str, list[ImportedHla]] = {}
    for h in hla:
        out.setdefault(h.gene, []).append(h)
    return out


def _risk_alleles(kb: KnowledgeBase, drug: str, gene: str) -> set[str]:
    """Alleles whose carriage a CPIC/DPWG guideline for ``drug`` keys on (``*15:02``)."""
    out: set[str] = set()
    for g in kb.prescribing.guidelines:
        if drug.casefold() not in {d.casefold() for d in g.drugs} or gene not in g.genes:
            continue
        for rec in g.recommendations:
            key = rec.lookup.get(gene)
            if isinstance(key, str) and key.endswith((" positive", " negative")):
                out.add(key.rsplit(" ", 1)[0])
    return out


def _hla_row(
    kb: KnowledgeBase, imp: ImportedImplication, gene: str, call: GeneCall
) -> EngineComparison:
    statuses = list(call.allele_functions)
    risky = _risk_alleles(kb, imp.drug, gene) if imp.drug else set()
    relevant = [s for s in statuses if s.removeprefix(gene).rsplit(" ", 1)[0] in risky]
    engine = "; ".join(relevant) if relevant else call.phenotype
    expected = HLA_RISK_WORDS.get((imp.phenotype or "").strip().casefold())
    agree = False
    if expected is not None and relevant:
        agree = expected == any(s.endswith(" positive") for s in relevant)
    return EngineComparison(drug=imp.drug, gene=gene, source_phenotype=imp.phenotype,
                            engine_phenotype=engine, agree=agree)  # fmt: skip


def _same(gene: str, source: str | None, engine: str | None) -> bool:
    if not source or not engine:
        return False
    return (
        normalise_phenotype(gene, source).casefold() == normalise_phenotype(gene, engine).casefold()
    )


def _gene_drug_warning(kb: KnowledgeBase, imp: ImportedImplication) -> str | None:
    if not imp.drug or not imp.gene:
        return None
    genes = sorted({
        g for gl in kb.prescribing.guidelines
        if imp.drug.casefold() in {d.casefold() for d in gl.drugs} for g in gl.genes
    })  # fmt: skip
    if genes and imp.gene not in genes:
        return (f"{imp.source}: {imp.drug} with {imp.gene}, but the CPIC/DPWG guidelines for "
                f"{imp.drug} name {', '.join(genes)}")  # fmt: skip
    return None


def check_variants(kb: KnowledgeBase, ev: GenotypeEvidence) -> list[str]:
    """Conservative checks of a stated diplotype against the variants it rests on, by dbSNP
    id on the PharmCAT allele definitions: a defining variant reported absent; no listed
    variant defining a stated allele; a variant both alleles need reported heterozygous."""
    try:
        definition = kb.definition(ev.gene)
    except (KnowledgeBaseError, LookupError, OSError):
        return []
    index = {p.rsid: i for i, p in enumerate(definition.positions) if p.rsid}
    reported = [(v, index[v.rsid]) for v in ev.variants if v.rsid in index]
    if not reported:
        return []
    table = kb.phenotypes(ev.gene)
    known = frozenset(table.functions) if table is not None else frozenset()
    ref = definition.reference_allele
    named = {a.name: a for a in definition.alleles}
    alleles = [normalise_allele(ev.gene, a, known) for a in ev.diplotype.split("/")]
    needs: dict[str, set[int]] = {}
    for name in alleles:
        allele = named.get(name)
        if allele is None or allele.reference:
            continue
        needs[name] = {
            i
            for i, d in enumerate(allele.defined)
            if d is not None
            and ref.defined[i] is not None
            and ref.defined[i] not in allele.accepts[i]
        }
    out: list[str] = []
    head = f"{ev.source}: {ev.gene} {ev.diplotype}"
    for name, positions in needs.items():
        absent = [
            definition.positions[i].label for v, i in reported if i in positions and not v.present
        ]
        if absent:
            out.append(f"{head}: {name} needs {', '.join(absent)}, reported absent")
        elif not any(v.present and i in positions for v, i in reported):
            out.append(f"{head}: none of the listed variants defines {name}")
    if len(alleles) == 2 and all(a in needs for a in alleles):
        both = needs[alleles[0]] & needs[alleles[1]]
        het = [definition.positions[i].label for v, i in reported
               if i in both and v.present and v.zygosity == "het"]  # fmt: skip
        if het:
            out.append(f"{head} needs {', '.join(het)} on both chromosomes, reported "
                       "heterozygous")  # fmt: skip
    return out


def compare_with_engine(
    read: GenomicsRead, kb: KnowledgeBase, strict: bool = False
) -> FhirGenomicsImport:
    """The import with ``engine_comparison`` filled (and its warnings added)."""
    result = read.result
    warnings = list(result.warnings)
    # Genes the knowledge base knows are always run (an allele it cannot read would also stop
    # the plan); other genes only when an implication asks for a comparison.
    wanted = outside_genes(kb) | {i.gene for i in result.implications if i.gene}
    calls: dict[str, list[tuple[str, GeneCall | None]]] = {}
    for n, g in enumerate(result.genotypes, start=1):
        if g.gene not in wanted:
            continue
        call, problem = _engine_call(kb, OutsideCall(g.gene, g.diplotype, None, None, n, g.source))
        if problem:
            warnings.append(problem)
        calls.setdefault(g.gene, []).append((g.source, call))
    for n, (gene, entries) in enumerate(_by_gene(result.hla).items(), start=1):
        hla = hla_call(gene, entries, ", ".join(h.source for h in entries), n)
        if hla is not None and gene in wanted:
            call, problem = _engine_call(kb, hla)
            if problem:
                warnings.append(problem)
            calls.setdefault(gene, []).append((hla.source, call))
    rows: list[EngineComparison] = []
    for imp in result.implications:
        if strict and (w := _gene_drug_warning(kb, imp)):
            warnings.append(w)
        if imp.gene is None:
            continue
        for _, call in calls.get(imp.gene, []):
            if call is not None and imp.gene.startswith("HLA-"):
                rows.append(_hla_row(kb, imp, imp.gene, call))
                continue
            engine = call.phenotype if call is not None else None
            rows.append(EngineComparison(drug=imp.drug, gene=imp.gene,
                                         source_phenotype=imp.phenotype, engine_phenotype=engine,
                                         agree=_same(imp.gene, imp.phenotype, engine)))  # fmt: skip
    if strict:
        for ev in read.evidence:
            warnings += check_variants(kb, ev)
    return result.model_copy(
        update={"engine_comparison": tuple(rows), "warnings": tuple(dict.fromkeys(warnings))}
    )


def fhir_outside_calls(path: str | Path, kb: KnowledgeBase) -> list[OutsideCall]:
    """The outside calls of one ``fhir_bundle`` genomic input (see the module docstring);
    FhirValidationError when the file holds results about more than one person."""
    return import_outside_calls(read_fhir_genomics([path]).result, kb, str(path))


def import_outside_calls(
    result: FhirGenomicsImport,
    kb: KnowledgeBase,
    where: str,
    *,
    phenotypes: bool = False,
) -> list[OutsideCall]:
    """Outside calls from imported results, each naming ``where#resource``: one per genotype,
    and per HLA gene (see the module docstring). With ``phenotypes``, a gene that has no
    genotype but therapeutic implications that all state one phenotype gets a phenotype-only
    call (a lab that reports phenotypes, not diplotypes; used for CDS prefetch); differing
    phenotypes of one gene give no call (never a guess). FhirValidationError when the results
    are about more than one person, or an HLA allele is reported both present and absent."""
    if len(result.subjects) > 1:
        raise FhirValidationError(
            f"genomic results about {len(result.subjects)} subjects "
            f"({', '.join(result.subjects)}); a patient record takes one person's report",
            path=where,
        )
    genes = outside_genes(kb)
    calls: list[OutsideCall] = []
    for g in result.genotypes:
        if g.gene in genes:
            calls.append(
                OutsideCall(g.gene, g.diplotype, None, None, len(calls) + 1, f"{where}#{g.source}")
            )
    for gene, entries in _by_gene(result.hla).items():
        if gene not in genes:
            continue
        typed = [h for h in entries if h.genotype]
        sources = [f"{where}#{h.source}" for h in (typed or entries)]
        if len(typed) > 1:  # every stated genotype is a candidate (an ambiguous call)
            calls += [OutsideCall(gene, h.genotype, None, None, len(calls) + 1, s)
                      for h, s in zip(typed, sources, strict=True)]  # fmt: skip
            continue
        call = hla_call(gene, entries, sources[0] if typed else ", ".join(sources), len(calls) + 1)
        if call is None:
            raise FhirValidationError(
                f"{gene}: an allele is reported both present and absent; no result is taken",
                path=where,
                record=", ".join(h.source for h in entries),
            )
        calls.append(call)
    if phenotypes:
        called = {c.gene for c in calls}
        stated: dict[str, dict[str, str]] = {}  # gene -> normalised phenotype -> source
        for imp in result.implications:
            if imp.gene and imp.phenotype and imp.gene in genes and imp.gene not in called:
                key = normalise_phenotype(imp.gene, imp.phenotype)
                stated.setdefault(imp.gene, {}).setdefault(key, f"{where}#{imp.source}")
        for gene, found in stated.items():
            if len(found) == 1 and not gene.startswith("HLA-"):
                ((phenotype, source),) = found.items()
                calls.append(OutsideCall(gene, None, phenotype, None, len(calls) + 1, source))
    return calls
