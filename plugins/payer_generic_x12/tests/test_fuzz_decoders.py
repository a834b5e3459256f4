"""No input ever produces a traceback: every decoder, fed mutated real documents, returns domain
objects or raises the engine's positioned X12Error, whose message holds no PHI of the document.

The table ``DECODERS`` lists each decoder with the documents it is seeded from (files written by
others where the fixtures have them, else what the engine writes); one line adds a decoder.
Mutations: segment deletion, duplication and swaps, a segment repeated 10,000 times, changed
or inconsistent delimiters, truncation at any byte, huge values (long elements, 1e30 amounts,
10,000 repetitions in an element), random bytes.

The number of examples per decoder is kept small for ``make test``; a deeper run (from the
plugin folder): ``MEDBILL_FUZZ_EXAMPLES=3000 python -m pytest tests/test_fuzz_decoders.py``.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import x12_factories as f
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from medbill_payer_generic_x12.transactions.acknowledgments import (
    decode_277ca,
    decode_999,
    decode_ta1,
    encode_ta1,
)
from medbill_payer_generic_x12.transactions.claim_837p import decode_837p, encode_837p
from medbill_payer_generic_x12.transactions.claim_status import decode_277
from medbill_payer_generic_x12.transactions.claim_status_inquiry import decode_276
from medbill_payer_generic_x12.transactions.eligibility import decode_271
from medbill_payer_generic_x12.transactions.eligibility_inquiry import decode_270
from medbill_payer_generic_x12.transactions.remittance_835 import decode_835
from medbill_payer_generic_x12.x12.errors import X12Error
from x12_factories import FIXTURES

from medbill_core.api import InterchangeAcknowledgment, Relationship

EXAMPLES = int(os.environ.get("MEDBILL_FUZZ_EXAMPLES", "60"))

Decode = Callable[[str, bool], list[Any]]


@dataclass(frozen=True)
class Decoder:
    name: str
    decode: Decode
    #: fixture paths (relative to tests/fixtures) and/or callables writing a document
    seeds: tuple[str | Callable[[], str], ...]


def _837p_we_write() -> str:
    return encode_837p([f.claim("FZ1"), f.secondary_claim_with_lines("FZ2"),
                        f.claim("FZ3", relationship=Relationship.CHILD)]).text


def _ta1_we_write() -> str:
    return encode_ta1([
        InterchangeAcknowledgment(interchange_control_number="000000101",
                                  interchange_date=date(2024, 3, 5), accepted=False,
                                  note_code="006"),
        InterchangeAcknowledgment(interchange_control_number="000000102", accepted=True,
                                  note_code="000")])


def _optional(module: str, name: str) -> Decode | None:
    """A decoder another change adds (837I): fuzzed once it exists."""
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    return lambda text, strict: found(text)


_837I = _optional("medbill_payer_generic_x12.transactions.claim_837i", "decode_837i")
_837I_SEEDS = tuple(path.relative_to(FIXTURES).as_posix() for folder in ("837I", "public/837I")
                    for path in sorted((FIXTURES / folder).glob("*")))[:4]

DECODERS = [
    Decoder("837P", lambda text, strict: decode_837p(text),
            ("837P-X222A2/lfh__demo.example12.837", _837p_we_write)),
    Decoder("835", lambda text, strict: decode_835(text, strict=strict),
            ("835/x12tr3__X221-multiple-claims-single-check.edi", "835/lfh__managed-care.835",
             "835/medbill__two-payers-reversal-plb.835")),
    Decoder("999", lambda text, strict: decode_999(text, strict=strict),
            ("999/imsweb__x12_999_rejected.txt", "999/pyx12__834_lui_id_5010.999.txt")),
    Decoder("TA1", lambda text, strict: decode_ta1(text, strict=strict), (_ta1_we_write,)),
    Decoder("277CA", lambda text, strict: decode_277ca(text, strict=strict),
            ("277CA/imsweb__x12_277CA_rejected.txt",
             "277CA/x12tr3__X214-payer-response-multiple-responders.edi")),
    Decoder("271", lambda text, strict: decode_271(text, strict=strict),
            ("271/lfh__dependent-health-benefit-check.271",
             "271/lfh__subscriber-health-benefit-check.271")),
    Decoder("277", lambda text, strict: decode_277(text, strict=strict),
            ("277-X212/lfh__claim-level-status.277", "277-X212/lfh__provider-level-status.277")),
    Decoder("270", lambda text, strict: decode_270(text, strict=strict),
            ("270/lfh__dependent-health-benefit-check.270",
             "270/lfh__subscriber-health-benefit-check.270",
             "public/270/stupidedi__generic-request-by-physician-for-patient--dependent--"
             "eligibility.edi")),
    Decoder("276", lambda text, strict: decode_276(text, strict=strict),
            ("276/lfh__claim-level-status.276", "276/lfh__provider-level-status.276",
             "public/276/stupidedi__claim-request.edi")),
    *([Decoder("837I", _837I, _837I_SEEDS)] if _837I and _837I_SEEDS else []),
]


@cache
def _seed_text(seed: str | Callable[[], str]) -> str:
    if isinstance(seed, str):
        return (FIXTURES / seed).read_text(encoding="latin-1")
    return seed()


_PERSON_ENTITIES = {"IL", "QC", "03", "QD"}


@cache
def _phi_of(seed: str | Callable[[], str]) -> frozenset[str]:
    """Names, member IDs and birth dates of the seed's people (the values no error may print).
    Short values (a three-letter name) are left out: they occur in any text by chance."""
    text = _seed_text(seed)
    terminator = text[105] if len(text) > 105 else "~"
    element = text[3] if len(text) > 3 else "*"
    found: set[str] = set()
    for raw in text.split(terminator):
        parts = raw.strip().split(element)
        if parts[0] in ("NM1", "NM1") and len(parts) > 1 and parts[1] in _PERSON_ENTITIES:
            found.update(p for i, p in enumerate(parts) if i in (3, 4, 9))
        elif parts[0] == "DMG" and len(parts) > 2:
            found.add(parts[2])
    return frozenset(value for value in found if len(value) >= 5)


_HUGE = ["9" * 40, "1E+30", "1e30", "1000000000000000000000000000000.00", "X" * 5000,
         "-" * 300, "0" * 1000]


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """``text`` changed by one to three mutations."""
    for _ in range(draw(st.integers(1, 3))):
        segments = text.split("~")
        index = draw(st.integers(0, max(len(segments) - 1, 0)))
        operation = draw(st.sampled_from(
            ["drop", "duplicate", "swap", "repeat", "truncate", "delimiter", "swap-delimiters",
             "huge", "repetitions", "bytes", "element"]))
        if operation == "drop":
            del segments[index]
        elif operation == "duplicate":
            segments.insert(index, segments[index])
        elif operation == "swap":
            other = draw(st.integers(0, max(len(segments) - 1, 0)))
            segments[index], segments[other] = segments[other], segments[index]
        elif operation == "repeat":
            segments[index:index + 1] = [segments[index]] * 10_000
        elif operation == "truncate":
            text = text[:draw(st.integers(0, len(text)))]
            continue
        elif operation == "delimiter":
            # one delimiter replaced everywhere, or only after some point (inconsistent)
            old = draw(st.sampled_from(["*", "~", ":", "^"]))
            new = draw(st.sampled_from(["|", "*", "~", ":", "^", "\n", "", " ", "\x1c"]))
            start = draw(st.sampled_from([0, draw(st.integers(0, len(text)))]))
            text = text[:start] + text[start:].replace(old, new)
            continue
        elif operation == "swap-delimiters":
            text = text.replace("*", "\0").replace(":", "*").replace("\0", ":")
            continue
        else:
            parts = segments[index].split("*")
            position = draw(st.integers(0, max(len(parts) - 1, 0)))
            if operation == "huge":
                value = draw(st.sampled_from(_HUGE))
            elif operation == "repetitions":
                value = "^".join(["30"] * 10_000)
            elif operation == "bytes":
                value = draw(st.binary(max_size=40)).decode("latin-1")
            else:
                value = draw(st.text(max_size=20))
            parts[position] = value
            segments[index] = "*".join(parts)
        text = "~".join(segments)
    # Most changes break SE01's segment count, which a strict reader refuses before the decoder
    # sees the content: half the time the counts are made right again so that the decoders'
    # own checks are what is exercised.
    return _recount(text) if draw(st.booleans()) else text


def _recount(text: str) -> str:
    """``text`` with SE01 made equal to its transaction set's segment count again."""
    segments = text.split("~")
    start = 0
    for index, segment in enumerate(segments):
        tag = segment.lstrip()[:3]
        if tag == "ST*":
            start = index
        elif tag == "SE*":
            parts = segment.split("*")
            parts[1] = str(index - start + 1)
            segments[index] = "*".join(parts)
    return "~".join(segments)


