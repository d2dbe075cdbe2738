"""Mental-health questionnaires: scores, severity bands and safety flags, and their
trajectories over time (docs/methods/mental_health.md)."""

from precisionrx.engines.mental_health.scoring import score_one, score_responses
from precisionrx.engines.mental_health.trajectories import track

__all__ = ["score_one", "score_responses", "track"]
