"""An X12 document as people read it: one segment a line, each with the loop it belongs to
(``2010BA Subscriber Name``), the segment's name and its elements numbered and named.

The loops and names come from pyx12's maps of the 5010 implementation guides (the same maps
its validator walks), not from tables written here: the document is walked segment by
segment with pyx12's map walker, which knows where each loop starts. A document pyx12 cannot
walk (not X12, a transaction set it has no map for, a structure the walker refuses) is shown
as its plain segments, elements numbered, without loop names.

A document is the patient's record, so it holds PHI: it is shown to whoever may open the
claim, never logged (a failed walk logs that it failed, not what it read).
"""

from __future__ import annotations

import functools
import io
import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("medbill.workspace.x12")


@dataclass(frozen=True)
class ReadableElement:
    #: ``CLP01``: the segment id and the element's position
    ref: str
    #: the implementation guide's name of the element (``None``: not in the map)
    name: str | None
    value: str


@dataclass(frozen=True)
class ReadableSegment:
    #: the loop the segment is in (``2100``) and its name (``Claim Payment Information``);
    #: ``None`` when the document was not walked
    loop_id: str | None
    loop_name: str | None
    segment_id: str
    segment_name: str | None
    elements: tuple[ReadableElement, ...]

    @property
    def loop(self) -> str:
        """``2010BA Subscriber Name``, or ``""`` when not known."""
        return " ".join(part for part in (self.loop_id, self.loop_name) if part)


@dataclass(frozen=True)
class ReadableDocument:
    segments: tuple[ReadableSegment, ...]
    #: the loops are named (pyx12 walked the document against a map)
    walked: bool
    #: the implementation guide of the map (``835.5010.X221.A1.xml``), when walked
    guide: str | None = None


def _delimiters(text: str) -> tuple[str, str, str] | None:
    """(element separator, component separator, segment terminator) from the ISA."""
    if text.startswith("ISA") and len(text) > 105:
        return text[3], text[104], text[105]
    return None


def plain(content: str) -> ReadableDocument:
    """The segments of ``content`` with their elements numbered, no loops: a document that
    is not an interchange is split on ``~`` and ``*``, the X12 defaults."""
    text = content.lstrip("\ufeff \t\r\n")
    separator, _component, terminator = _delimiters(text) or ("*", ":", "~")
    segments = []
    for raw in text.split(terminator):
        raw = raw.strip()
        if not raw:
            continue
        segment_id, *values = raw.split(separator)
        segments.append(ReadableSegment(None, None, segment_id, None, tuple(
            ReadableElement(f"{segment_id}{position:02d}", None, value)
            for position, value in enumerate(values, start=1))))
    return ReadableDocument(tuple(segments), walked=False)


@functools.lru_cache(maxsize=16)
def _map(name: str) -> Any:
    """A pyx12 map, loaded once (parsing its XML is the slow part; walking keeps its own
    counters in the walker, not in the map)."""
    import pyx12.map_if
    import pyx12.params

    return pyx12.map_if.load_map_file(name, pyx12.params.params())


@functools.lru_cache(maxsize=1)
def _index() -> Any:
    import pyx12.map_index

    return pyx12.map_index.map_index()


#: Maps pyx12 ships without listing them in its index, by (GS01, the guide without its
#: errata): the 277 claim status response (X212), and the 837P of errata A2 read with the
#: A1 map (A2 changed code lists and notes, not loops or segments).
_UNLISTED = {("HN", "005010X212"): "277.5010.X212.xml",
             ("HC", "005010X222"): "837.5010.X222.A1.xml"}


def _guide(version: str | None, reference: str | None, functional_id: str | None
           ) -> str | None:
    """The map file of a functional group (GS08 version, GS01 functional id)."""
    listed = _index().get_filename(version, reference, functional_id)
    if listed is not None:
        return str(listed)
    return _UNLISTED.get((functional_id or "", (reference or "")[:10]))


def _element_name(node: Any, position: int) -> str | None:
    try:
        child = node.get_child_node_by_ordinal(position)
    except Exception:  # an element past the map's last one
        return None
    return getattr(child, "name", None) if child is not None else None


def _walk(text: str) -> ReadableDocument:
    import pyx12.x12file
    from pyx12.map_walker import walk_tree

    separator, component, _terminator = _delimiters(text) or ("*", ":", "~")
    source = pyx12.x12file.X12Reader(io.StringIO(text))
    control = _map("x12.control.00501.xml")
    node = control.getnodebypath("/ISA_LOOP/ISA")
    walker = walk_tree()
    version: str | None = None
    guide: str | None = None
    segments = []
    for segment in source:
        segment_id = segment.get_seg_id() or ""
        if segment_id == "ISA":
            node = control.getnodebypath("/ISA_LOOP/ISA")
            walker.forceWalkCounterToLoopStart("/ISA_LOOP", "/ISA_LOOP/ISA")
            version = segment.get_value("ISA12")
        elif segment_id == "GS":
            guide = _guide(version, segment.get_value("GS08"), segment.get_value("GS01"))
            if guide is None:
                raise LookupError("no map for this functional group")
            node = _map(guide).getnodebypath("/ISA_LOOP/GS_LOOP/GS")
            walker.forceWalkCounterToLoopStart("/ISA_LOOP/GS_LOOP", "/ISA_LOOP/GS_LOOP/GS")
        else:
            found, *_errors = walker.walk_errors(node, segment, source.get_seg_count(),
                                                 source.get_cur_line(), source.get_ls_id())
            if found is None:  # not where the guide allows it: shown without a loop
                segments.append(_unplaced(segment, segment_id, separator, component))
                continue
            node = found
        loop = node.parent
        values = segment.format("", separator, component).split(separator)[1:]
        segments.append(ReadableSegment(
            getattr(loop, "id", None), getattr(loop, "name", None), segment_id,
            getattr(node, "name", None), tuple(
                ReadableElement(f"{segment_id}{position:02d}", _element_name(node, position),
                                value) for position, value in enumerate(values, start=1))))
    return ReadableDocument(tuple(segments), walked=True, guide=guide)


def _unplaced(segment: Any, segment_id: str, separator: str, component: str
              ) -> ReadableSegment:
    values = segment.format("", separator, component).split(separator)[1:]
    return ReadableSegment(None, None, segment_id, None, tuple(
        ReadableElement(f"{segment_id}{position:02d}", None, value)
        for position, value in enumerate(values, start=1)))


def readable(content: str) -> ReadableDocument:
    """``content`` walked against its implementation guide's map, or its plain segments
    when it cannot be (see the module docstring)."""
    text = content.lstrip("\ufeff \t\r\n")
    if _delimiters(text) is None:
        return plain(content)
    try:
        return _walk(text)
    except Exception as exc:  # pyx12 raises many kinds: any of them means "show it plain"
        log.info("X12 document shown without loop names (%s)", type(exc).__name__)
        return plain(content)
