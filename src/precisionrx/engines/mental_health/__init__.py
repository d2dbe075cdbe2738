"""Mental-health questionnaires: scores, severity bands and safety flags
(docs/methods/mental_health.md)."""

from precisionrx.engines.mental_health.scoring import score_one, score_responses

__all__ = ["score_one", "score_responses"]
