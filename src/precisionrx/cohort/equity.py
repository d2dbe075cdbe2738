"""``cohort equity``: who a cohort run serves well and who it does not.

Over a finished cohort run (``cohort pgx|prs|risk|cgm``) and sample groups (columns of the
results, or of ``--groups FILE`` joined on the sample or person id; a sample without a group is
``unknown``):

- **PGx**: per group, gene and phenotype, the share of *called* samples with that phenotype
  with its 95 % Wilson score interval (Wilson 1927; Newcombe, Stat Med 1998;17:857, method 3),
  beside the share of samples the gene could not be called for. A phenotype is actionable in
  the plan's terms (plan/builder.py): not normal, rapid or indeterminate, nor the gene's
  reference phenotype.
- **Programme view**: per group, the patients whose plan would carry each pharmacogenomic
  finding ("CYP2C19 Poor Metabolizer"), and those with at least one.
- **PRS**: per group and score, the distribution of the score and the share of the score's
  variants matched, with the caveat that polygenic scores transfer poorly across ancestries.
- **Risk**: per group and model, the mean risk and the share at high risk (the model's own
  high categories, :data:`HIGH_CATEGORIES`; none for PREVENT, which has no categories), with
  its interval; with ``outcome``, calibration and the fairness audit per group through the
  ``fairness audit`` engine's own definitions.
- **CGM**: per group, the share meeting the consensus targets.
- A plain summary of the largest gaps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from precisionrx.errors import InputError

if TYPE_CHECKING:
    import polars as pl

    from precisionrx.kb.registry import KnowledgeBase

#: The categories each risk model calls high (docs/cli/risk.md): ACC/AHA PCE >= 20 %; ESC
#: SCORE2 / SCORE2-Diabetes high and very high; QRISK3 >= 10 % (NICE NG238 statin threshold);
#: ADA >= 5 points; FINDRISC high and very high. PREVENT has no validated categories: its
#: groups get no high-risk share.
HIGH_CATEGORIES: dict[str, frozenset[str]] = {
    "pce": frozenset({"high"}), "pce_revised": frozenset({"high"}),
    "score2": frozenset({"high", "very_high"}),
    "score2_diabetes": frozenset({"high", "very_high"}),
    "qrisk3": frozenset({"ge_10pct"}), "ada": frozenset({"high"}),
    "findrisc": frozenset({"high", "very_high"}),
}  # fmt: skip
#: The two-sided 95 % normal quantile.
Z95 = 1.959963984540054
UNKNOWN = "unknown"
#: Smallest group whose shares the summary compares (smaller ones are listed, not compared).
MIN_GROUP = 20
PRS_TRANSFER = (
    "Polygenic scores are developed mostly in people of European ancestry and transfer poorly "
    "to other ancestries: their distributions and accuracy differ between groups, and a "
    "percentile means little outside the population it was computed in."
)
LABELS_NOTE = (
    "Group labels describe how the samples were grouped (for 1000 Genomes, where they were "
    "collected), not a person's ancestry or race."
)


def wilson(k: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """The Wilson score interval of k successes in n trials (None, None when n is 0)."""
    if n <= 0:
        return None, None
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def read_groups(path: Path, key: str) -> pl.DataFrame:
    """A groups table (CSV, TSV or whitespace-separated, like the 1000 Genomes panel file):
    ``key`` (or the first column, renamed) and the group columns, all text."""
    import polars as pl

    from precisionrx.io.textio import check_input_file, read_text

    check_input_file(path, "groups")
    text = read_text(path, "groups")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise InputError("the groups file is empty", path=path)
    sep = "," if lines[0].count(",") > lines[0].count("\t") else None
    rows = [[c.strip() for c in (line.split(sep) if sep else line.split())] for line in lines]
    header = rows[0]
    bad = next((i for i, r in enumerate(rows[1:], 2) if len(r) != len(header)), None)
    if bad is not None:
        raise InputError(f"has {len(rows[bad - 1])} fields where the header has {len(header)}",
                         path=path, record=f"line {bad}")  # fmt: skip
    frame = pl.DataFrame(rows[1:], schema=header, orient="row")
    if key not in frame.columns:
        frame = frame.rename({header[0]: key})
    if frame[key].is_duplicated().any():
        dup = frame.filter(pl.col(key).is_duplicated())[key][0]
        raise InputError(f"{key} {dup!r} is listed more than once", path=path)
    return frame


def with_groups(
    results: pl.DataFrame, key: str, columns: Sequence[str], groups: pl.DataFrame | None
) -> pl.DataFrame:
    """``results`` with each grouping column (from the results or joined from ``groups``);
    an empty or missing group is :data:`UNKNOWN`."""
    import polars as pl

    frame = results
    if groups is not None:
        wanted = [c for c in columns if c in groups.columns and c not in results.columns]
        if wanted:
            frame = frame.join(groups.select([key, *wanted]), on=key, how="left")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        where = "the results or the groups file" if groups is not None else "the results"
        raise InputError(f"no column {', '.join(repr(m) for m in missing)} in {where}",
                         hint="--groups FILE adds columns joined on " + key)  # fmt: skip
    return frame.with_columns(
        [pl.col(c).cast(pl.Utf8).replace("", None).fill_null(UNKNOWN).alias(c) for c in columns]
    )


def _actionable(kb: KnowledgeBase, gene: str, phenotype: str | None) -> bool:
    from precisionrx.engines.pgx.phenotyper import reference_phenotype
    from precisionrx.plan.builder import NORMAL_PREFIXES

    if not phenotype:
        return False
    return not (phenotype.startswith(NORMAL_PREFIXES) or phenotype == reference_phenotype(kb, gene))


def pgx_equity(frame: pl.DataFrame, columns: Sequence[str], kb: KnowledgeBase) -> dict[str, Any]:
    import polars as pl

    rows: list[dict[str, Any]] = []
    programme: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    # decided once per distinct gene and phenotype, then joined (not a Python call per row)
    pairs = frame.select("gene", "phenotype").unique()
    decided = [_actionable(kb, g, p) for g, p in pairs.iter_rows()]
    lookup = pairs.with_columns(pl.Series("_act", decided, dtype=pl.Boolean))
    actionable = {(g, p): a for g, p, a in lookup.iter_rows()}
    # a null phenotype joins nothing and is not actionable, as _actionable says
    flagged = (frame.join(lookup, on=["gene", "phenotype"], how="left")
               .with_columns((pl.col("_act").fill_null(False) & pl.col("called"))
                             .alias("_actionable"))
               .drop("_act"))  # fmt: skip
    for column in columns:
        per_gene = flagged.group_by(column, "gene").agg(
            pl.len().alias("samples"), pl.col("called").sum().alias("called")
        )
        for group, gene, samples, called in per_gene.sort(column, "gene").iter_rows():
            share = (samples - called) / samples if samples else None
            calls.append({"grouping": column, "group": group, "gene": gene, "samples": samples,
                          "called": called, "not_called": samples - called,
                          "not_called_share": share})  # fmt: skip
        counts = (flagged.filter(pl.col("called") & pl.col("phenotype").is_not_null())
                  .group_by(column, "gene", "phenotype").agg(pl.len().alias("count")))  # fmt: skip
        called_n = {(g, gene): c for g, gene, _, c in per_gene.iter_rows()}
        total_n = {(g, gene): s for g, gene, s, _ in per_gene.iter_rows()}
        for group, gene, phenotype, count in counts.sort(column, "gene", "phenotype").iter_rows():
            n = called_n[(group, gene)]
            low, high = wilson(count, n)
            rows.append({"grouping": column, "group": group, "gene": gene, "phenotype": phenotype,
                         "actionable": actionable.get((gene, phenotype), False), "count": count,
                         "called": n, "frequency": count / n if n else None, "ci_low": low,
                         "ci_high": high, "samples": total_n[(group, gene)],
                         "not_called_share": (total_n[(group, gene)] - n) / total_n[(group, gene)]
                         if total_n[(group, gene)] else None})  # fmt: skip
        people = flagged.group_by(column).agg(pl.col("sample").n_unique().alias("patients"))
        with_any = (flagged.filter("_actionable").group_by(column)
                    .agg(pl.col("sample").n_unique().alias("with_finding")))  # fmt: skip
        finding = (pl.col("gene") + " " + pl.col("phenotype")).alias("finding")
        patients = pl.col("sample").n_unique().alias("n")
        by_finding = (flagged.filter("_actionable").with_columns(finding)
                      .group_by(column, "finding").agg(patients))  # fmt: skip
        totals = dict(people.iter_rows())
        for group, n in sorted(dict(with_any.iter_rows()).items()):
            low, high = wilson(n, totals[group])
            programme.append({"grouping": column, "group": group,
                              "finding": "any pharmacogenomic finding", "patients": n,
                              "of": totals[group], "share": n / totals[group], "ci_low": low,
                              "ci_high": high})  # fmt: skip
        for group, finding, n in by_finding.sort(column, "finding").iter_rows():
            low, high = wilson(n, totals[group])
            programme.append({"grouping": column, "group": group, "finding": finding,
                              "patients": n, "of": totals[group], "share": n / totals[group],
                              "ci_low": low, "ci_high": high})  # fmt: skip
    return {"phenotypes": rows, "calls": calls, "programme": programme}


def prs_equity(frame: pl.DataFrame, columns: Sequence[str]) -> dict[str, Any]:
    import polars as pl

    rows: list[dict[str, Any]] = []
    for column in columns:
        stats = frame.group_by(column, "pgs_id").agg(
            pl.len().alias("n"), pl.col("sum").mean().alias("mean"),
            pl.col("sum").std().alias("sd"), pl.col("sum").quantile(0.05).alias("p05"),
            pl.col("sum").median().alias("p50"), pl.col("sum").quantile(0.95).alias("p95"),
            pl.col("match_share").mean().alias("match_share_mean"),
            pl.col("match_share").min().alias("match_share_min"),
        )  # fmt: skip
        rows.extend({"grouping": column, "group": r[column],
                     **{k: v for k, v in r.items() if k != column}}
                    for r in stats.sort(column, "pgs_id").iter_rows(named=True))  # fmt: skip
    return {"scores": rows, "caveat": PRS_TRANSFER}


def risk_equity(
    frame: pl.DataFrame, columns: Sequence[str], outcome: str | None, threshold: float
) -> dict[str, Any]:
    import polars as pl

    rows = []
    audits = []
    models = ["model", "variant", "horizon_years", "outcome"]
    # high (True), not high (False), or no categories for this model (null); a join on a small
    # table of the high categories, not a Python call per result row
    high_table = pl.DataFrame(
        [(m, c, True) for m, cats in HIGH_CATEGORIES.items() for c in cats],
        schema=["model", "category", "_is_high"], orient="row",
    )  # fmt: skip
    scored = (frame.filter(pl.col("risk").is_not_null())
              .join(high_table, on=["model", "category"], how="left")
              .with_columns(pl.when(pl.col("model").is_in(list(HIGH_CATEGORIES)))
                            .then(pl.col("_is_high").fill_null(False)).alias("_high"))
              .drop("_is_high"))  # fmt: skip
    for column in columns:
        agg = scored.group_by(column, *models).agg(
            pl.len().alias("n"), pl.col("risk").mean().alias("mean_risk"),
            pl.col("_high").sum().alias("high"), pl.col("_high").is_null().all().alias("none"),
        )  # fmt: skip
        for r in agg.sort(column, *models).iter_rows(named=True):
            known = not r["none"]
            low, high = wilson(r["high"], r["n"]) if known else (None, None)
            rows.append({"grouping": column, "group": r[column],
                         **{k: r[k] for k in models}, "n": r["n"], "mean_risk": r["mean_risk"],
                         "high_risk": r["high"] if known else None,
                         "high_risk_share": r["high"] / r["n"] if known else None,
                         "ci_low": low, "ci_high": high})  # fmt: skip
    if outcome is not None:
        audits = _risk_audits(scored, columns, outcome, threshold)
    return {"risk": rows, "fairness": audits}


def _risk_audits(
    scored: pl.DataFrame, columns: Sequence[str], outcome: str, threshold: float
) -> list[dict[str, Any]]:
    """The fairness audit (engines/fairness, as ``fairness audit``) of each model, horizon and
    outcome against the observed ``outcome`` column (0/1)."""
    import numpy as np
    import polars as pl

    from precisionrx.engines.fairness.audit import audit_predictions
    from precisionrx.records.fairness import PredictionTable

    if outcome not in scored.columns:
        raise InputError(f"no outcome column {outcome!r} in the results or the groups file")
    observed = scored[outcome].cast(pl.Utf8).str.strip_chars()
    if not observed.drop_nulls().is_in(["0", "1", ""]).all():
        raise InputError(f"outcome column {outcome!r} must hold 0 or 1 (empty: unknown)")
    frame = scored.with_columns(observed.replace("", None).cast(pl.Int8).alias("_label"))
    out = []
    keys = ["model", "variant", "horizon_years", "outcome"]
    for key, part in frame.partition_by(keys, as_dict=True).items():
        usable = part.filter(pl.col("_label").is_not_null())
        dropped = part.height - usable.height
        if usable.height == 0:
            continue
        table = PredictionTable(
            labels=usable["_label"].to_numpy().astype(np.int8),
            scores=usable["risk"].to_numpy().astype(np.float64),
            preds=None,
            groups={c: usable[c].to_numpy().astype(str) for c in columns},
            label=outcome, score="risk", n_dropped=dropped,
            n_dropped_by_column={outcome: dropped},
        )  # fmt: skip
        audit = audit_predictions(table, threshold=threshold)
        out.append({**dict(zip(keys, key, strict=True)),
                    "audit": audit.model_dump(mode="json", exclude={"provenance"})})  # fmt: skip
    return out


def cgm_equity(frame: pl.DataFrame, columns: Sequence[str]) -> dict[str, Any]:
    import polars as pl

    rows = []
    for column in columns:
        agg = frame.group_by(column).agg(
            pl.len().alias("n"), pl.col("sufficient_data").sum().alias("sufficient"),
            (pl.col("consensus_met") & pl.col("sufficient_data")).sum().alias("met"),
        )  # fmt: skip
        for group, n, sufficient, met in agg.sort(column).iter_rows():
            low, high = wilson(met, sufficient)
            rows.append({"grouping": column, "group": group, "subjects": n,
                         "sufficient_data": sufficient,
                         "targets_met": met, "targets_met_share": met / sufficient
                         if sufficient else None, "ci_low": low, "ci_high": high})  # fmt: skip
    return {"cgm": rows}


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f} %"


def summary(kind: str, body: dict[str, Any]) -> list[str]:
    """Plain sentences on the largest gaps between groups of at least :data:`MIN_GROUP`."""
    lines: list[str] = []
    if kind == "pgx":
        gaps: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for r in body["phenotypes"]:
            if r["actionable"] and r["called"] >= MIN_GROUP and r["group"] != UNKNOWN:
                gaps.setdefault((r["grouping"], r["gene"], r["phenotype"]), []).append(r)
        ranked = sorted(
            ((max(g, key=lambda r: r["frequency"]), min(g, key=lambda r: r["frequency"]))
             for g in gaps.values() if len(g) > 1),
            key=lambda hl: hl[0]["frequency"] - hl[1]["frequency"], reverse=True,
        )  # fmt: skip
        for high, low in ranked[:5]:
            lines.append(
                f"{high['gene']} {high['phenotype']}: {_pct(high['frequency'])} of called "
                f"samples in {high['group']} (95 % CI {_pct(high['ci_low'])}–"
                f"{_pct(high['ci_high'])}) against {_pct(low['frequency'])} in {low['group']} "
                f"({high['grouping']})."
            )
        worst = sorted((c for c in body["calls"] if c["samples"] >= MIN_GROUP
                        and c["group"] != UNKNOWN and c["not_called_share"]),
                       key=lambda c: c["not_called_share"], reverse=True)[:3]  # fmt: skip
        lines.extend(
            f"{c['gene']} could not be called for {_pct(c['not_called_share'])} of samples "
            f"in {c['group']} ({c['not_called']} of {c['samples']}): their results are "
            "missing, not normal."
            for c in worst
        )
    elif kind == "prs":
        scores = [r for r in body["scores"] if r["n"] >= MIN_GROUP and r["group"] != UNKNOWN]
        by_score: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for r in scores:
            by_score.setdefault((r["grouping"], r["pgs_id"]), []).append(r)
        for (grouping, pgs), rs in sorted(by_score.items()):
            lo = min(rs, key=lambda r: r["match_share_mean"] or 0)
            hi = max(rs, key=lambda r: r["mean"] if r["mean"] is not None else -math.inf)
            lines.append(
                f"{pgs}: mean score highest in {hi['group']} ({grouping}); variants matched "
                f"lowest in {lo['group']} ({_pct(lo['match_share_mean'])} on average)."
            )
        lines.append(PRS_TRANSFER)
    elif kind == "risk":
        by_model: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for r in body["risk"]:
            if r["n"] >= MIN_GROUP and r["group"] != UNKNOWN and r["high_risk_share"] is not None:
                key = (r["grouping"], r["model"], r["horizon_years"], r["outcome"])
                by_model.setdefault(key, []).append(r)
        for (grouping, model, horizon, outcome), rs in sorted(by_model.items(), key=str):
            hi = max(rs, key=lambda r: r["high_risk_share"])
            lo = min(rs, key=lambda r: r["high_risk_share"])
            lines.append(
                f"{model} {outcome} ({horizon} y): high risk in {_pct(hi['high_risk_share'])} "
                f"of {hi['group']} against {_pct(lo['high_risk_share'])} of {lo['group']} "
                f"({grouping})."
            )
    elif kind == "cgm":
        rs = [r for r in body["cgm"] if r["sufficient_data"] >= MIN_GROUP
              and r["group"] != UNKNOWN]  # fmt: skip
        if len(rs) > 1:
            hi = max(rs, key=lambda r: r["targets_met_share"])
            lo = min(rs, key=lambda r: r["targets_met_share"])
            lines.append(
                f"Consensus CGM targets met by {_pct(hi['targets_met_share'])} in {hi['group']} "
                f"against {_pct(lo['targets_met_share'])} in {lo['group']} ({hi['grouping']})."
            )
    if not lines:
        lines.append(f"No two groups of at least {MIN_GROUP} to compare.")
    return lines


def equity(
    kind: str,
    results: pl.DataFrame,
    columns: Sequence[str],
    groups: pl.DataFrame | None,
    kb: KnowledgeBase,
    *,
    outcome: str | None = None,
    threshold: float = 0.075,
) -> dict[str, Any]:
    """The equity report of a finished run's results (see the module docstring)."""
    key = "sample" if kind in ("pgx", "prs") else ("id" if kind == "risk" else "subject")
    if kind == "cgm" and "subject" not in results.columns and "id" in results.columns:
        key = "id"
    frame = with_groups(results, key, columns, groups)
    if outcome and groups is not None and outcome in groups.columns and outcome not in frame:
        frame = frame.join(groups.select(key, outcome), on=key, how="left")
    if kind == "pgx":
        body = pgx_equity(frame, columns, kb)
    elif kind == "prs":
        body = prs_equity(frame, columns)
    elif kind == "risk":
        body = risk_equity(frame, columns, outcome, threshold)
    elif kind == "cgm":
        body = cgm_equity(frame, columns)
    else:
        raise InputError(f"equity analytics do not cover {kind!r} results")
    sizes = {c: dict(sorted(frame.group_by(c).agg(_n_unique(key)).iter_rows())) for c in columns}
    caveats = [LABELS_NOTE]
    if kind == "prs":
        caveats.append(PRS_TRANSFER)
    return {"kind": kind, "groupings": list(columns), "group_sizes": sizes, **body,
            "summary": summary(kind, body), "caveats": caveats}  # fmt: skip


def _n_unique(key: str) -> Any:
    import polars as pl

    return pl.col(key).n_unique().alias("n")
