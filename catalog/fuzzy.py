"""Name normalisation and typo-tolerant matching (stdlib only).

Why not a fuzzy-matching dependency: the vocabularies are small (hundreds of service names,
thousands of words for 1,000 pages), so a trigram pre-filter plus :mod:`difflib` ratios is fast
enough and keeps the catalog's dependencies to what the site build needs anyway.

``catalog/static/search.js`` is a line-by-line port of :func:`normalize`, :func:`similarity`
(difflib's ``SequenceMatcher.ratio`` without junk heuristics) and :class:`FuzzyVocabulary`, so
the site ranks exactly as ``ferry catalog search`` does; change both together
(``tests/test_catalog_search_js.py`` compares them).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable

__all__ = ["MAX_FUZZY_CHARS", "normalize", "tokens", "similarity", "FuzzyVocabulary", "closest"]

_NON_WORD = re.compile(r"[^0-9a-z]+")
#: Longest string worth a spelling suggestion; difflib is O(n*m), and no real name is this long.
MAX_FUZZY_CHARS = 64


def normalize(text: str) -> str:
    """Case-, accent- and punctuation-insensitive key: ``"Google  Photos!"`` -> ``"google photos"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    ascii_text = ascii_text.replace("&", " and ")
    return _NON_WORD.sub(" ", ascii_text).strip()


def tokens(text: str) -> list[str]:
    """Words of ``text`` after :func:`normalize`."""
    return normalize(text).split()


def similarity(a: str, b: str) -> float:
    """Ratio in [0, 1] between two normalised strings (1 means equal)."""
    if a == b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _trigrams(word: str) -> set[str]:
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


class FuzzyVocabulary:
    """Finds known words close to a possibly misspelt one.

    Candidates share at least one trigram with the query, then are ranked by
    :func:`similarity`; this keeps lookups fast on vocabularies of tens of thousands of words.
    """

    def __init__(self, words: Iterable[str] = ()) -> None:
        self._words: set[str] = set()
        self._by_gram: dict[str, set[str]] = defaultdict(set)
        for word in words:
            self.add(word)

    def add(self, word: str) -> None:
        if word in self._words:
            return
        self._words.add(word)
        for gram in _trigrams(word):
            self._by_gram[gram].add(word)

    def __contains__(self, word: object) -> bool:
        return word in self._words

    def __len__(self) -> int:
        return len(self._words)

    def close(self, word: str, *, cutoff: float = 0.75, limit: int = 5) -> list[tuple[str, float]]:
        """Known words similar to ``word`` (itself first if known), best first."""
        if word in self._words:
            return [(word, 1.0)]
        if len(word) > MAX_FUZZY_CHARS:
            return []
        counts: dict[str, int] = defaultdict(int)
        for gram in _trigrams(word):
            for candidate in self._by_gram.get(gram, ()):
                counts[candidate] += 1
        # Only the candidates sharing the most trigrams are worth a full ratio; ties go
        # alphabetically, so the shortlist never depends on set order (and the site's JS agrees).
        shortlist = sorted(counts, key=lambda w: (-counts[w], w))[:50]
        scored = [(w, similarity(word, w)) for w in shortlist]
        scored = [(w, s) for w, s in scored if s >= cutoff]
        scored.sort(key=lambda ws: (-ws[1], ws[0]))
        return scored[:limit]


def closest(name: str, choices: Iterable[str], *, cutoff: float = 0.7) -> str | None:
    """The choice closest to ``name`` (compared normalised), or None if nothing is near."""
    key = normalize(name)
    if len(key) > MAX_FUZZY_CHARS:
        return None
    best: tuple[float, str] | None = None
    for choice in choices:
        choice_key = normalize(choice)
        score = similarity(key, choice_key)
        # A query that is a whole word of the choice ("Photos" in "Google Photos") is a strong hint.
        if key and (key in choice_key.split() or choice_key in key.split()):
            score = max(score, 0.8)
        if score >= cutoff and (best is None or score > best[0]):
            best = (score, choice)
    return best[1] if best else None
