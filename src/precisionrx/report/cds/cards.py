"""CDS Hooks 2.0 cards from the prescribing check (docs/cds-hooks.md).

One card per ordered drug that has a pharmacogenomic implication for this patient; none for a
drug without a CPIC/DPWG guideline, or whose guideline advice for this patient is the standard
one (the medication review's ``ok``), or that has no recommendation for the phenotype.

- **Indicator** (issue 18's classification): ``critical`` when a matched recommendation says
  to avoid the drug, not to use it, or that it is contraindicated ("avoid", "do not use",
  "contraindicated"; "to avoid ..." is not such an instruction); ``warning`` when it changes
  the dose or names an alternative (the guideline annotation's ``dosing_information`` /
  ``alternate_drug``, PharmCAT's flags); ``info`` otherwise, and for a result that is
  ambiguous (the review's ``caution``).
- **No result on file** for the drug's genes: an ``info`` card suggesting pharmacogenomic
  testing (the pattern of Dolin, Boxwala and Shalaby, Methods Inf Med 2018;57:e115).
- **Summary** (< 140 characters, CDS Hooks "Card"): the drug, the gene and phenotype that
  drive the advice (the effective phenotype when a co-medication converts it), and the first
  sentence of the strongest recommendation. **Detail**: every matched recommendation with its
  source, strength and population, the genotype and where it came from, the phenoconversion
  and caveats, the knowledge-base version and the decision-support notice.
- **Suggestions**: when a recommendation names an alternative drug, one suggestion per
  alternative (delete the draft order, create a draft order of the alternative;
  ``selectionBehavior: at-most-one``). An alternative that has its own pharmacogenomic action
  for this patient is never suggested. RxNorm codes are the knowledge base's ingredient codes;
  an alternative without one is ordered by name (``medicationCodeableConcept.text``).
- **Links** to each guideline; **override reasons** (warning and critical cards) from the
  project's own code system :data:`OVERRIDE_SYSTEM`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from precisionrx.engines.pgx.phenotyper import reference_phenotype
from precisionrx.io.cds_orders import OrderedMedication
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.plan.cds_check import named_alternatives, order_drug
from precisionrx.records import SampleResult
from precisionrx.records.pgx import DrugRecommendation, EffectivePhenotype, MedicationReview
from precisionrx.report.cds.validate import SUMMARY_LIMIT

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
#: The project's code system for override reasons (a URN: no web page is claimed).
OVERRIDE_SYSTEM = "urn:precisionrx:codesystem:cds-override-reason"
OVERRIDE_REASONS = (
    ("tolerated-before", "Patient has taken this drug before without problems"),
    ("benefit-outweighs-risk", "Benefit outweighs the pharmacogenomic risk"),
    ("genotype-disputed", "Genotype result disputed or outdated"),
    ("alternative-unsuitable", "Recommended alternative is contraindicated or unavailable"),
    ("will-monitor", "Will adjust dose or monitor response closely"),
)
#: Namespace of the card and suggestion UUIDs (name-based: the same request gives the same ids).
CARD_NAMESPACE = uuid.UUID("6f0c8a52-3a1e-5b6e-9d38-0b4a2c7e91d4")
NOTICE = (
    "Decision support only: check the recommendation against the patient's whole clinical "
    "picture before acting."
)
_DOSE = re.compile(r"\bdose\b|\d\s*mg\b|≤", re.IGNORECASE)
_SENTENCE = re.compile(r"(.+?[.!?])(?:\s|$)", re.DOTALL)
_RANK = {"critical": 3, "warning": 2, "info": 1}
_STRENGTH = {"strong": 0, "moderate": 1, "optional": 2}


@dataclass(frozen=True)
class CardInputs:
    """What every card of one call shares."""

    kb: KnowledgeBase
    hook_instance: str
    patient_id: str
    #: Where the genotypes came from, for the detail ("from the EHR's genomic results").
    origin: str
    #: Limits of this call's data, added to every card's detail.
    notes: tuple[str, ...] = ()


def _about_drug(drug: str) -> tuple[re.Pattern[str], ...]:
    """Phrases that tell the prescriber not to use ``drug`` itself (module docs)."""
    d = rf"(?<![a-z])(?<!non-){re.escape(drug.lower())}(?![a-z])"
    # a short stretch of the same sentence that is not about co-medication
    span = r"(?:(?!\b(?:inhibitors?|inducers?|co-?medication|with|combination)\b)[^.;:\n]){0,40}?"
    return (
        re.compile(rf"\bavoid\b{span}{d}"),
        re.compile(rf"\bdo not (?:use|prescribe|select|give|start|initiate)\b{span}{d}"),
        re.compile(
            rf"{d}[^.;:\n]{{0,30}}?\b(?:is|are)\s+(?:\w+\s+)?"
            r"(?:contra-?indicated|not recommended)\b"
        ),
        re.compile(rf"{d}[^.;:\n]{{0,30}}?\bshould (?:be avoided|not be used)\b"),
    )


#: The first sentence of a recommendation that opens with the instruction itself ("Avoid use
#: of ...", "... are relatively contraindicated in persons with MHS"), not about co-medication.
_OPENING = re.compile(
    r"^(?:avoid|do not use)\b|\b(?:is|are)\s+(?:\w+\s+)?contra-?indicated\b", re.IGNORECASE
)
_COMEDICATION = re.compile(r"\b(?:inhibitors?|inducers?|co-?medication)\b", re.IGNORECASE)


_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")


def _unconditional(text: str) -> list[str]:
    """The sentences of ``text`` (lower case) that are not a conditional alternative: "If a
    dose increase is not wanted ...: avoid imipramine" is an option, not the advice, while "If
    patient is carbamazepine-naive, do not use carbamazepine" is the advice for every new
    prescription."""
    out = []
    for sentence in _SENTENCES.split(text.lower()):
        sentence = sentence.strip(" -")
        if sentence.startswith("if ") and not re.search(r"na[iï]ve", sentence):
            continue
        out.append(sentence)
    return out


def severity(rec: DrugRecommendation) -> str:
    """The indicator one recommendation calls for: ``critical`` when it tells the prescriber
    to avoid this drug, not to use it, or that it is contraindicated or not recommended (about
    the drug itself: "avoid co-medication with CYP2D6 inhibitors" or "if aromatase inhibitor
    use is contraindicated" is not about tamoxifen); ``warning`` when it changes the dose or
    names an alternative; ``info`` otherwise. A conditional option ("if a dose increase is not
    wanted: avoid imipramine") does not make the advice critical."""
    patterns = _about_drug(rec.drug)
    first = _first_sentence(rec.text)
    if any(p.search(x) for x in _unconditional(rec.text) for p in patterns) or (
        _OPENING.search(first)
        and not _COMEDICATION.search(first)
        and not first.lower().startswith("if ")
    ):
        return "critical"
    if rec.alternate_drug or rec.dosing_information:
        return "warning"
    return "info"


def _primary(recs: Sequence[DrugRecommendation]) -> DrugRecommendation:
    """The recommendation a summary speaks for: most severe, then CPIC before DPWG, then the
    strongest classification."""
    return min(
        recs,
        key=lambda r: (
            -_RANK[severity(r)],
            0 if r.source.upper().startswith("CPIC") else 1,
            _STRENGTH.get((r.classification or "").lower(), 3),
        ),
    )


def _conversion(
    result: SampleResult, rec: DrugRecommendation, gene: str
) -> EffectivePhenotype | None:
    if rec.phenotype_basis != "phenoconverted":
        return None
    for e in result.effective_phenotypes or []:
        if e.gene == gene and set(e.caused_by) <= set(rec.caused_by):
            return e
    return None


def gene_phenotype(result: SampleResult, rec: DrugRecommendation, gene: str) -> str | None:
    """``CYP2C19 Poor Metabolizer``, ``HLA-B*15:02 positive``: the result the advice rests on
    (the effective phenotype when converted); None when the gene has no result."""
    key = rec.lookup_keys.get(gene)
    if not key or key == "No Result":
        return None
    if gene.startswith("HLA-"):
        return f"{gene}{key}" if key.startswith("*") else f"{gene} {key}"
    conv = _conversion(result, rec, gene)
    if conv is not None:
        return f"{gene} {conv.effective_phenotype}"
    call = next((g for g in result.genes if g.gene == gene), None)
    phenotype = call.phenotype if call and call.phenotype else key
    return f"{gene} {phenotype}"


def _clip(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to fewer than ``limit`` characters (with an ellipsis)."""
    text = " ".join(text.split())
    if len(text) < limit:
        return text
    cut = text[: limit - 2].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


def _first_sentence(text: str) -> str:
    first = text.strip().split("\n", 1)[0]
    m = _SENTENCE.match(first)
    return (m.group(1) if m else first).strip()


def _title(drug: str) -> str:
    return drug[:1].upper() + drug[1:]


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(CARD_NAMESPACE, "|".join(parts)))


def _guideline_links(recs: Sequence[DrugRecommendation]) -> list[dict[str, Any]]:
    links: dict[str, dict[str, Any]] = {}
    for r in recs:
        if r.guideline_url and r.guideline_url not in links:
            label = _clip(f"{r.source} guideline: {r.guideline}", 200)
            links[r.guideline_url] = {"label": label, "url": r.guideline_url, "type": "absolute"}
    return list(links.values())


def _with_links(card: dict[str, Any], recs: Sequence[DrugRecommendation]) -> dict[str, Any]:
    """``card`` with a link to each guideline of ``recs`` (no ``links`` member when none)."""
    links = _guideline_links(recs)
    if links:
        card["links"] = links
    return card


def _source(recs: Sequence[DrugRecommendation], kb: KnowledgeBase) -> dict[str, Any]:
    names = sorted({r.source.split()[0].upper() for r in recs if r.source}) or ["CPIC"]
    source: dict[str, Any] = {"label": f"precisionrx ({'/'.join(names)} guidelines)"}
    url = next((r.guideline_url for r in recs if r.guideline_url), None)
    if url:
        source["url"] = url
    return source


def _genotype_lines(result: SampleResult, genes: Sequence[str], origin: str) -> list[str]:
    lines = []
    for gene in genes:
        call = next((g for g in result.genes if g.gene == gene), None)
        if call is None or not call.called:
            lines.append(f"- **{gene}**: no result on file")
            continue
        dip = " or ".join(call.diplotypes) or "—"
        pheno = f" ({call.phenotype})" if call.phenotype else ""
        lines.append(f"- **{gene}** {dip}{pheno}, {origin}")
    return lines


def _detail(
    inputs: CardInputs, result: SampleResult, drug: str, recs: Sequence[DrugRecommendation]
) -> str:
    genes = list(dict.fromkeys(g for r in recs for g in r.genes))
    parts = ["**Genotype**", *_genotype_lines(result, genes, inputs.origin), ""]
    for gene in genes:
        conv = next((c for r in recs if (c := _conversion(result, r, gene))), None)
        if conv is not None:
            parts += [
                f"**Phenoconversion**: {gene} is treated as **{conv.effective_phenotype}** "
                f"(genotype: {conv.genotype_phenotype or 'unknown'}) because of "
                f"{', '.join(conv.caused_by)} — {conv.rule}.",
                "",
            ]
    seen: set[str] = set()
    for r in recs:
        if r.text in seen:
            continue
        seen.add(r.text)
        strength = f", {r.classification}" if r.classification else ""
        head = (
            f"**{r.source}{strength}** — {r.population}"
            if r.population
            else f"**{r.source}{strength}**"
        )
        parts += [head, "", r.text.strip(), ""]
        if r.implications:
            parts += [f"*Implications*: {'; '.join(r.implications)}", ""]
    caveats = list(dict.fromkeys(c.message for r in recs for c in r.caveats))
    if caveats:
        parts += ["**Caveats**", *(f"- {c}" for c in caveats), ""]
    versions = sorted({f"{r.guideline} ({r.source} {r.guideline_version})" for r in recs})
    parts += [*inputs.notes, ""] if inputs.notes else []
    parts += [f"Guidelines: {'; '.join(versions)}. Knowledge base: prescribing "
              f"{inputs.kb.prescribing.version or 'unversioned'}.", "", NOTICE]  # fmt: skip
    return "\n".join(parts).strip()


def review_of(result: SampleResult, drug: str) -> MedicationReview | None:
    """The medication review entry of ``drug`` in a prescribing result."""
    return next((m for m in result.medication_review or [] if m.matched_drug == drug), None)


def _rxnorm_code(kb: KnowledgeBase, drug: str) -> str | None:
    def build() -> dict[str, str]:
        return {d: code for code, d in sorted(kb.prescribing.rxnorm_to_drug.items())}

    table: dict[str, str] = kb.memo(("cds", "drug rxnorm"), build)
    return table.get(drug)


def _alt_recs(result: SampleResult, alt: str) -> list[DrugRecommendation]:
    return [r for r in result.recommendations or [] if r.drug == alt and r.matched]


def alternative_verdict(result: SampleResult, alt: str) -> str:
    """Whether an alternative may be suggested for this patient: ``exclude`` when its own
    matched advice says to avoid it, or to choose another drug without a dose to use it at
    (citalopram's "consider a clinically appropriate antidepressant not predominantly
    metabolized by CYP2C19" for escitalopram); ``dose`` when its advice sets a dose (a statin's
    "prescribe <=40 mg as a starting dose", even with a fallback to another statin): suggested,
    with a pointer to that advice; ``plain`` otherwise."""
    recs = _alt_recs(result, alt)
    if any(severity(r) == "critical" for r in recs):
        return "exclude"
    if any(r.alternate_drug and not _DOSE.search(_first_sentence(r.text)) for r in recs):
        return "exclude"
    if any(r.dosing_information or r.alternate_drug for r in recs):
        return "dose"
    return "plain"


def alternative_genes(result: SampleResult, alt: str) -> list[str]:
    return sorted({g for r in _alt_recs(result, alt) for g in r.genes})


def _suggestions(
    inputs: CardInputs,
    order: OrderedMedication,
    drug: str,
    recs: Sequence[DrugRecommendation],
    alternatives_checked: SampleResult,
) -> list[dict[str, Any]]:
    if order.reference is None or not any(r.alternate_drug for r in recs):
        return []
    out: list[dict[str, Any]] = []
    for alt in named_alternatives(inputs.kb, drug, (r.text for r in recs)):
        verdict = alternative_verdict(alternatives_checked, alt)
        if verdict == "exclude":
            continue  # its own PGx problem for this patient: never suggested
        concept: dict[str, Any] = {"text": alt}
        code = _rxnorm_code(inputs.kb, alt)
        if code:
            concept["coding"] = [{"system": RXNORM, "code": code, "display": alt}]
        subject = order.subject or f"Patient/{inputs.patient_id}"
        new = {
            "resourceType": "MedicationRequest",
            "status": "draft",
            "intent": "order",
            "medicationCodeableConcept": concept,
            "subject": {"reference": subject},
        }
        label = f"Replace {drug} with {alt}"
        if verdict == "dose":
            genes = "/".join(alternative_genes(alternatives_checked, alt))
            label += f" (see its own {genes} dose advice)"
        out.append({
            "label": label,
            "uuid": _uuid(inputs.hook_instance, order.reference, drug, alt),
            "isRecommended": False,
            "actions": [
                {"type": "delete", "description": f"Remove the draft order of {order.name}",
                 "resourceId": order.reference},
                {"type": "create", "description": f"Order {alt} instead (dose and route to be "
                 "chosen by the prescriber)", "resource": new},
            ],
        })  # fmt: skip
        if len(out) == 3:
            break
    return out


def _testing_card(
    inputs: CardInputs, order: OrderedMedication, drug: str, recs: Sequence[DrugRecommendation]
) -> dict[str, Any]:
    genes = sorted({g for r in recs for g in r.genes})
    names = "/".join(genes)
    summary = _clip(f"{_title(drug)}: no {names} result on file — consider pharmacogenomic "
                    "testing", SUMMARY_LIMIT)  # fmt: skip
    guidelines = sorted({f"{r.guideline} ({r.source})" for r in recs})
    detail = (
        f"No {names} result is on file for this patient. Genotype-guided advice exists for "
        f"{drug}: {'; '.join(guidelines)}. Consider pharmacogenomic testing before or when "
        f"starting {drug}; a result on file will be checked automatically at the next order."
        f"\n\n{NOTICE}"
    )
    card: dict[str, Any] = {
        "uuid": _uuid(inputs.hook_instance, order.reference or order.name, drug, "testing"),
        "summary": summary,
        "indicator": "info",
        "detail": detail,
        "source": _source(recs, inputs.kb),
    }
    return _with_links(card, recs)


def drug_card(
    inputs: CardInputs,
    result: SampleResult,
    order: OrderedMedication,
    drug: str,
    alternatives_checked: SampleResult | None = None,
    *,
    suggest: bool = True,
) -> dict[str, Any] | None:
    """The card for one ordered (or current) drug, or None when it needs none; ``suggest``
    False leaves out the swap suggestions (nothing is being ordered)."""
    recs = [r for r in result.recommendations or [] if r.drug == drug]
    if not recs:
        return None
    review = review_of(result, drug)
    status = review.status if review else "unknown"
    matched = [r for r in recs if r.matched]
    if not matched:
        return _testing_card(inputs, order, drug, recs) if status != "ok" else None
    if status not in ("action", "caution"):
        return None
    primary = _primary(matched)
    indicator = max((severity(r) for r in matched), key=_RANK.__getitem__)
    if status == "caution":
        indicator = "info"
    phenos = [p for g in primary.genes if (p := gene_phenotype(result, primary, g))]
    head = f"{_title(drug)} · {', '.join(phenos)}" if phenos else _title(drug)
    summary = _clip(f"{head}: {_first_sentence(primary.text)}", SUMMARY_LIMIT)
    card: dict[str, Any] = {
        "uuid": _uuid(inputs.hook_instance, order.reference or order.name, drug),
        "summary": summary,
        "indicator": indicator,
        "detail": _detail(inputs, result, drug, matched),
        "source": _source(matched, inputs.kb),
    }
    if indicator != "info":
        suggestions = (
            _suggestions(inputs, order, drug, matched, alternatives_checked or result)
            if suggest
            else []
        )
        if suggestions:
            card["suggestions"] = suggestions
            card["selectionBehavior"] = "at-most-one"
        card["overrideReasons"] = [
            {"system": OVERRIDE_SYSTEM, "code": c, "display": d} for c, d in OVERRIDE_REASONS
        ]
    return _with_links(card, matched)


def order_cards(
    inputs: CardInputs,
    result: SampleResult,
    orders: Sequence[OrderedMedication],
    alternatives_checked: SampleResult | None = None,
) -> list[dict[str, Any]]:
    """Cards for the orders, most severe first (one per ordered drug)."""
    cards: list[dict[str, Any]] = []
    done: set[str] = set()
    for order in orders:
        drug = order_drug(inputs.kb, order)
        if drug is None or drug in done:
            continue
        done.add(drug)
        card = drug_card(inputs, result, order, drug, alternatives_checked)
        if card is not None:
            cards.append(card)
    return sorted(cards, key=lambda c: -_RANK[c["indicator"]])


def alternatives_to_check(kb: KnowledgeBase, orders: Sequence[OrderedMedication]) -> list[str]:
    """Guideline drugs that any CPIC/DPWG advice for the ordered drugs names as an alternative
    (whatever the phenotype): the check is run with them too, so that none with its own PGx
    action for this patient is suggested. One check covers the orders and their possible
    alternatives (the set depends on the drugs only, and is computed once per drug)."""

    out: list[str] = []
    for order in orders:
        drug = order_drug(kb, order)
        if drug:
            out += kb.memo(("cds", "alternatives", drug), partial(_named_guideline_drugs, kb, drug))
    return list(dict.fromkeys(out))


def _named_guideline_drugs(kb: KnowledgeBase, drug: str) -> tuple[str, ...]:
    texts = [r.text for g in kb.prescribing.guidelines if drug in g.drugs
             for r in g.recommendations if r.alternate_drug]  # fmt: skip
    return tuple(a for a in named_alternatives(kb, drug, texts) if a in kb.prescribing.drugs)


def summary_card(inputs: CardInputs, result: SampleResult) -> dict[str, Any] | None:
    """patient-view: the pharmacogenomic results on file, those that differ from the
    reference phenotype first (None when no gene has a result)."""
    called = [g for g in result.genes if g.called and (g.phenotype or g.diplotypes)]
    if not called:
        return None
    notable = []
    for g in called:
        base = reference_phenotype(inputs.kb, g.gene) if not g.gene.startswith("HLA-") else None
        if g.gene.startswith("HLA-") or (g.phenotype and base and g.phenotype != base):
            notable.append(g)
    shown = notable or called
    words = [f"{g.gene} {g.phenotype or ' or '.join(g.diplotypes)}" for g in shown]
    lead = (
        "Pharmacogenomic results on file"
        if notable
        else "Pharmacogenomic results on file (no non-reference phenotype)"
    )
    summary = _clip(f"{lead}: {', '.join(words)}" if notable else lead, SUMMARY_LIMIT)
    lines = [f"- **{g.gene}** {' or '.join(g.diplotypes) or '—'}"
             f"{f' ({g.phenotype})' if g.phenotype else ''}" for g in called]  # fmt: skip
    detail = "\n".join(
        [f"Results {inputs.origin}:", "", *lines, "", "Each medication ordered for this "
         "patient is checked against these results at order entry.", "", NOTICE]
    )  # fmt: skip
    return {
        "uuid": _uuid(inputs.hook_instance, "summary"),
        "summary": summary,
        "indicator": "info",
        "detail": detail,
        "source": {"label": "precisionrx (CPIC/DPWG guidelines)"},
    }
