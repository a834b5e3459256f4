"""Finding codes by what they mean: ``medbill codes search TEXT``.

Every word of the query must appear in a code's description, as a word or the start of one
("diab" finds "diabetes"), or the query may be the start of the code itself ("E11"). Hits
are ranked: whole-word matches over prefixes, the query as a phrase, then shorter (more
general) descriptions. Search is date-aware: ICD-10-CM and ICD-10-PCS are searched in the
release governing the date of service, and codes not usable on that date (not yet effective,
terminated, ICD-10-CM category headers) are left out unless asked for, in which case they say
why.
CPT descriptors are AMA-licensed and not shipped, so CPT codes are found only when a
licensed user loaded them.

A query is bounded (:data:`MAX_QUERY_WORDS` words, :data:`MAX_QUERY_CHARACTERS` characters:
far more than the longest ICD-10-CM or PCS title): each word is matched against every
candidate description, so a pasted page would take minutes. A word given twice is matched
once and counted twice (the same scores as before, in the time of one).
"""

from __future__ import annotations

import bisect
import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from medbill_core.codesets.model import CodeInfo, CodeSystem, Reason
from medbill_core.codesets.registry import PER_RELEASE, CodeSets, default_codesets

SEARCHABLE = (CodeSystem.ICD10CM, CodeSystem.ICD10PCS, CodeSystem.HCPCS, CodeSystem.CPT)
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset({"a", "an", "and", "of", "or", "the", "with", "without", "for", "in", "to",
                   "by", "on"})
#: The most words (as :func:`search` splits them) and characters a query may have.
MAX_QUERY_WORDS = 64
MAX_QUERY_CHARACTERS = 500


def query_problem(text: str) -> str | None:
    """Why :func:`search` refuses ``text`` (too many words or characters), or ``None``. The
    answer names the limits and the sizes, never the words (they may come from a chart)."""
    if len(text) > MAX_QUERY_CHARACTERS:
        return (f"the search text has {len(text):,} characters; at most"
                f" {MAX_QUERY_CHARACTERS} are searched: give the few words that matter")
    words = len(_WORD.findall(text.lower()))
    if words > MAX_QUERY_WORDS:
        return (f"the search text has {words:,} words; at most {MAX_QUERY_WORDS} are"
                " searched: give the few words that matter")
    return None


class QueryTooLong(ValueError):
    """A query over :data:`MAX_QUERY_WORDS` words or :data:`MAX_QUERY_CHARACTERS`
    characters; the message is :func:`query_problem`'s."""


@dataclass(frozen=True, slots=True)
class SearchHit:
    system: CodeSystem
    code: str
    description: str
    status: Reason
    score: int

    @property
    def usable(self) -> bool:
        return self.status is Reason.OK

    def as_json(self) -> dict[str, object]:
        return {"system": self.system.value, "code": self.code, "description": self.description,
                "status": self.status.value, "score": self.score}


def _terms(text: str) -> list[str]:
    words = _WORD.findall(text.lower())
    return [w for w in words if w not in _STOP] or words


@dataclass(frozen=True, slots=True)
class _Index:
    """One table prepared for search, its entries in tie-break order (shorter description
    first, then code): the text of all of them is one string, searched at C speed."""

    infos: list[CodeInfo]
    texts: list[str]  # each entry's description and short description, lower-cased
    blob: str  # the texts joined by newlines
    starts: list[int]  # where each text begins in ``blob``
    codes: list[str]  # the codes, sorted (for "the start of a code" queries)
    entry_of_code: list[int]  # the entry of each sorted code

    @classmethod
    def build(cls, table: Mapping[str, CodeInfo]) -> _Index:
        infos = sorted(table.values(), key=lambda i: (len(i.description), i.code))
        texts = [f"{i.description} {i.short_description}".lower() for i in infos]
        starts, offset = [], 0
        for text in texts:
            starts.append(offset)
            offset += len(text) + 1
        order = sorted(range(len(infos)), key=lambda n: infos[n].code)
        return cls(infos, texts, "\n".join(texts), starts, [infos[n].code for n in order], order)

    def entries_containing(self, term: str) -> list[int]:
        """The entries whose text contains ``term`` anywhere, in entry order."""
        blob, starts, texts = self.blob, self.starts, self.texts
        common = len(starts) // 8
        out: list[int] = []
        at = blob.find(term)
        while at >= 0:
            entry = bisect.bisect_right(starts, at) - 1
            out.append(entry)
            if len(out) > common:  # a common term: testing each text is quicker
                return [n for n, text in enumerate(texts) if term in text]
            if entry + 1 >= len(starts):
                break
            at = blob.find(term, starts[entry + 1])
        return out

    def code_scores(self, code_query: str) -> dict[int, int]:
        """Entries whose code starts with ``code_query``: shorter (more general) codes first."""
        first = bisect.bisect_left(self.codes, code_query)
        last = bisect.bisect_left(self.codes, code_query + "\x7f")
        return {self.entry_of_code[n]: 100 - (len(self.codes[n]) - len(code_query))
                for n in range(first, last)}


