"""CPIC and DPWG guidance for one candidate medicine, as ``mh options`` shows it.

The recommendations come from the PGx engine (``engines/pgx/recommender.py``: the PharmCAT
guideline data, exact lookup keys), looked up with the *effective* phenotype after
phenoconversion by the patient's other medicines; the candidate itself never phenoconverts
its own guidance (PharMe #662). This module picks the guideline population that fits a new
prescription, and names each row's advice with one ``action``:

1. ``no_guidance`` — the genotype is unknown or the row gives no recommendation
   ("No recommendation", "does not provide a recommendation", "No action recommended based on
   genotype ... minimal evidence").
2. The advice is read from the row's text before "Other Considerations", segment by segment
   (sentences and "- " bullets); a row written per indication ("Indication DEPRESSION: ...")
   is read in the segment of the condition asked about (DEPRESSION, ANXIETY DISORDERS,
   otherwise OTHER). A segment that starts with a standard start ("Initiate therapy with
   recommended starting dose", "NO action is needed", "Use ... per standard dosing", "Start with
   the normal initial dose") gives ``standard_dose``, unless the next segment opens with
   "Consider" and changes the dose (then that direction).
3. Otherwise the first segment that has a cue decides: "avoid"/"do not use" anywhere in it →
   ``avoid`` (CPIC "if alternative agents are available, do not use" is still do-not-use);
   else its earliest cue: "alternative"/"not (predominantly) metabolized by" →
   ``use_alternative``;
   lower/reduce/decrease/half/no more than/do not exceed/an N % (N < 100) of the dose →
   ``reduce_dose``; increase/higher/double/N times/N % (N > 100) → ``increase_dose``;
   monitor/alert/plasma concentration → ``monitor``.
4. A dosing regimen written out ("Initiate with a dose of 40 mg/day ...", CPIC atomoxetine)
   is a dose change only for a decreased-function phenotype whose text differs from the same
   guideline's normal-metaboliser row (``reduce_dose``), else ``standard_dose``; with no cue
   at all the annotation's flags decide (alternative drug → ``use_alternative``; dosing → the
   direction of the phenotype), else ``monitor`` (cautious use, as CPIC's carbamazepine
   "use > 3 months" row).

Where CPIC and DPWG both advise, both rows are listed; the rank uses the stronger. A gene
without a genotype gets ``no_guidance`` (never the row PharmCAT keys on "No Result"), except
CYP2D6 with a strong CYP2D6 inhibitor among the other medicines: the inhibitor sets the
activity score to 0 whatever the genotype, so the Poor Metabolizer row is read (caveat
``inhibitor_without_genotype``; the genotype still counts as missing).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from precisionrx.engines.medicines.act_now import NO_DECISION
from precisionrx.engines.pgx.recommender import build_context, recommend_drug
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records import Caveat, CaveatKind, DrugRecommendation, GeneCall, SampleResult
from precisionrx.records.mental_health import GuidanceAction, OptionPgx
from precisionrx.records.pgx import PositionSummary

#: Actions, weakest first (the rank's pharmacogenomic key is the strongest).
ORDER: tuple[GuidanceAction, ...] = (
    "no_guidance", "standard_dose", "monitor", "increase_dose", "reduce_dose",
    "use_alternative", "avoid",
)  # fmt: skip
_NO_GUIDANCE = re.compile(
    r"does not provide a recommendation|^\s*no recommendation|no action recommended based on "
    r"genotype|^xN is not a valid input",
    re.IGNORECASE,
)
#: Lookup keys of a guideline's normal-metaboliser row (single-gene rows).
NORMAL_KEYS = frozenset({"Normal Metabolizer", "2.0"})
_STANDARD = re.compile(
    r"^(?:no action is (?:needed|required)|initiate therapy with (?:the )?recommended starting "
    r"dose|use \w+ per standard dosing|start with the normal initial dose)",
    re.IGNORECASE,
)
_REGIMEN = re.compile(r"^initiate with a dose of", re.IGNORECASE)
_SEGMENTS = re.compile(r"(?<=[.!?;])\s+|(?:^|\s+)-\s+")
_INDICATION = re.compile(r"^\s*((?:Indication|OTHER INDICATIONS)[^:]*):")
_NO_ADVICE = re.compile(r"^(?:it is not possible|there is insufficient)", re.IGNORECASE)
_PERCENT = re.compile(r"\b(\d+(?:\.\d+)?)\s*%\s*(?:of\b|reduction|lower)", re.IGNORECASE)
_INCREASE_PERCENT = re.compile(r"\bto (\d+(?:\.\d+)?)\s*%", re.IGNORECASE)
_CUES: tuple[tuple[GuidanceAction, re.Pattern[str]], ...] = (
    ("avoid", re.compile(r"\b(?:avoid|do not use)\b", re.IGNORECASE)),
    ("use_alternative", re.compile(
        r"\balternative\b|\bnot (?:predominantly |primarily )?metaboli[sz]ed by\b", re.IGNORECASE
    )),
    ("reduce_dose", re.compile(
        r"\b(?:lower|reduc\w*|decreas\w*|half|no more than|exceed\w*)\b",
        re.IGNORECASE,
    )),
    ("increase_dose", re.compile(
        r"\b(?:increas\w*|higher|double|\d+(?:\.\d+)? times)\b", re.IGNORECASE
    )),
    ("monitor", re.compile(
        r"\b(?:monitor\w*|alert|plasma concentrations?|therapeutic drug monitoring)\b",
        re.IGNORECASE,
    )),
)  # fmt: skip
_INDICATION_WORD = {"depression": "DEPRESSION", "anxiety": "ANXIETY"}
DECREASED = ("poor", "intermediate", "decreased")
INCREASED = ("ultrarapid", "rapid", "increased")


def direction(phenotype: str | None) -> bool | None:
    """True for a decreased-function phenotype, False for an increased one, else None."""
    text = (phenotype or "").lower()
    if any(w in text for w in DECREASED):
        return True
    if any(w in text for w in INCREASED):
        return False
    return None


def for_indication(text: str, condition: str | None) -> str | None:
    """The part of a per-indication row that applies to ``condition``: the whole text when the
    row is not written per indication, None when it is and no part covers the condition.
    Headers are lines that open with ``Indication ...:`` or ``OTHER INDICATIONS:`` (DPWG)."""
    parts: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        m = _INDICATION.match(line)
        if m:
            parts.append((m.group(1).upper(), [line[m.end() :].strip()]))
        elif parts:
            parts[-1][1].append(line)
        elif line.strip():
            return text  # text before any header: not written per indication
    if not parts:
        return text
    want = _INDICATION_WORD.get(condition or "", "OTHER")
    for header, lines in parts:
        if want in header:
            return "\n".join(lines).strip()
    return None


def _segments(text: str) -> list[str]:
    main = text.split("Other Considerations", 1)[0]
    return [s.strip(" -") for s in _SEGMENTS.split(main) if s and s.strip(" -")]


def _cue(segment: str) -> GuidanceAction | None:
    found: list[tuple[int, GuidanceAction]] = []
    for action, pattern in _CUES:
        m = pattern.search(segment)
        if m:
            found.append((m.start(), action))
    for m in _PERCENT.finditer(segment):
        value = float(m.group(1))
        if value != 100:
            found.append((m.start(), "reduce_dose" if value < 100 else "increase_dose"))
    found += [(m.start(), "increase_dose") for m in _INCREASE_PERCENT.finditer(segment)
              if float(m.group(1)) > 100]  # fmt: skip
    if any(action == "avoid" for _, action in found):
        return "avoid"  # "if alternatives are available, do not use" is still do-not-use
    return min(found)[1] if found else None


def guidance_action(
    rec: DrugRecommendation,
    phenotype: str | None,
    condition: str | None = None,
    normal_text: str | None = None,
) -> GuidanceAction:
    """The one-word action of a recommendation (module docstring); ``normal_text``: the same
    guideline's normal-metaboliser text for the population, when it has one."""
    if not rec.matched or rec.classification in NO_DECISION or _NO_GUIDANCE.search(rec.text):
        return "no_guidance"
    text = for_indication(rec.text, condition)
    if text is None:
        return "no_guidance"
    segments = [s for s in _segments(text) if not _NO_ADVICE.match(s)]
    decreased = direction(phenotype)
    for i, seg in enumerate(segments):
        if _STANDARD.match(seg):
            nxt = segments[i + 1] if i + 1 < len(segments) else ""
            change = _cue(nxt) if nxt.lower().startswith("consider") else None
            return change if change in ("reduce_dose", "increase_dose") else "standard_dose"
        if _REGIMEN.match(seg):
            same = normal_text is not None and normal_text.strip() == rec.text.strip()
            changed = rec.dosing_information and decreased and not same
            return "reduce_dose" if changed else "standard_dose"
        action = _cue(seg)
        if action is not None:
            return action
    if rec.alternate_drug:
        return "use_alternative"
    if rec.dosing_information and decreased is not None:
        return "reduce_dose" if decreased else "increase_dose"
    return "monitor"


