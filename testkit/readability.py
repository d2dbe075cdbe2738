"""Flesch-Kincaid grade level, for tests of text written for patients.

Grade = 0.39 x (words / sentences) + 11.8 x (syllables / words) - 15.59 (Kincaid JP et al.,
Naval Technical Training Command Research Branch Report 8-75, 1975). Syllables are counted
with the usual vowel-group rule (a final silent "e" dropped, at least one per word), as
readability tools do; a reading age is the grade plus about 5 years.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")


def syllables(word: str) -> int:
    w = word.lower()
    if len(w) <= 3:
        return 1
    w = re.sub(r"(?:[^laeiouy]es|ed|[^laeiouy]e)$", "", w)
    w = re.sub(r"^y", "", w)
    return max(1, len(re.findall(r"[aeiouy]{1,2}", w)))


def fk_grade(text: str) -> float:
    words = _WORD.findall(text)
    sentences = max(1, len(_SENTENCE_END.findall(text)))
    if not words:
        return 0.0
    syl = sum(syllables(w) for w in words)
    return 0.39 * len(words) / sentences + 11.8 * syl / len(words) - 15.59
