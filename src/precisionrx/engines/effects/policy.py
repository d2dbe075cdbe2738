"""An explainable treatment rule: a shallow policy tree on doubly-robust scores
(``precisionrx effects policy``).

The scores (Athey & Wager, Econometrica 2021; the ``policytree`` package's exact search):
Gamma1 and Gamma0 per row from cross-fitted nuisances (learners.dr_scores, with the model's base
families); the benefit of treating row i is b_i = Gamma1_i - Gamma0_i - cost. A tree of depth
1 or 2 with axis-aligned splits is chosen by exhaustive search to maximise the sum of the
benefits of the rows it treats (each leaf treats when its total benefit is positive). Split
points per feature: every distinct value when there are at most 32, else the 32 quantiles;
every leaf holds at least 5 % of the rows and at least 10 rows (:func:`min_leaf_size`).

The value of a rule, V(pi) = mean(Gamma0 + pi(x) b), is estimated out of sample: the tree is
learned on four fifths of the rows and applied to the held-out fifth (5 folds), so the value
and its normal interval (standard error over rows) describe the rule-learning procedure
without the optimism of scoring a tree on its own data; the rule shown is learned on all rows.
Treat-all and treat-none values, the gains over them (paired standard errors) and, per leaf
of the shown rule, the number of rows and the mean benefit with its interval complete it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.stats import norm
from sklearn.model_selection import KFold

from precisionrx.engines.effects.learners import Array, Bases, dr_scores
from precisionrx.errors import InputError

MAX_SPLITS = 32
MAX_DEPTH = 2
MIN_LEAF_SHARE = 0.05
MIN_LEAF_ROWS = 10


@dataclass
class Node:
    """A leaf (``action`` set) or a split ``feature <= threshold`` (left) / ``>`` (right)."""

    action: int | None = None
    feature: int | None = None
    threshold: float | None = None
    left: Node | None = None
    right: Node | None = None
    gain: float = 0.0

    def act(self, x: Array) -> NDArray[np.int64]:
        if self.action is not None:
            return np.full(len(x), self.action, dtype=np.int64)
        assert self.feature is not None and self.threshold is not None
        assert self.left is not None and self.right is not None
        go_left = x[:, self.feature] <= self.threshold
        out = np.empty(len(x), dtype=np.int64)
        out[go_left] = self.left.act(x[go_left])
        out[~go_left] = self.right.act(x[~go_left])
        return out

    def leaves(self, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Node]]:
        if self.action is not None:
            return [(path, self)]
        assert self.left is not None and self.right is not None
        return [*self.left.leaves((*path, "<=")), *self.right.leaves((*path, ">"))]


def _candidates(column: Array) -> Array:
    values = np.unique(column)
    if len(values) <= 1:
        return np.empty(0)
    if len(values) <= MAX_SPLITS:
        return np.asarray(values[:-1], dtype=np.float64)
    cuts = np.unique(np.quantile(column, np.linspace(0, 1, MAX_SPLITS + 2)[1:-1]))
    return np.asarray(cuts[cuts < values[-1]], dtype=np.float64)


def _leaf(b: Array) -> tuple[float, Node]:
    total = float(b.sum())
    return (total, Node(action=1)) if total > 0 else (0.0, Node(action=0))


def _best_stump(x: Array, b: Array, min_leaf: int) -> tuple[float, Node]:
    """The best single split (or leaf), by cumulative sums over each sorted feature."""
    best_reward, best_node = _leaf(b)
    total = float(b.sum())
    for j in range(x.shape[1]):
        cuts = _candidates(x[:, j])
        if not len(cuts):
            continue
        order = np.argsort(x[:, j], kind="stable")
        cum = np.concatenate([[0.0], np.cumsum(b[order])])
        left_n = np.searchsorted(x[order, j], cuts, side="right")
        bl = cum[left_n]
        br = total - bl
        rewards = np.maximum(bl, 0.0) + np.maximum(br, 0.0)
        small = (left_n < min_leaf) | (len(b) - left_n < min_leaf)
        rewards = np.where(small, -np.inf, rewards)
        k = int(np.argmax(rewards))
        if rewards[k] > best_reward + 1e-12:
            best_reward = float(rewards[k])
            sides = Node(action=int(bl[k] > 0)), Node(action=int(br[k] > 0))
            best_node = Node(feature=j, threshold=float(cuts[k]), left=sides[0], right=sides[1])
    return best_reward, best_node


def _best(x: Array, b: Array, depth: int, min_leaf: int) -> tuple[float, Node]:
    """The tree of at most ``depth`` maximising the treated rows' total benefit, every leaf
    holding at least ``min_leaf`` rows."""
    if depth == 1 or len(b) < 2 * min_leaf:
        return _best_stump(x, b, min_leaf) if depth >= 1 else _leaf(b)
    best_reward, best_node = _best_stump(x, b, min_leaf)
    for j in range(x.shape[1]):
        for s in _candidates(x[:, j]):
            left = x[:, j] <= s
            if min(int(left.sum()), int((~left).sum())) < min_leaf:
                continue
            rl, nl = _best(x[left], b[left], depth - 1, min_leaf)
            rr, nr = _best(x[~left], b[~left], depth - 1, min_leaf)
            if rl + rr > best_reward + 1e-12:
                best_reward = rl + rr
                best_node = Node(feature=j, threshold=float(s), left=nl, right=nr)
    return best_reward, best_node


def _simplify(node: Node) -> Node:
    """Merge a split whose two sides take the same action."""
    if node.action is not None:
        return node
    assert node.left is not None and node.right is not None
    left, right = _simplify(node.left), _simplify(node.right)
    if left.action is not None and left.action == right.action:
        return Node(action=left.action)
    return Node(feature=node.feature, threshold=node.threshold, left=left, right=right)


def min_leaf_size(n: int) -> int:
    """Every leaf of a rule covers at least 5 % of the rows and at least 10 rows (a project
    choice for readable rules, not a clinical threshold)."""
    return max(MIN_LEAF_ROWS, int(np.ceil(MIN_LEAF_SHARE * n)))


def learn_tree(x: Array, benefit: Array, depth: int) -> Node:
    if not 1 <= depth <= MAX_DEPTH:
        raise InputError(f"--max-depth must be 1 or {MAX_DEPTH} (got {depth})")
    return _simplify(_best(x, benefit, depth, min_leaf_size(len(benefit)))[1])


@dataclass
class Estimate:
    estimate: float
    ci_lower: float
    ci_upper: float


@dataclass
class PolicyResult:
    tree: Node
    rules: list[str]
    value: dict[str, Estimate]
    leaves: list[dict[str, object]] = field(default_factory=list)
    n: int = 0
    treated_share: float = 0.0


def _estimate(values: Array, z: float) -> Estimate:
    m = float(values.mean())
    se = float(values.std(ddof=1) / np.sqrt(len(values)))
    return Estimate(m, m - z * se, m + z * se)


def _describe(path: tuple[str, ...], splits: list[tuple[str, float]]) -> str:
    if not path:
        return "everyone"
    return " and ".join(f"{f} {op} {s:.6g}" for (f, s), op in zip(splits, path, strict=True))


def policy(
    x: Array,
    t: Array,
    y: Array,
    features: list[str],
    bases: Bases,
    *,
    depth: int = 2,
    cost: float = 0.0,
    alpha: float = 0.05,
    seed: int = 0,
    design: Array | None = None,
) -> PolicyResult:
    """The rule, its out-of-sample value against treat-all and treat-none, and its leaves.
    ``design``: the nuisance models' columns (features then controls; default ``x``)."""
    g0, g1 = dr_scores(x if design is None else design, t, y, bases, seed)
    benefit = g1 - g0 - cost
    z = float(norm.ppf(1 - alpha / 2))
    chosen = np.empty(len(y), dtype=np.int64)
    folds = KFold(n_splits=5, shuffle=True, random_state=seed + 2)
    for train, test in folds.split(x):
        chosen[test] = learn_tree(x[train], benefit[train], depth).act(x[test])
    value_pi = g0 + chosen * benefit
    tree = learn_tree(x, benefit, depth)
    value = {
        "policy": _estimate(value_pi, z),
        "treat_all": _estimate(g1 - cost, z),
        "treat_none": _estimate(g0, z),
        "gain_vs_treat_all": _estimate(value_pi - (g1 - cost), z),
        "gain_vs_treat_none": _estimate(value_pi - g0, z),
    }
    leaves: list[dict[str, object]] = []
    rules: list[str] = []
    for path, leaf in tree.leaves():
        splits = _splits(tree, path, features)
        mask = _mask(tree, path, x)
        what = "treat" if leaf.action == 1 else "do not treat"
        rule = _describe(path, splits)
        rules.append(f"{rule}: {what}")
        b = benefit[mask]
        est = _estimate(b, z) if len(b) > 1 else None
        leaves.append({"rule": rule, "action": what, "n": int(mask.sum()),
                       "share": float(mask.mean()), "mean_benefit": float(b.mean()),
                       "ci_lower": est.ci_lower if est else None,
                       "ci_upper": est.ci_upper if est else None})  # fmt: skip
    return PolicyResult(tree, rules, value, leaves, len(y), float(tree.act(x).mean()))


def _splits(tree: Node, path: tuple[str, ...], features: list[str]) -> list[tuple[str, float]]:
    out = []
    node = tree
    for step in path:
        assert node.feature is not None and node.threshold is not None
        out.append((features[node.feature], node.threshold))
        nxt = node.left if step == "<=" else node.right
        assert nxt is not None
        node = nxt
    return out


def _mask(tree: Node, path: tuple[str, ...], x: Array) -> NDArray[np.bool_]:
    mask = np.ones(len(x), dtype=bool)
    node = tree
    for step in path:
        assert node.feature is not None and node.threshold is not None
        side = x[:, node.feature] <= node.threshold
        mask &= side if step == "<=" else ~side
        nxt = node.left if step == "<=" else node.right
        assert nxt is not None
        node = nxt
    return mask
