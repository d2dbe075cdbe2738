"""Cardiometabolic risk over a table of people (PREVENT, PCE, SCORE2, QRISK3, ADA, FINDRISC).

>>> import tempfile, pathlib
>>> import precisionrx as prx
>>> table = pathlib.Path(tempfile.mkdtemp()) / "people.csv"
>>> _ = table.write_text(
...     "id,age,sex,sbp,bp_treated,total_chol,hdl_chol,diabetes,smoker,statin,egfr,bmi\\n"
...     "p1,50,female,160,1,200,45,1,0,0,90,35\\n")
>>> result = prx.risk.compute(table, models=["prevent"])
>>> (cvd,) = [r for r in result.results if r.outcome == "total_cvd" and r.horizon_years == 10]
>>> round(cvd.risk, 3)  # preventr's default test patient: 0.147
0.147
>>> result.provenance.knowledge_bases[0].name
'cardio'
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from precisionrx.engines.cardio.api import estimate_risks
from precisionrx.io.risk_table import read_risk_table
from precisionrx.kb.registry import KnowledgeBase
from precisionrx.records.cardio import RiskResult
from precisionrx.records.evidence import fingerprint
from precisionrx.records.risk_inputs import RiskInputs

__all__ = ["compute"]


def compute(
    table: str | Path | RiskInputs,
    *,
    models: Sequence[str] = ("prevent",),
    kb: KnowledgeBase | None = None,
) -> RiskResult:
    """Every selected model's risk for every person of a CSV/TSV table (docs/cli/risk.md for
    the columns) or of :class:`RiskInputs` already read. Out-of-range inputs give no number
    and a caveat; an unreadable or implausible table raises ``InputError``."""
    kb = kb or KnowledgeBase()
    digest = None
    if not isinstance(table, RiskInputs):
        path = Path(table)
        inputs = read_risk_table(path)
        digest = fingerprint(path.read_bytes())  # as `precisionrx risk` names it
    else:
        inputs = table
    return estimate_risks(inputs, kb, list(models), digest)