_indexes: dict[int, tuple[Mapping[str, CodeInfo], _Index]] = {}
_indexes_lock = threading.Lock()


def _index(table: Mapping[str, CodeInfo]) -> _Index:
    found = _indexes.get(id(table))
    if found is not None and found[0] is table:
        return found[1]
    index = _Index.build(table)
    with _indexes_lock:
        if len(_indexes) > 16:  # tables of CodeSets instances long gone
            _indexes.clear()
        _indexes[id(table)] = (table, index)
    return index


def _scores(index: _Index, terms: Sequence[str], phrase: str,
            code_query: str) -> dict[int, int]:
    """Each matching entry's score: the code's start matched (100 - extra characters), or
    per query word 3 (a word of the text) or 1 (the start of one), plus 4 for the phrase.
    A word given more than once is looked for once and scored as many times."""
    scores = index.code_scores(code_query) if code_query else {}
    counts = Counter(terms)
    ordered = sorted(counts, key=len, reverse=True)  # a longer word is usually rarer
    candidates = index.entries_containing(ordered[0])
    texts = index.texts
    for term in ordered[1:]:
        candidates = [entry for entry in candidates if term in texts[entry]]
    patterns = [(re.compile(rf"(?<![a-z0-9]){re.escape(term)}(?![a-z0-9])"),
                 re.compile(rf"(?<![a-z0-9]){re.escape(term)}"), count)
                for term, count in counts.items()]
    for entry in candidates:
        if entry in scores:
            continue
        text = texts[entry]
        score = 0
        for whole, start, count in patterns:
            if whole.search(text):
                score += 3 * count
            elif start.search(text):
                score += count
            else:
                break
        else:
            scores[entry] = score + (4 if phrase and phrase in text else 0)
    return scores


def _search_table(system: CodeSystem, table: Mapping[str, CodeInfo], terms: Sequence[str],
                  phrase: str, code_query: str, on: date, limit: int,
                  include_unusable: bool) -> list[SearchHit]:
    """The best ``limit`` hits of one table, in the order :func:`search` ranks them."""
    index = _index(table)
    by_score: dict[int, list[int]] = {}
    for entry, score in _scores(index, terms, phrase, code_query).items():
        by_score.setdefault(score, []).append(entry)
    hits: list[SearchHit] = []
    for score in sorted(by_score, reverse=True):
        unusable = []
        for entry in sorted(by_score[score]):  # entry order = shorter description, code
            info = index.infos[entry]
            status = info.status_on(on)
            if status is Reason.OK:
                hits.append(SearchHit(system, info.display_code, info.description, status,
                                      score))
                if len(hits) >= limit:
                    return hits
            elif include_unusable:
                unusable.append(SearchHit(system, info.display_code, info.description, status,
                                          score))
        hits.extend(unusable[:limit - len(hits)])
        if len(hits) >= limit:
            return hits
    return hits


def _tables(codesets: CodeSets, systems: Iterable[CodeSystem],
            on: date) -> Iterable[tuple[CodeSystem, Mapping[str, CodeInfo]]]:
    for system in systems:
        if system in PER_RELEASE:
            yield system, codesets.release_table(system, on)[1]
        else:
            yield system, codesets.table(system)


#: A query that may be the start of a code: no spaces, and a digit in it ("E11.6", "0DT",
#: "QA1.7", "G05"); words people search for have none.
_CODE_LIKE = re.compile(r"[0-9A-Z.]*[0-9][0-9A-Z.]*")


def search(text: str, *, on: date | None = None, systems: Sequence[CodeSystem] = SEARCHABLE,
           limit: int = 20, include_unusable: bool = False,
           codesets: CodeSets | None = None) -> list[SearchHit]:
    """Codes whose description matches ``text``, best first (see the module docstring).

    :raises QueryTooLong: ``text`` has more than :data:`MAX_QUERY_WORDS` words or
        :data:`MAX_QUERY_CHARACTERS` characters."""
    problem = query_problem(text)
    if problem is not None:
        raise QueryTooLong(problem)
    on = on or date.today()
    codesets = codesets or default_codesets()
    terms = _terms(text)
    if not terms:
        return []
    phrase = " ".join(_WORD.findall(text.lower()))
    compact = re.sub(r"[\s.]", "", text.upper())
    code_query = compact if _CODE_LIKE.fullmatch(text.strip().upper()) and len(compact) >= 2 \
        else ""
    hits: list[SearchHit] = []
    for system, table in _tables(codesets, systems, on):
        # "E11.6" is written the ICD-10-CM way: it is not the start of HCPCS E1160
        system_query = code_query if "." not in text or system is CodeSystem.ICD10CM else ""
        hits.extend(_search_table(system, table, terms, phrase, system_query, on, limit,
                                  include_unusable))
    hits.sort(key=lambda h: (-h.score, not h.usable, len(h.description), h.code))
    return hits[:limit]