def _shown(rec: DrugRecommendation, condition: str | None) -> str:
    if not rec.matched:
        return rec.text
    part = for_indication(rec.text, condition)
    if part is None:
        return f"No recommendation for this indication ({condition}); the row reads: {rec.text}"
    return part


def strongest(actions: Iterable[GuidanceAction]) -> GuidanceAction:
    return max(actions, key=ORDER.index, default="no_guidance")


def _population_fits(population: str, current: bool, age: float | None) -> bool:
    p = population.lower()
    if "no alternative" in p:
        return False  # a ranking of candidates is a choice among alternatives
    if "naive" in p:
        return not current
    if ">3" in p.replace(" ", ""):
        return current
    if p == "adults":
        return age is None or age >= 18
    if p == "pediatrics":
        return age is None or age < 18
    return True


def pgx_guidance(
    kb: KnowledgeBase,
    drug: str,
    result: SampleResult,
    co_medicines: Iterable[str],
    *,
    condition: str | None = None,
    current: bool = False,
    age: float | None = None,
) -> list[OptionPgx]:
    """One entry per gene of every CPIC/DPWG recommendation for ``drug`` that fits a new
    prescription (or the current one), looked up with the phenotypes after phenoconversion
    by ``co_medicines`` (``drug`` itself excluded)."""
    co = set(co_medicines) - {drug}
    result, inferred = _inhibited_without_genotype(kb, result, co)
    ctx = build_context(kb, result, co)
    calls = {c.gene: c for c in result.genes}
    recs = [
        r for r in recommend_drug(kb, drug, ctx) if _population_fits(r.population, current, age)
    ]
    # A guideline that matched in one population says nothing more by its unmatched ones
    # (CPIC atomoxetine's "general" population holds only the copy-number input note).
    matched = {r.guideline for r in recs if r.matched}
    recs = [r for r in recs if r.matched or r.guideline not in matched]
    out: list[OptionPgx] = []
    seen: set[tuple[object, ...]] = set()
    for rec in recs:
        genes = rec.genes or sorted(rec.lookup_keys)
        for gene in genes:
            call = calls.get(gene)
            options = ctx.options.get(gene) or []
            converted = next((o.converted for o in options if o.converted is not None), None)
            called = call is not None and call.called and gene not in inferred
            if gene.startswith("HLA-"):
                # the allele status the row was looked up with; a genotyped result that no row
                # of this guideline covers (DPWG lists only "positive") is the call's summary
                pheno = (
                    (rec.lookup_keys.get(gene) if rec.matched else None)
                    or (call.phenotype if call is not None and called else None)
                    if called
                    else None
                )
                effective = pheno
            else:
                pheno = call.phenotype if called and call is not None else None
                effective = converted.effective_phenotype if converted else pheno
            caveats = list(rec.caveats)
            if current and rec.population and ">3" in rec.population.replace(" ", ""):
                caveats.append(Caveat(code="duration_assumed", kind=CaveatKind.WARNING, message=(
                    f"the advice for {drug} taken for more than 3 months is shown because the "
                    "patient takes it now; if it was started recently, the advice for a new "
                    "start applies")))  # fmt: skip
            if gene in inferred:
                caveats.append(inferred[gene])
            elif not called:
                caveats.append(Caveat(code="gene_not_genotyped", kind=CaveatKind.WARNING,
                                      message=f"{gene} was not genotyped: this guidance could not "
                                      "be applied (not assumed normal)"))  # fmt: skip
            action = (
                guidance_action(rec, effective, condition, _normal_text(kb, rec, gene))
                if effective is not None
                else "no_guidance"
            )
            shown = _shown(rec, condition)
            key = (rec.source, gene, rec.population, action, shown, effective)
            if key in seen:  # the same advice reached through two keys ("3.0" and ">=3.0")
                continue
            seen.add(key)
            out.append(
                OptionPgx(
                    gene=gene,
                    phenotype=pheno,
                    effective_phenotype=effective,
                    source=rec.source,
                    classification=rec.classification,
                    action=action,
                    recommendation=shown,
                    activity_score=call.activity_score if called and call is not None else None,
                    effective_activity_score=(
                        converted.effective_activity_score
                        if converted
                        else (call.activity_score if called and call is not None else None)
                    ),
                    caused_by=list(converted.caused_by) if converted else [],
                    guideline=rec.guideline,
                    guideline_url=rec.guideline_url,
                    population=rec.population or None,
                    caveats=caveats,
                )
            )
    return out


