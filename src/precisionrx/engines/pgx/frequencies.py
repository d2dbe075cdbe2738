"""Population haplotype frequencies (1KGP 30x panel) for ranking ambiguous diplotypes.

PharmCAT breaks unphased ties by an arbitrary score; we rank tied diplotypes by their
prior probability under Hardy-Weinberg from panel haplotype counts,
P(A/B) ∝ f(A)·f(B)·(2 if A≠B else 1), with a pseudocount of 0.5 per allele, and report
the normalised probabilities (unrounded) next to the full candidate list.
"""

from __future__ import annotations

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
