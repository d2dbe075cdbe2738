"""HL7 FHIR Genomics Reporting IG 3.0.0 reader: a lab's genotypes, variants, therapeutic
implications, medication recommendations and HLA results (docs/fhir.md; the codes read are in
:mod:`precisionrx.records.fhir_genomics`). Files, Bundles and references: :mod:`.fhir_resources`.

Lenient per resource: what cannot be read becomes a warning naming the resource. Nothing is
invented: a genotype value that is not a diplotype, or whose gene cannot be told, is a warning
and no genotype; haplotypes are never combined into a diplotype.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from precisionrx.io.fhir_resources import (
    Entry,
    Resource,
    ResourceIndex,
    codes,
    codings,
    component_text,
    components,
    concept_text,
    index_values,
    load_fhir_file,
)
from precisionrx.records.fhir_genomics import (
    ALLELIC_STATE,
    DRUG_METABOLISM,
    GENE_STUDIED,
    GENOTYPE,
    HAPLOTYPE,
    HGNC_IDS,
    HGNC_SYMBOLS,
    HGVS_C,
    HGVS_G,
    HGVS_P,
    IMPLICATION_LA,
    MEDICATION_ASSESSED,
    NOT_PHENOTYPE,
    ORIGIN,
    PRESENCE_WORDS,
    PRESENT,
    RECOMMENDATION_DISPLAY,
    SOURCE_CLASS,
    THERAPEUTIC_IMPLICATION,
    VAF,
    VARIANT,
    VARIATION_CODE,
    ZYGOSITY,
    FhirGenomicsImport,
    GenomicsRead,
    GenotypeEvidence,
    ImportedGenotype,
    ImportedHla,
    ImportedImplication,
    ImportedRecommendation,
    ImportedVariant,
    Origin,
    VariantEvidence,
)

#: Types read with their R4 model before use (a resource that fails is a warning).
VALIDATED = frozenset({"Observation", "Task", "DiagnosticReport", "MedicationStatement",
                       "MedicationRequest", "Medication"})  # fmt: skip

_GENE_PREFIX = re.compile(r"^([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*)(?=\s*[*\s_]|$)")
_ALLELE = re.compile(r"^[*A-Za-z0-9][^\s/;,\[\]()]*$")
_HLA_ALLELE = re.compile(r"(HLA-[A-Z][A-Z0-9]*)\*(\d{2,3}(?::\d{2,3}){0,3}[A-Z]?)(?![\d:])")
_HLA_ONLY = re.compile(r"^(HLA-[A-Z][A-Z0-9]*)\*(\d{2,3}(?::\d{2,3}){0,3}[A-Z]?)$")
_RSID = re.compile(r"^rs\d+$")


def _has_code(res: Resource, code: str) -> bool:
    return code in codes(res.get("code"))


def _is_implication(res: Resource) -> bool:
    return any(
        c.get("code") == THERAPEUTIC_IMPLICATION
        and (not c.get("system") or "genomics-reporting" in str(c.get("system")))
        for c in codings(res.get("code"))
    )


def _gene_codings(res: Resource, strict: bool, warnings: list[str], key: str) -> list[str]:
    """Gene symbols of the 48018-6 components (display or text; an id of :data:`HGNC_IDS`
    without a display gives its symbol); ``strict`` checks ids against symbols."""
    genes: list[str] = []
    for comp in components(res, GENE_STUDIED):
        value = comp.get("valueCodeableConcept")
        symbol = None
        for c in codings(value):
            code, display = c.get("code"), c.get("display")
            if isinstance(display, str) and display.strip():
                symbol = display.strip()
            elif isinstance(code, str) and code in HGNC_SYMBOLS:
                symbol = HGNC_SYMBOLS[code]
            if strict and isinstance(code, str) and isinstance(display, str):
                _check_hgnc(code.strip(), display.strip(), key, warnings)
            if symbol:
                break
        if symbol is None and isinstance(value, dict) and isinstance(value.get("text"), str):
            symbol = value["text"].strip() or None
        if symbol and symbol not in genes:
            genes.append(symbol)
    return genes


def _check_hgnc(code: str, symbol: str, key: str, warnings: list[str]) -> None:
    """A gene-studied coding whose HGNC id and label disagree (ids of :data:`HGNC_IDS`)."""
    expected = HGNC_IDS.get(symbol)  # the id the label should have
    named = HGNC_SYMBOLS.get(code)  # the gene the id is
    if expected and expected != code:
        warnings.append(
            f"{key}: gene studied {code} is labelled {symbol}, whose HGNC id is {expected}"
        )
    elif named and named != symbol:
        warnings.append(f"{key}: gene studied {code} is {named}, not {symbol}")


def _strip_gene(part: str, gene: str | None) -> tuple[str | None, str]:
    """(gene prefix, allele) of one side of a diplotype: ``CYP2D6*4`` -> (CYP2D6, *4)."""
    text = part.strip()
    if gene and text.startswith(gene):
        return gene, text[len(gene) :].strip().lstrip("_").strip()
    m = _GENE_PREFIX.match(text)
    if m and (text[m.end() :].strip().startswith("*") or " " in text or "_" in text):
        return m.group(1), text[m.end() :].strip().lstrip("_").strip()
    return None, text


def parse_diplotype(text: str, gene: str | None = None) -> tuple[str | None, str] | None:
    """``(gene or None, diplotype)`` of a stated diplotype, or None when ``text`` is not two
    alleles separated by ``/``.

    >>> parse_diplotype("CYP2C19 *2/*2")
    ('CYP2C19', '*2/*2')
    >>> parse_diplotype("CYP2D6*7.001 / CYP2D6*1.001")
    ('CYP2D6', '*7.001/*1.001')
    >>> parse_diplotype("CYP2C19 *1/*2 (Intermediate Metabolizer)")
    ('CYP2C19', '*1/*2')
    >>> parse_diplotype("NM_022787.3(NMNAT1):c.[53A>G];[769G>A]") is None
    True
    """
    parts = re.sub(r"\s+\([^()]*\)\s*$", "", text).split("/")  # a trailing "(...)" remark
    if len(parts) != 2:
        return None
    g1, a1 = _strip_gene(parts[0], gene)
    g2, a2 = _strip_gene(parts[1], gene or g1)
    if g1 and g2 and g1 != g2:
        return None
    if not (_ALLELE.match(a1) and _ALLELE.match(a2)):
        return None
    return g1 or g2, f"{a1}/{a2}"


def _allele_name(text: str, gene: str | None) -> str:
    return _strip_gene(text, gene)[1] if gene else text.strip()


def _same_allele(a: str, b: str) -> bool:
    """Equal, or one a sub-allele of the other (``*7`` and ``*7.001``, ``*15:02`` and
    ``*15:02:01``)."""
    return (
        a == b
        or a.startswith(b + ".")
        or b.startswith(a + ".")
        or (a.startswith(b + ":") or b.startswith(a + ":"))
    )


def _subject(res: Resource, index: ResourceIndex) -> str | None:
    ref = res.get("subject") or res.get("for")
    hit = index.resolve(ref)
    if hit is not None:
        return hit.key
    text = ref.get("reference") if isinstance(ref, dict) else None
    if not isinstance(text, str) or text.startswith("urn:") or "/" not in text:
        return text if isinstance(text, str) else None
    return "/".join(text.split("/_history/")[0].rstrip("/").split("/")[-2:])


def _value_texts(res: Resource) -> list[str]:
    """The texts a value states, most readable first: codings' displays, the text, a
    valueString, then the codes (often identifiers such as ``PV00155``)."""
    value = res.get("valueCodeableConcept")
    texts = [
        *(c.get("display") for c in codings(value)),
        value.get("text") if isinstance(value, dict) else None,
        res.get("valueString"),
        *(c.get("code") for c in codings(value)),
    ]
    return list(dict.fromkeys(t.strip() for t in texts if isinstance(t, str) and t.strip()))


def _links(res: Resource) -> list[Any]:
    return [*(res.get("derivedFrom") or []), *(res.get("hasMember") or [])]


def _quantity(value: Any) -> tuple[Decimal | None, str]:
    if not isinstance(value, dict) or not isinstance(value.get("value"), int | float):
        return None, ""
    unit = str(value.get("code") or value.get("unit") or "")
    return Decimal(str(value["value"])), unit


def _presence(concept: Any) -> bool | None:
    for code in codes(concept):
        if code in PRESENT:
            return PRESENT[code]
    text = (concept_text(concept) or "").lower()
    return PRESENCE_WORDS.get(text)


# --------------------------------------------------------------------------- the reader


@dataclass(slots=True)
class _Reader:
    index: ResourceIndex
    strict: bool
    warnings: list[str] = field(default_factory=list)
    genotypes: list[ImportedGenotype] = field(default_factory=list)
    variants: list[ImportedVariant] = field(default_factory=list)
    implications: list[ImportedImplication] = field(default_factory=list)
    recommendations: list[ImportedRecommendation] = field(default_factory=list)
    hla: list[ImportedHla] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    #: key -> (gene, diplotype or allele) of genotype / haplotype resources read.
    genes_of: dict[str, str] = field(default_factory=dict)
    haplotypes: dict[str, tuple[str | None, str]] = field(default_factory=dict)
    variant_info: dict[str, VariantEvidence] = field(default_factory=dict)
    genotype_keys: list[tuple[ImportedGenotype, Resource]] = field(default_factory=list)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def _subject_of(self, res: Resource) -> None:
        subject = _subject(res, self.index)
        if subject and subject not in self.subjects:
            self.subjects.append(subject)

    # -- per profile

    def variant(self, e: Entry) -> None:
        res = e.data
        genes = _gene_codings(res, self.strict, self.warnings, e.key)
        gene = genes[0] if genes else None
        if gene is None:
            m = re.search(r"\(([A-Z][A-Z0-9-]*)\):", component_text(res, HGVS_C) or "")
            gene = m.group(1) if m else None
        present = _presence(res.get("valueCodeableConcept"))
        rsid = None
        for comp in components(res, VARIATION_CODE):
            for c in codings(comp.get("valueCodeableConcept")):
                if isinstance(c.get("code"), str) and _RSID.match(c["code"]):
                    rsid = c["code"]
        state = None
        for comp in components(res, ALLELIC_STATE):
            value = comp.get("valueCodeableConcept")
            state = next((ZYGOSITY[c] for c in codes(value) if c in ZYGOSITY), None)
            text = (concept_text(value) or "").lower()
            state = state or ("hom" if text.startswith("homo") else "het" if "hetero" in text
                              else "hemi" if "hemi" in text else None)  # fmt: skip
        self.variant_info[e.key] = VariantEvidence(e.key, gene, rsid, present is not False, state)
        if gene:
            self.genes_of[e.key] = gene
        if present is False:
            return
        origin: Origin | None = None
        for comp in components(res, SOURCE_CLASS):
            value = comp.get("valueCodeableConcept")
            origin = next((ORIGIN[c] for c in codes(value) if c in ORIGIN), None)
            text = (concept_text(value) or "").lower()
            origin = origin or ("germline" if text == "germline" else
                                "somatic" if text == "somatic" else None)  # fmt: skip
        self.variants.append(
            ImportedVariant(gene=gene, hgvs_c=component_text(res, HGVS_C),
                            hgvs_p=component_text(res, HGVS_P),
                            hgvs_g=component_text(res, HGVS_G), origin=origin,
                            vaf=self._vaf(e), source=e.key)
        )  # fmt: skip

    def _vaf(self, e: Entry) -> float | None:
        for comp in components(e.data, VAF):
            value, unit = _quantity(comp.get("valueQuantity"))
            if value is None:
                continue
            if unit == "%":
                fraction = value / 100
                self.warn(f"{e.key}: VAF {value} % read as the fraction {fraction}")
                value = fraction
            elif value > 1:
                self.warn(
                    f"{e.key}: VAF {value} is above 1 without a '%' unit (a percentage?); not used"
                )
                return None
            if value < 0:
                self.warn(f"{e.key}: VAF {value} is negative; not used")
                return None
            return float(value)
        return None

    def haplotype(self, e: Entry) -> None:
        res = e.data
        genes = _gene_codings(res, self.strict, self.warnings, e.key)
        gene = genes[0] if genes else None
        texts = _value_texts(res)
        if not texts:
            self.warn(f"{e.key}: haplotype without a value; not imported")
            return
        for text in texts:
            m = _HLA_ONLY.match(text)
            if m and gene in (None, m.group(1)):
                self._subject_of(res)
                self.genes_of[e.key] = m.group(1)
                self.haplotypes[e.key] = (m.group(1), f"*{m.group(2)}")
                self.hla.append(ImportedHla(gene=m.group(1), allele=f"*{m.group(2)}",
                                            present=True, source=e.key))  # fmt: skip
                return
        if gene and gene.startswith("HLA-"):
            self.warn(f"{e.key}: {gene} haplotype {texts[0]!r} is not an HLA allele name "
                      "(HLA-A*24:02); not imported")  # fmt: skip
            return
        prefix, allele = _strip_gene(texts[0], gene)
        gene = gene or prefix
        self.haplotypes[e.key] = (gene, allele)
        if gene:
            self.genes_of[e.key] = gene

    def genotype(self, e: Entry) -> None:
        res = e.data
        genes = _gene_codings(res, self.strict, self.warnings, e.key)
        if len(genes) == 1:
            self.genes_of[e.key] = genes[0]
        texts = _value_texts(res)
        if any(g.startswith("HLA-") for g in genes) or any(_HLA_ALLELE.search(t) for t in texts):
            self.hla_genotype(e, genes, texts)
            return
        if not texts:
            self.warn(f"{e.key}: genotype without a value; not imported")
            return
        parsed = [(t, p) for t in texts if (p := parse_diplotype(t)) is not None]
        if not parsed:
            self.warn(
                f"{e.key}: genotype value {texts[0]!r} is not a diplotype (two alleles separated "
                "by '/'); not imported"
            )
            return
        text, (prefix, diplotype) = parsed[0]
        if len(genes) == 1:
            gene = genes[0]
            if prefix and prefix != gene:
                self.warn(f"{e.key}: genotype {text!r} names {prefix} but the gene studied is "
                          f"{gene}; not imported")  # fmt: skip
                return
        elif len(genes) > 1:
            if prefix not in genes:
                self.warn(f"{e.key}: genotype {text!r} with several genes studied "
                          f"({', '.join(genes)}); not imported")  # fmt: skip
                return
            gene = prefix
            if self.strict:
                self.warn(f"{e.key}: several genes studied ({', '.join(genes)}); the genotype "
                          f"{text!r} is read as {gene}")  # fmt: skip
        elif prefix:
            gene = prefix
        else:
            self.warn(f"{e.key}: genotype {text!r} without a gene studied (48018-6); "
                      "not imported")  # fmt: skip
            return
        assert gene is not None
        if self.strict:
            others = {p[1] for _, p in parsed if p[0] in (None, gene)} - {diplotype}
            if others:
                self.warn(f"{e.key}: the value states {diplotype} and also "
                          f"{', '.join(sorted(others))}; {diplotype} is used")  # fmt: skip
        self._subject_of(res)
        genotype = ImportedGenotype(gene=gene, diplotype=diplotype, source=e.key)
        self.genotypes.append(genotype)
        self.genotype_keys.append((genotype, res))
        self.genes_of[e.key] = gene

    def hla_genotype(self, e: Entry, genes: list[str], texts: list[str]) -> None:
        res = e.data
        gene_hint = next((g for g in genes if g.startswith("HLA-")), None)
        for text in texts:
            body = text.rsplit("#", 1)[-1] if text.startswith("hla#") else text
            if "|" in body or "~" in body:
                self.warn(f"{e.key}: HLA genotype {text!r} lists alternatives; not imported")
                return
            sides = [s.strip() for s in re.split(r"[+/]", body) if s.strip()]
            alleles = [_HLA_ONLY.match(s) for s in sides]
            if sides and all(alleles) and len(sides) <= 2:
                named = {m.group(1) for m in alleles if m}
                if len(named) > 1 or (gene_hint and named != {gene_hint}):
                    self.warn(f"{e.key}: HLA genotype {text!r} names another gene than "
                              f"{gene_hint or 'itself'}; not imported")  # fmt: skip
                    return
                gene = named.pop()
                self._subject_of(res)
                self.genes_of[e.key] = gene
                names = [f"*{m.group(2)}" for m in alleles if m]
                if len(names) == 2:
                    self.hla.append(ImportedHla(gene=gene, genotype="/".join(names),
                                                source=e.key))  # fmt: skip
                else:
                    self.hla.append(ImportedHla(gene=gene, allele=names[0], present=True,
                                                source=e.key))  # fmt: skip
                return
        presence = _presence(res.get("valueCodeableConcept"))
        for text in texts:  # "HLA-B*15:02 positive"
            m = _HLA_ALLELE.match(text)
            word = text[m.end() :].strip().casefold() if m else ""
            if m and word in PRESENCE_WORDS and gene_hint in (None, m.group(1)):
                presence = PRESENCE_WORDS[word]
                gene_hint = m.group(1)
        if presence is not None:
            self.hla_presence(e, gene_hint, presence)
            return
        self.warn(f"{e.key}: HLA genotype {texts[0] if texts else None!r} is not an HLA allele "
                  "pair (HLA-B*15:01+HLA-B*57:01); not imported")  # fmt: skip

    def hla_presence(self, e: Entry, gene: str | None, present: bool) -> None:
        """An allele-presence result (Positive/Negative, Present/Absent): the allele is named
        in the Observation's code or value text, or in the code or conclusion of a
        DiagnosticReport that lists it."""
        res = e.data
        texts = [concept_text(res.get("code")) or "", *(c.get("display") or "" for c in
                 codings(res.get("code"))), str((res.get("code") or {}).get("text") or ""),
                 str((res.get("valueCodeableConcept") or {}).get("text") or "")]  # fmt: skip
        for report in self.index.entries:
            if report.data.get("resourceType") == "DiagnosticReport" and any(
                self.index.resolve(r) is e for r in report.data.get("result") or []
            ):
                texts += [c.get("display") or "" for c in codings(report.data.get("code"))]
                texts.append(str(report.data.get("conclusion") or ""))
        found = {
            (m.group(1), f"*{m.group(2)}")
            for t in texts
            for m in _HLA_ALLELE.finditer(t)
            if gene is None or m.group(1) == gene
        }
        if len(found) != 1:
            self.warn(
                f"{e.key}: HLA result {'positive' if present else 'negative'} but "
                + ("no allele is named" if not found else "several alleles are named")
                + "; not imported"
            )
            return
        hla_gene, allele = found.pop()
        self._subject_of(res)
        self.genes_of[e.key] = hla_gene
        self.hla.append(ImportedHla(gene=hla_gene, allele=allele, present=present, source=e.key))

    def implication(self, e: Entry) -> None:
        res = e.data
        drugs = [t for comp in components(res, MEDICATION_ASSESSED)
                 if (t := concept_text(comp.get("valueCodeableConcept")))]  # fmt: skip
        phenotype = self._phenotype(res)
        genes: list[str] = []
        for ref in res.get("derivedFrom") or []:
            hit = self.index.resolve(ref)
            gene = self.genes_of.get(hit.key) if hit is not None else None
            if gene and gene not in genes:
                genes.append(gene)
        if not genes:
            genes = _gene_codings(res, self.strict, self.warnings, e.key)
        gene = genes[0] if len(genes) == 1 else None
        assessed: list[str | None] = list(drugs) or [None]
        for drug in assessed:
            self.implications.append(
                ImportedImplication(drug=drug, gene=gene, phenotype=phenotype, source=e.key)
            )

    @staticmethod
    def _phenotype(res: Resource) -> str | None:
        for code in (THERAPEUTIC_IMPLICATION, DRUG_METABOLISM):
            text = component_text(res, code)
            if text:
                return text
        for comp in res.get("component") or []:
            if not isinstance(comp, dict) or codes(comp.get("code")) & NOT_PHENOTYPE:
                continue
            value = comp.get("valueCodeableConcept")
            if codes(value) & set(IMPLICATION_LA):
                return concept_text(value)
        value = res.get("valueCodeableConcept")
        if codes(value) & set(IMPLICATION_LA):
            return concept_text(value)
        return None

    def _medication(self, ref_or_concept: Any) -> str | None:
        if not isinstance(ref_or_concept, dict):
            return None
        hit = self.index.resolve(ref_or_concept)
        if hit is None:
            if "coding" in ref_or_concept or "text" in ref_or_concept:
                return concept_text(ref_or_concept)
            shown = ref_or_concept.get("display")  # an unresolved reference's display
            return shown.strip() if isinstance(shown, str) and shown.strip() else None
        data = hit.data
        if data.get("resourceType") == "Medication":
            return concept_text(data.get("code"))
        concept = data.get("medicationCodeableConcept")
        if concept is not None:
            return concept_text(concept)
        med = self.index.resolve(data.get("medicationReference"))
        return concept_text(med.data.get("code")) if med is not None else None

    def recommendation(self, e: Entry) -> None:
        res = e.data
        profiles = (res.get("meta") or {}).get("profile") or []
        reasons = [self.index.resolve(r) for r in (res.get("reasonReference"),) if r]
        implication = next((r for r in reasons if r is not None and _is_implication(r.data)), None)
        if not any("medication-recommendation" in str(p) for p in profiles) and implication is None:
            return
        focus = self._medication(res.get("focus")) if res.get("focus") else None
        inputs = [t for i in res.get("input") or [] if isinstance(i, dict)
                  for t in [self._medication(i.get("valueReference") or i.get(
                      "valueCodeableConcept"))] if t]  # fmt: skip
        from_implication = (
            [t for comp in components(implication.data, MEDICATION_ASSESSED)
             if (t := concept_text(comp.get("valueCodeableConcept")))]
            if implication is not None else []
        )  # fmt: skip
        candidates = [d for d in (focus, *inputs, *from_implication) if d]
        drug = candidates[0] if candidates else None
        if self.strict and len({d.casefold() for d in candidates}) > 1:
            self.warn(f"{e.key}: the recommendation names different drugs "
                      f"({', '.join(dict.fromkeys(candidates))}); {drug} is used")  # fmt: skip
        coding = next(iter(codings(res.get("code"))), {})
        code = coding.get("code") if isinstance(coding.get("code"), str) else None
        display = coding.get("display") if isinstance(coding.get("display"), str) else None
        known = RECOMMENDATION_DISPLAY.get(code or "")
        if self.strict and display and known and display.strip().casefold() != known.casefold():
            self.warn(f"{e.key}: code {code} is {known!r} in LOINC but is displayed "
                      f"{display!r}")  # fmt: skip
        self.recommendations.append(
            ImportedRecommendation(drug=drug, code=code, display=display, source=e.key)
        )

    def report(self, e: Entry) -> None:
        """``--strict``: a recommended-action whose text names another drug than its Task."""
        if not self.strict:
            return
        for ext in e.data.get("extension") or []:
            if not isinstance(ext, dict) or not str(ext.get("url", "")).endswith(
                "/recommended-action"
            ):
                continue
            ref = ext.get("valueReference") or {}
            shown = ref.get("display") if isinstance(ref, dict) else None
            task = self.index.resolve(ref)
            if not isinstance(shown, str) or task is None:
                continue
            drug = next((r.drug for r in self.recommendations if r.source == task.key), None)
            if drug and drug.casefold() not in shown.casefold():
                self.warn(f"{e.key}: recommended-action {shown!r} points to {task.key}, which is "
                          f"about {drug}")  # fmt: skip

    # -- consistency of a genotype with what it is derived from

    def linked(self, res: Resource) -> tuple[list[tuple[str | None, str]], list[VariantEvidence]]:
        haps: list[tuple[str | None, str]] = []
        variants: list[VariantEvidence] = []
        seen: set[str] = set()
        stack = list(_links(res))
        while stack:
            hit = self.index.resolve(stack.pop(0))
            if hit is None or hit.key in seen:
                continue
            seen.add(hit.key)
            if hit.key in self.haplotypes:
                haps.append(self.haplotypes[hit.key])
                stack += _links(hit.data)
            elif hit.key in self.variant_info:
                variants.append(self.variant_info[hit.key])
            elif _has_code(hit.data, "C43359") or hit.data.get("hasMember"):
                stack += _links(hit.data)  # a grouper Observation
        return haps, variants

    def check_genotype(self, genotype: ImportedGenotype, res: Resource) -> list[VariantEvidence]:
        haps, variants = self.linked(res)
        alleles = genotype.diplotype.split("/")
        named = [a for g, a in haps if g in (None, genotype.gene)]
        if self.strict:
            stray = [a for a in named if not any(_same_allele(a, b) for b in alleles)]
            if stray:
                self.warn(f"{genotype.source}: genotype {genotype.gene} {genotype.diplotype} is "
                          f"derived from haplotype(s) {', '.join(stray)}, not in the "
                          "diplotype")  # fmt: skip
            elif (
                len(named) == 2
                and sorted(named) != sorted(alleles)
                and not all(any(_same_allele(a, b) for b in named) for a in alleles)
            ):
                self.warn(f"{genotype.source}: genotype {genotype.gene} {genotype.diplotype} "
                          f"is derived from haplotypes {' and '.join(named)}")  # fmt: skip
        if not variants:
            variants = [v for v in self.variant_info.values() if v.gene == genotype.gene]
        return variants

    def check_hla(self) -> None:
        by_source = {h.source: h for h in self.hla}
        for e in self.index.entries:
            h = by_source.get(e.key)
            if h is None or h.genotype is None:
                continue
            haps, _ = self.linked(e.data)
            named = [a for g, a in haps if g == h.gene]
            alleles = h.genotype.split("/")
            if len(named) == 2 and sorted(named) != sorted(alleles):
                self.warn(f"{e.key}: {h.gene} genotype {h.genotype} is derived from haplotypes "
                          f"{' and '.join(named)}")  # fmt: skip

    def haplotype_only(self) -> None:
        typed = {g.gene for g in self.genotypes}
        for key, (gene, allele) in self.haplotypes.items():
            if gene and not gene.startswith("HLA-") and gene not in typed:
                self.warn(f"{key}: {gene} haplotype {allele} without a genotype of {gene}; no "
                          "diplotype is made from haplotypes")  # fmt: skip


def _classify(res: Resource) -> str | None:
    rtype = res.get("resourceType")
    if rtype == "Task":
        return "task"
    if rtype == "DiagnosticReport":
        return "report"
    if rtype != "Observation":
        return None
    if _has_code(res, GENOTYPE):
        return "genotype"
    if _has_code(res, HAPLOTYPE):
        return "haplotype"
    if _has_code(res, VARIANT):
        return "variant"
    if _is_implication(res):
        return "implication"
    if _presence(res.get("valueCodeableConcept")) is not None and (
        _HLA_ALLELE.search(" ".join(c.get("display") or "" for c in codings(res.get("code"))))
        or any(str(concept_text(c.get("valueCodeableConcept")) or "").startswith("HLA-")
               for c in components(res, GENE_STUDIED))
    ):  # fmt: skip
        return "hla"
    return None


#: Observation / Task statuses whose result is not to be used (FHIR R4 ObservationStatus and
#: TaskStatus: no result yet, withdrawn, or recorded in error).
UNUSABLE_STATUS = frozenset({"registered", "cancelled", "entered-in-error", "rejected"})


def genomics_from_data(
    values: Sequence[tuple[Any, str]], strict: bool = False, *, validate: bool = True
) -> GenomicsRead:
    """The import of already-parsed JSON values, each with where it came from. With
    ``validate`` (the default) resources of the :data:`VALIDATED` types are first checked
    against their R4 model and skipped with a warning when invalid; without it (CDS Hooks
    prefetch, read leniently per resource like the draft orders) only the fields read are
    used. Either way a result whose status says it is not a result (entered in error,
    cancelled, registered ...) is skipped with a warning."""
    index = index_values(values, VALIDATED if validate else frozenset())
    reader = _Reader(index, strict)
    reader.warnings += index.warnings
    usable = []
    for e in index.entries:
        status = e.data.get("status")
        if isinstance(status, str) and status.lower() in UNUSABLE_STATUS:
            reader.warn(f"{e.key} ({e.where}): status {status!r}; not used")
        else:
            usable.append(e)
    kinds = [(e, _classify(e.data)) for e in usable]
    # variants and haplotypes first: genotypes and implications refer to them
    for wanted in ("variant", "haplotype", "genotype", "hla", "implication", "task", "report"):
        for e, kind in kinds:
            if kind != wanted:
                continue
            try:
                if kind == "hla":
                    genes = _gene_codings(e.data, strict, reader.warnings, e.key)
                    present = _presence(e.data.get("valueCodeableConcept"))
                    reader.hla_presence(e, genes[0] if genes else None, bool(present))
                else:
                    getattr(reader, "recommendation" if kind == "task" else kind)(e)
            except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
                # lenient per resource: a shape the reader did not foresee is a warning
                reader.warn(f"{e.key} ({e.where}): could not be read ({type(exc).__name__}); "
                            "skipped")  # fmt: skip
    evidence = tuple(
        GenotypeEvidence(g.gene, g.diplotype, g.source, tuple(reader.check_genotype(g, res)))
        for g, res in reader.genotype_keys
    )
    if strict:
        reader.check_hla()
    reader.haplotype_only()
    if len(reader.subjects) > 1:
        reader.warn(f"results about {len(reader.subjects)} different subjects: "
                    f"{', '.join(reader.subjects)}")  # fmt: skip
    result = FhirGenomicsImport(
        genotypes=tuple(reader.genotypes),
        variants=tuple(reader.variants),
        implications=tuple(reader.implications),
        recommendations=tuple(reader.recommendations),
        hla=tuple(reader.hla),
        warnings=tuple(dict.fromkeys(reader.warnings)),
        subjects=tuple(reader.subjects),
    )
    return GenomicsRead(result, evidence)


def read_fhir_genomics(paths: Iterable[str | Path], strict: bool = False) -> GenomicsRead:
    """Read Genomics Reporting resources from files (JSON or NDJSON), merged; ``strict`` adds
    warnings for inconsistencies of the source (docs/fhir.md, "--strict")."""
    values: list[tuple[Any, str]] = []
    for path in paths:
        values += load_fhir_file(path)
    return genomics_from_data(values, strict)
