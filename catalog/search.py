"""Ranked, alias-aware, typo-tolerant search over the catalog index.

Filters (source, destination, datatype) resolve the query name first: an exact name or alias
matches fully; otherwise the nearest names match with their similarity, so "Instagarm" still
finds Instagram pages. Free text is matched word by word against an inverted index (title
words weigh most, then service and datatype names, then the summary and body), where each
query word may match known words by prefix or by spelling similarity. Words and runs of two or
three words are also resolved like filters against service and data type names and aliases, so
"google fotos" finds Google Photos pages and "fotos" finds Photos pages even though no page has
the word "fotos".

The site's search (``catalog/static/search.js``) is a port of this module working from the JSON
index, so it ranks like ``Searcher(index)``; keep the two in step (a browser test compares them).

Usable from Python (``Searcher.from_catalog(cat).search(source="facebook")``) or from the
JSON index alone (``Searcher(index)``), which is what ``ferry catalog search`` does.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from .fuzzy import FuzzyVocabulary, normalize, similarity, tokens

__all__ = ["MAX_QUERY_WORDS", "Hit", "Searcher", "search"]

_W_TITLE, _W_SERVICE, _W_DATATYPE, _W_TEXT = 3.0, 2.0, 2.0, 1.0
_FILTER_WEIGHT = 4.0
_NAME_CUTOFF = 0.7
#: Free text is cut to this many words: a pasted essay must not cost a second per keystroke.
MAX_QUERY_WORDS = 16
_PHRASE_WORDS = (1, 2, 3)


@dataclass(frozen=True)
class Hit:
    """One result: the solution's index entry, its score and why it matched."""

    solution: dict[str, Any]
    score: float
    reasons: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return str(self.solution["title"])


@dataclass
class _Names:
    """Canonical names with their aliases, for filter resolution."""

    keys: dict[str, str] = field(default_factory=dict)  # normalised name or alias -> canonical
    _letters: dict[str, Counter[str]] = field(default_factory=dict)  # key -> letter counts

    def add(self, canonical: str, aliases: list[str] | tuple[str, ...] = ()) -> None:
        for name in (canonical, *aliases):
            key = normalize(name)
            if key not in self.keys:
                self.keys[key] = canonical
                self._letters[key] = Counter(key)

    def _may_reach(self, key: str, letters: Counter[str], known: str) -> bool:
        """Whether ``similarity(key, known)`` can reach the cutoff (difflib's quick bounds, cheaply).

        A ratio is 2 * matches / total, and matches are at most the shorter length and at most
        the letters both share; both bounds are exact, so skipping changes no result.
        """
        total = len(key) + len(known)
        if 2 * min(len(key), len(known)) < _NAME_CUTOFF * total:
            return False
        theirs = self._letters[known]
        shared = sum(min(n, theirs[c]) for c, n in letters.items())
        return 2 * shared >= _NAME_CUTOFF * total

    def resolve(self, query: str) -> dict[str, float]:
        """Canonical names matching ``query`` with a weight in (0, 1]."""
        key = normalize(query)
        if not key:
            return {}
        if key in self.keys:
            return {self.keys[key]: 1.0}
        letters = Counter(key)
        found: dict[str, float] = {}
        for known, canonical in self.keys.items():
            score = similarity(key, known) if self._may_reach(key, letters, known) else 0.0
            if known.startswith(key) and len(key) >= 3:
                score = max(score, 0.85)
            elif key in known.split():
                score = max(score, 0.75)
            if score >= _NAME_CUTOFF and score > found.get(canonical, 0.0):
                found[canonical] = score
        return found