def _inhibited_without_genotype(
    kb: KnowledgeBase, result: SampleResult, co_medicines: set[str]
) -> tuple[SampleResult, dict[str, Caveat]]:
    """A strong CYP2D6 inhibitor sets the activity score to 0 whatever the genotype: an
    untyped CYP2D6 is then read as Poor Metabolizer (said in a caveat; the genotype stays
    missing), never left without guidance while the inhibitor makes the phenotype known."""
    strong = sorted({m.drug for m in kb.prescribing.modulators if m.drug in co_medicines
                     and m.gene == "CYP2D6" and m.role == "inhibitor"
                     and m.strength == "strong"})  # fmt: skip
    known = next((c for c in result.genes if c.gene == "CYP2D6"), None)
    if not strong or (known is not None and known.called):
        return result, {}
    note = Caveat(code="inhibitor_without_genotype", kind=CaveatKind.WARNING, message=(
        f"CYP2D6 was not genotyped; {', '.join(strong)} (strong CYP2D6 inhibitor) makes the "
        "effective phenotype Poor Metabolizer whatever the genotype (activity score 0), so the "
        "Poor Metabolizer guidance is shown"))  # fmt: skip
    proxy = GeneCall(gene="CYP2D6", called=True, phenotype="Poor Metabolizer",
                     activity_score="0.0", lookup_key="0.0", source="outside",
                     positions=PositionSummary(total=0, found=0))  # fmt: skip
    genes = [c for c in result.genes if c.gene != "CYP2D6"] + [proxy]
    return result.model_copy(update={"genes": genes}), {"CYP2D6": note}


def _normal_text(kb: KnowledgeBase, rec: DrugRecommendation, gene: str) -> str | None:
    """The text of the same guideline's single-gene normal-metaboliser row for the
    recommendation's population (to tell a written-out regimen that equals it)."""
    for g in kb.prescribing.guidelines:
        if g.name != rec.guideline:
            continue
        for r in g.recommendations:
            key = r.lookup.get(gene)
            single = len(r.lookup) == 1 and r.population == rec.population
            if single and isinstance(key, str) and key in NORMAL_KEYS:
                return r.text
    return None


def missing_genes(entries: Iterable[OptionPgx]) -> list[str]:
    """The guideline genes without a genotype, in first-seen order."""
    return list(dict.fromkeys(e.gene for e in entries if e.phenotype is None))
