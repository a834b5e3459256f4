"""Finding codes by what they mean: ``medbill codes search TEXT``.

Every word of the query must appear in a code's description, as a word or the start of one
("diab" finds "diabetes"), or the query may be the start of the code itself ("E11"). Hits
are ranked: whole-word matches over prefixes, the query as a phrase, then shorter (more
general) descriptions. Search is date-aware: ICD-10-CM is searched in the release governing
the date of service, and codes not usable on that date (not yet effective, terminated,
ICD-10-CM category headers) are left out unless asked for, in which case they say why.
CPT descriptors are AMA-licensed and not shipped, so CPT codes are found only when a
licensed user loaded them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from medbill_core.codesets.model import CodeInfo, CodeSystem, Reason
from medbill_core.codesets.registry import CodeSets, default_codesets

SEARCHABLE = (CodeSystem.ICD10CM, CodeSystem.HCPCS, CodeSystem.CPT)
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset({"a", "an", "and", "of", "or", "the", "with", "without", "for", "in", "to",
                   "by", "on"})


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


def _score(info: CodeInfo, terms: Sequence[str], phrase: str, code_query: str) -> int:
    if code_query and info.code.startswith(code_query):
        return 100 - (len(info.code) - len(code_query))  # the code itself, shortest first
    text = f"{info.description} {info.short_description}".lower()
    if not all(term in text for term in terms):  # cheap test first: most codes fail it
        return 0
    words = set(_WORD.findall(text))
    score = 0
    for term in terms:
        if term in words:
            score += 3
        elif any(word.startswith(term) for word in words):
            score += 1
        else:
            return 0
    if phrase and phrase in text:
        score += 4
    return score


def _tables(codesets: CodeSets, systems: Iterable[CodeSystem],
            on: date) -> Iterable[tuple[CodeSystem, dict[str, CodeInfo]]]:
    for system in systems:
        if system is CodeSystem.ICD10CM:
            yield system, codesets._pick_release(on)[1]
        else:
            yield system, codesets.table(system)


def search(text: str, *, on: date | None = None, systems: Sequence[CodeSystem] = SEARCHABLE,
           limit: int = 20, include_unusable: bool = False,
           codesets: CodeSets | None = None) -> list[SearchHit]:
    """Codes whose description matches ``text``, best first (see the module docstring)."""
    on = on or date.today()
    codesets = codesets or default_codesets()
    terms = _terms(text)
    if not terms:
        return []
    phrase = " ".join(_WORD.findall(text.lower()))
    compact = re.sub(r"[\s.]", "", text.upper())
    looks_like_code = re.fullmatch(r"[A-Z][0-9][0-9A-Z.]*|[0-9]{3,5}", text.strip().upper())
    code_query = compact if looks_like_code else ""
    hits: list[SearchHit] = []
    for system, table in _tables(codesets, systems, on):
        # "E11.6" is written the ICD-10-CM way: it is not the start of HCPCS E1160
        system_query = code_query if "." not in text or system is CodeSystem.ICD10CM else ""
        for info in table.values():
            score = _score(info, terms, phrase, system_query)
            if not score:
                continue
            status = info.status_on(on)
            if status is not Reason.OK and not include_unusable:
                continue
            hits.append(SearchHit(system, info.display_code, info.description, status, score))
    hits.sort(key=lambda h: (-h.score, not h.usable, len(h.description), h.code))
    return hits[:limit]