class Searcher:
    """Search engine over an index built by :func:`catalog.index.build_index`.

    Args:
        index: the index dict.
        bodies: optional slug -> full Markdown body, so free text also finds words past the
            summary (the JSON index carries summaries only).
    """

    def __init__(self, index: dict[str, Any], bodies: dict[str, str] | None = None) -> None:
        self.solutions: list[dict[str, Any]] = list(index.get("solutions", []))
        self.services = _Names()
        self.datatypes = _Names()
        aliases_of: dict[str, list[str]] = {}
        for service in index.get("services", []):
            self.services.add(service["name"], service.get("aliases", []))
            aliases_of[service["name"]] = list(service.get("aliases", []))
        for datatype in index.get("datatypes", []):
            self.datatypes.add(datatype["name"], datatype.get("aliases", []))
        for solution in self.solutions:
            for name in (*solution["sources"], *solution["destinations"]):
                self.services.add(name)
        self._with_service: dict[str, list[int]] = defaultdict(list)
        self._with_datatype: dict[str, list[int]] = defaultdict(list)
        for i, solution in enumerate(self.solutions):
            for name in dict.fromkeys((*solution["sources"], *solution["destinations"])):
                self._with_service[name].append(i)
            self._with_datatype[solution["datatype"]].append(i)
        self._postings: dict[str, dict[int, float]] = defaultdict(dict)
        self._words = FuzzyVocabulary()
        bodies = bodies or {}
        for i, solution in enumerate(self.solutions):
            fields = [
                (_W_TITLE, solution["title"]),
                (_W_DATATYPE, solution["datatype"]),
                (_W_TEXT, solution.get("summary", "")),
                (_W_TEXT, bodies.get(solution["slug"], "")),
            ]
            for name in (*solution["sources"], *solution["destinations"]):
                fields.append((_W_SERVICE, " ".join([name, *aliases_of.get(name, [])])))
            for weight, text in fields:
                for word in tokens(text):
                    if weight > self._postings[word].get(i, 0.0):
                        self._postings[word][i] = weight
        for word in self._postings:
            self._words.add(word)

    @classmethod
    def from_catalog(cls, catalog: Any) -> Searcher:
        """Searcher over a loaded :class:`catalog.Catalog`, including page bodies."""
        from .index import build_index

        return cls(build_index(catalog), {s.slug: s.body for s in catalog.solutions})

    # -- matching --------------------------------------------------------------------------

    def _expand(self, word: str) -> dict[str, float]:
        """Known words a query word stands for: itself, longer words it starts, near spellings."""
        found = {w: s for w, s in self._words.close(word, cutoff=0.8)}
        if len(word) >= 3:
            for candidate, _ in self._words.close(word, cutoff=0.5, limit=20):
                if candidate.startswith(word):
                    found.setdefault(candidate, 0.9)
        return found

    def _named(self, words: list[str]) -> list[dict[int, float]]:
        """Per query word: pages whose service or data type that word, or a phrase holding it, names."""
        per_word: list[dict[int, float]] = [{} for _ in words]
        for size in _PHRASE_WORDS:
            for start in range(len(words) - size + 1):
                phrase = " ".join(words[start : start + size])
                for names, pages, weight in (
                    (self.services, self._with_service, _W_SERVICE),
                    (self.datatypes, self._with_datatype, _W_DATATYPE),
                ):
                    for canonical, score in names.resolve(phrase).items():
                        for i in pages.get(canonical, ()):
                            for best in per_word[start : start + size]:
                                best[i] = max(best.get(i, 0.0), weight * score)
        return per_word

    def _text_scores(self, text: str) -> tuple[dict[int, float], int]:
        words = tokens(text)[:MAX_QUERY_WORDS]
        per_word: list[dict[int, float]] = self._named(words)
        for word, best in zip(words, per_word):
            for known, sim in self._expand(word).items():
                for i, weight in self._postings.get(known, {}).items():
                    best[i] = max(best.get(i, 0.0), weight * sim)
        scores: dict[int, float] = defaultdict(float)
        for best in per_word:
            for i, value in best.items():
                scores[i] += value
        # Pages matching every word rank above pages matching some.
        for i in scores:
            matched = sum(1 for best in per_word if i in best)
            scores[i] *= matched / len(per_word)
        return dict(scores), len(words)

    def search(
        self,
        *,
        source: str | None = None,
        destination: str | None = None,
        datatype: str | None = None,
        text: str | None = None,
        limit: int | None = 20,
    ) -> list[Hit]:
        """Solutions matching every given criterion, best first.

        Args:
            source / destination: a service name or alias, misspellings tolerated.
            datatype: a data type name or alias, misspellings tolerated.
            text: free words matched against titles, services, data types and text.
            limit: at most this many hits (None: all).
        """
        candidates = range(len(self.solutions))
        scores: dict[int, float] = {i: 0.0 for i in candidates}
        reasons: dict[int, list[str]] = defaultdict(list)
        for label, query, names, key in (
            ("source", source, self.services, "sources"),
            ("destination", destination, self.services, "destinations"),
            ("datatype", datatype, self.datatypes, "datatype"),
        ):
            if not query:
                continue
            wanted = names.resolve(query)
            kept: dict[int, float] = {}
            for i in scores:
                values = self.solutions[i][key]
                values = [values] if isinstance(values, str) else values
                best = max((wanted.get(v, 0.0) for v in values), default=0.0)
                if best > 0:
                    kept[i] = scores[i] + _FILTER_WEIGHT * best
                    match = max(values, key=lambda v: wanted.get(v, 0.0))
                    reasons[i].append(f"{label}: {match}" + ("" if best == 1.0 else f" (for '{query}')"))
            scores = kept
        if text and text.strip():
            text_scores, _ = self._text_scores(text)
            scores = {i: s + text_scores[i] for i, s in scores.items() if i in text_scores}
            for i in scores:
                reasons[i].append(f"text: {text_scores[i]:.2f}")
        hits = [
            Hit(
                self.solutions[i],
                round(score + (0.1 if self.solutions[i].get("runnable") else 0.0), 4),
                tuple(reasons[i]),
            )
            for i, score in scores.items()
        ]
        hits.sort(key=lambda h: (-h.score, h.title.lower()))
        return hits if limit is None else hits[:limit]


def search(catalog_or_index: Any, **criteria: Any) -> list[Hit]:
    """One-off search over a :class:`catalog.Catalog` or an index dict (see :meth:`Searcher.search`)."""
    if isinstance(catalog_or_index, dict):
        return Searcher(catalog_or_index).search(**criteria)
    return Searcher.from_catalog(catalog_or_index).search(**criteria)