_ESCAPES = (ValueError, KeyError, IndexError, TypeError, AttributeError, AssertionError,
            RecursionError, ArithmeticError, UnicodeError)


def _check(decoder: Decoder, seed: str | Callable[[], str], text: str, strict: bool) -> None:
    try:
        result = decoder.decode(text, strict)
    except X12Error as error:
        message = str(error)
        assert error.segment_index is not None or error.segment_id is not None, message
        leaked = [value for value in _phi_of(seed) if value in message]
        assert not leaked, f"{decoder.name}: the error message prints document data"
        assert "\n" not in message, "an error is one line"
    else:
        assert isinstance(result, list)


def _ids(decoder: Decoder) -> str:
    return decoder.name


@pytest.mark.parametrize("decoder", DECODERS, ids=_ids)
def test_seeds_are_read(decoder: Decoder) -> None:
    """The unmutated seeds decode (or, for 837P files refused today, fail positioned)."""
    for seed in decoder.seeds:
        _check(decoder, seed, _seed_text(seed), strict=False)


@pytest.mark.parametrize("decoder", DECODERS, ids=_ids)
def test_no_input_escapes_as_anything_but_a_positioned_error(decoder: Decoder) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        seed = data.draw(st.sampled_from(decoder.seeds))
        text = data.draw(mutated(_seed_text(seed)))
        strict = data.draw(st.booleans())
        _check(decoder, seed, text, strict)

    run()


def test_the_check_fails_on_an_escape_and_on_printed_phi() -> None:
    """The property above can fail: a stray exception, or an error naming a member ID."""
    seed = "270/lfh__subscriber-health-benefit-check.270"

    def escapes(text: str, strict: bool) -> list[Any]:
        raise KeyError("NM1")

    def prints_phi(text: str, strict: bool) -> list[Any]:
        raise X12Error("member 11122333301 unknown", segment_index=9)

    with pytest.raises(KeyError):
        _check(Decoder("270", escapes, (seed,)), seed, _seed_text(seed), True)
    with pytest.raises(AssertionError, match="prints document data"):
        _check(Decoder("270", prints_phi, (seed,)), seed, _seed_text(seed), True)


def test_the_table_covers_every_decoder_in_the_engine() -> None:
    """A decoder added to the engine without a line here fails this test."""
    import medbill_payer_generic_x12.transactions as package

    found = set()
    for path in Path(package.__file__).parent.glob("*.py"):
        found |= set(re.findall(r"^def (decode_[0-9a-z]+)\(text", path.read_text(),
                                flags=re.MULTILINE))
    covered = {"decode_" + d.name.lower().replace("-", "") for d in DECODERS}
    assert found <= covered, sorted(found - covered)
