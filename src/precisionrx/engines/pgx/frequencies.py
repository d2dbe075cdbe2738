"""Population haplotype frequencies (1KGP 30x panel) for ranking ambiguous diplotypes.

PharmCAT breaks unphased ties by an arbitrary score; we rank tied diplotypes by their
prior probability under Hardy-Weinberg from panel haplotype counts,
P(A/B) ∝ f(A)·f(B)·(2 if A≠B else 1), with a pseudocount of 0.5 per allele, and report
the normalised probabilities (unrounded) next to the full candidate list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

PSEUDOCOUNT = 0.5


def rank_diplotypes(
    pairs: list[tuple[str, str | None]],
    counts: dict[str, int] | None,
    no_frequency: frozenset[str] = frozenset(),
    unobserved: dict[str, int] | None = None,
) -> tuple[list[tuple[str, str | None]], list[float] | None]:
    """Order tied diplotypes most likely first (the full list is kept); probabilities sum to 1.

    Returns no probabilities when the gene has no panel data or any candidate allele has
    defining positions absent from the panel (its frequency is unknown). The candidates are
    then still ordered: first by how many of their defining variants sit at positions the
    input lacks (``unobserved``: an allele that needs an extra, unseen variant is the less
    likely explanation, e.g. CYP2D6 *10 before *37 when *37's own variant is missing), then
    by the panel counts (pseudocount for unseen alleles), ties kept in order.
    """
    if len(pairs) == 1:
        return pairs, [1.0]
    unseen = unobserved or {}

    def extra(pair: tuple[str, str | None]) -> int:
        return sum(unseen.get(x, 0) for x in pair if x is not None)

    if not counts:
        return sorted(pairs, key=extra), None
    names = {x for pair in pairs for x in pair if x is not None}
    total = sum(counts.values()) + PSEUDOCOUNT * max(len(counts), 1)

    def freq(a: str) -> float:
        return (counts.get(a, 0) + PSEUDOCOUNT) / total

    weights = []
    for a, b in pairs:
        if b is None:
            weights.append(freq(a))
        else:
            weights.append(freq(a) * freq(b) * (1.0 if a == b else 2.0))
    w = np.asarray(weights)
    probs = w / w.sum()
    if names & no_frequency:
        order = sorted(range(len(pairs)), key=lambda i: (extra(pairs[i]), -probs[i], i))
        return [pairs[i] for i in order], None
    order = sorted(range(len(pairs)), key=lambda i: (-probs[i], i))
    return [pairs[i] for i in order], [float(probs[i]) for i in order]


def panel_haplotype_counts(
    panel_dir: Path, populations: dict[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """Count named alleles over every phased haplotype of the per-gene panel VCFs.

    Only polymorphic sites were kept in the panel, so absent positions are reference there.
    ``populations`` (sample -> 1KGP super-population) adds per-population counts over the
    labelled samples: ``populations: {POP: {"haplotypes": n, "counts": {allele: k}}}``, where
    ``n`` counts every labelled haplotype (matched to one named allele or not), so that
    ``k / n`` is a frequency. Used by ``tools/build_kb.py``; not called at run time.
    """
    from precisionrx.engines.pgx.cohort import haplotype_alleles_from_panel
    from precisionrx.kb.registry import KnowledgeBase

    kb = KnowledgeBase()
    labels = populations or {}
    out: dict[str, dict[str, Any]] = {}
    for vcf in sorted(panel_dir.glob("*.vcf.gz")):
        gene = vcf.name.split(".")[0]
        counts: dict[str, int] = {}
        by_pop: dict[str, dict[str, Any]] = {}
        complete: set[str] = set()
        samples: list[str] = []
        for h, names in enumerate(haplotype_alleles_from_panel(kb, gene, vcf, complete, samples)):
            pop = labels.get(samples[h // 2])
            if pop is not None:
                entry = by_pop.setdefault(pop, {"haplotypes": 0, "counts": {}})
                entry["haplotypes"] += 1
            if len(names) == 1 and names[0] in complete:
                counts[names[0]] = counts.get(names[0], 0) + 1
                if pop is not None:
                    entry["counts"][names[0]] = entry["counts"].get(names[0], 0) + 1
        incomplete = sorted(a.name for a in kb.definition(gene).alleles if a.name not in complete)
        out[gene] = {
            "counts": dict(sorted(counts.items(), key=lambda kv: -kv[1])),
            "no_frequency": incomplete,
        }
        if by_pop:
            out[gene]["populations"] = {
                pop: {
                    "haplotypes": v["haplotypes"],
                    "counts": dict(sorted(v["counts"].items(), key=lambda kv: -kv[1])),
                }
                for pop, v in sorted(by_pop.items())
            }
    return out


def panel_position_frequencies(
    panel_dir: Path, populations: dict[str, str]
) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """Per gene, position and 1KGP super-population: the frequency of each non-reference
    allele among the labelled samples' haplotypes (``{gene: {label: {POP: {allele: f}}}}``).

    A position absent from the panel is reference in every panel sample (only polymorphic
    sites were kept) and is left out. Used by ``tools/build_kb.py``; not called at run time.
    """
    from precisionrx.engines.pgx.observe import observe
    from precisionrx.io.vcf import VcfFile
    from precisionrx.kb.registry import KnowledgeBase

    kb = KnowledgeBase()
    out: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for vcf_path in sorted(panel_dir.glob("*.vcf.gz")):
        gene = vcf_path.name.split(".")[0]
        defn = kb.definition(gene)
        with VcfFile(vcf_path) as vcf:
            chrom = defn.chromosome.removeprefix("chr")
            (records,) = vcf.fetch([(chrom, defn.start - 50, defn.end + 50)])
            samples = list(vcf.samples)
            obs = observe(
                defn, defn.positions, records, samples, [p.position for p in defn.positions]
            )
        pops = np.asarray([populations.get(x, "") for x in samples])
        per_pos: dict[str, dict[str, dict[str, float]]] = {}
        for j, pos in enumerate(defn.positions):
            if not obs.present[:, j].any():
                continue
            entry: dict[str, dict[str, float]] = {}
            for pop in sorted(set(pops) - {""}):
                codes = obs.codes[pops == pop, j, :].reshape(-1)
                called = codes[codes >= 0]
                if not len(called):
                    continue
                freqs = {
                    obs.allele_table[j][int(c)]: float(np.mean(called == c))
                    for c in np.unique(called)
                    if obs.allele_table[j][int(c)] != pos.ref
                }
                if freqs:
                    entry[pop] = freqs
            if entry:
                per_pos[pos.label] = entry
        out[gene] = per_pos
    return out
