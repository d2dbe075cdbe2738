"""Build-time allele frequencies from the 1000 Genomes phased panel (``tools/build_kb.py``).

Kept out of the runtime package: the panel VCFs are read here, at build time only; the
engine reads the frequencies it needs from the knowledge base.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from precisionrx.engines.pgx.cohort import best_alleles, haplotype_matches
from precisionrx.engines.pgx.matcher import compile_gene
from precisionrx.engines.pgx.observe import observe
from precisionrx.io.vcf import VcfFile
from precisionrx.kb.registry import KnowledgeBase


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


def haplotype_alleles_from_panel(
    kb: KnowledgeBase,
    gene: str,
    path: Path,
    complete: set[str] | None = None,
    samples: list[str] | None = None,
) -> Iterator[list[str]]:
    """Best named alleles of each haplotype of a fully phased panel.

    Positions absent from the panel are missing (the panel dropped some common sites), so
    only alleles whose defining positions are all in the panel (added to ``complete``)
    can be counted reliably.
    """
    defn = kb.definition(gene)
    with VcfFile(path) as vcf:
        if samples is not None:  # haplotype h belongs to samples[h // 2]
            samples.extend(vcf.samples)
        chrom = defn.chromosome.removeprefix("chr")
        (records,) = vcf.fetch([(chrom, defn.start - 50, defn.end + 50)])
        obs = observe(
            defn, defn.positions, records, vcf.samples, [p.position for p in defn.positions]
        )
    in_panel: npt.NDArray[np.bool_] = np.asarray(obs.present.any(axis=0), dtype=bool)
    if complete is not None:
        ref = defn.reference_allele
        for allele in defn.alleles:
            cols = [
                j for j, d in enumerate(allele.defined) if d is not None and d != ref.defined[j]
            ]
            if all(in_panel[j] for j in cols):
                complete.add(allele.name)
    absent = ~obs.present & in_panel[None, :]
    obs.codes[absent] = 0  # a panel site not called in a sample: reference in this panel
    obs.present[absent] = True
    comp = compile_gene(defn, obs)
    match, scores = haplotype_matches(comp, obs, len(defn.positions))
    for h in range(match.shape[0]):
        yield best_alleles(comp, match, scores, h)
