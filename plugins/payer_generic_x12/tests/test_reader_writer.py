"""The syntax layer: delimiters from the ISA, envelopes and their checks, the writer's guards."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from medbill_payer_generic_x12.x12 import (
    Delimiters,
    EnvelopeSettings,
    InterchangeWriter,
    MemoryControlNumbers,
    SQLiteControlNumbers,
    X12DelimiterInData,
    X12EnvelopeError,
    X12Error,
    X12Reader,
    X12SyntaxError,
    delimiters_from_isa,
)
from medbill_payer_generic_x12.x12.control import MAX_CONTROL_NUMBER

NOW = datetime(2024, 1, 2, 3, 4)


def _document(delimiters: Delimiters = Delimiters(), line_breaks: bool = False,
              transactions: int = 2) -> str:
    writer = InterchangeWriter(EnvelopeSettings("SENDER", "RECEIVER"), MemoryControlNumbers(),
                               delimiters=delimiters, now=NOW, line_breaks=line_breaks)
    group = writer.group("HC", "005010X222A1")
    for number in range(transactions):
        transaction = group.transaction("837")
        billing = transaction.hl("20")
        transaction.hl("22", billing)
        transaction.add("SV1", ("HC", "99213", "25"), str(100 + number), "UN", "1")
    return writer.text()


def _segments(text: str) -> list[list[list[str]]]:
    return [list(t.segments()) for t in X12Reader(text).transactions()]


def test_delimiters_are_read_from_the_isa() -> None:
    custom = Delimiters(element="|", repetition="!", component=">", segment="\n")
    text = _document(custom)
    assert delimiters_from_isa(text) == custom
    assert _segments(text)[0][2] == ["SV1", "HC>99213>25", "100", "UN", "1"]


def test_line_breaks_and_crlf_between_segments_are_tolerated() -> None:
    plain = _segments(_document())
    assert _segments(_document(line_breaks=True)) == plain
    assert _segments(_document().replace("~", "~\r\n")) == plain


def test_hl_numbering_and_counts_are_computed() -> None:
    text = _document()
    (first, _second) = _segments(text)
    assert first[0] == ["HL", "1", "", "20", "1"] and first[1] == ["HL", "2", "1", "22", "0"]
    assert "SE*5*0001~" in text and "SE*5*0002~" in text and "GE*2*1~" in text
    assert text.endswith("IEA*1*000000001~")


def test_reader_exposes_envelope_fields() -> None:
    seen = []
    # Streaming: each level is read inside the loop over its parent.
    for interchange in X12Reader(_document()).interchanges():
        assert (interchange.sender_id, interchange.receiver_id, interchange.control_number) == (
            "SENDER", "RECEIVER", "000000001")
        assert interchange.timestamp == NOW
        for group in interchange.groups():
            assert (group.functional_id, group.version, group.control_number) == (
                "HC", "005010X222A1", "1")
            seen += [t.control_number for t in group.transactions()]
    assert seen == ["0001", "0002"]


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda t: t.replace("SE*5*0001", "SE*6*0001"), "segment 7 (SE), element SE01"),
    (lambda t: t.replace("SE*5*0002", "SE*5*0009"), "segment 12 (SE), element SE02"),
    (lambda t: t.replace("GE*2*1", "GE*3*1"), "segment 13 (GE), element GE01"),
    (lambda t: t.replace("IEA*1*000000001", "IEA*1*000000002"), "segment 14 (IEA), element IEA02"),
    (lambda t: t[:t.index("SE*5*0002")], "segment 12: SE closing transaction set 837"),
    (lambda t: t[:50], "segment 1 (ISA): a complete 106-character ISA"),
    (lambda t: t.replace("SV1*HC", "sv1*HC", 1), "segment 6: a segment ID"),
    (lambda t: "GARBAGE" + t, "segment 1: an interchange starting with ISA"),
])
def test_malformed_input_raises_positioned_x12_errors(mutate, expected: str) -> None:
    with pytest.raises(X12Error) as caught:
        _segments(mutate(_document()))
    assert str(caught.value).startswith(expected), str(caught.value)
    assert caught.value.segment_index is not None


def test_lenient_reader_notes_count_mismatches() -> None:
    warnings: list[X12Error] = []
    text = _document().replace("SE*5*0001", "SE*6*0001")
    reader = X12Reader(text, strict=False, warnings=warnings)
    assert len([list(t.segments()) for t in reader.transactions()]) == 2
    assert [w.ack_code for w in warnings] == ["4"]


def test_consumer_may_stop_early() -> None:
    seen = []
    for transaction in X12Reader(_document(transactions=3)).transactions():
        for segment in transaction.segments():
            seen.append(segment[0])
            break  # the reader skips (and still checks) the rest
    assert seen == ["HL", "HL", "HL"]


def test_bad_isa_padding_is_reported() -> None:
    text = _document().replace("SENDER         ", "SENDER        ", 1)
    with pytest.raises(X12SyntaxError, match="fixed width"):
        _segments(text)


@pytest.mark.parametrize(("value", "named"), [
    ("A*B", "element separator"), ("A~B", "segment terminator"), ("A:B", "component separator"),
    ("A^B", "repetition separator"), ("A\nB", "control character"), ("A\x7fB", "control character"),
    ("A\tB", "control character"), ("A*", "element separator"),
])
def test_writer_refuses_delimiters_in_data(value: str, named: str) -> None:
    writer = InterchangeWriter(EnvelopeSettings("S", "R"), MemoryControlNumbers(), now=NOW)
    transaction = writer.group("HC", "005010X222A1").transaction("837")
    with pytest.raises(X12DelimiterInData) as caught:
        transaction.add("NM1", "IL", "1", value)
    assert "NM103" in str(caught.value) and named in str(caught.value)
    assert "A" not in str(caught.value).split(":")[-1].replace("a ", "")


def test_writer_transliterates_non_ascii_and_drops_trailing_empty_elements() -> None:
    writer = InterchangeWriter(EnvelopeSettings("S", "R"), MemoryControlNumbers(), now=NOW)
    transaction = writer.group("HC", "005010X222A1").transaction("837")
    transaction.add("NM1", "IL", "1", "MU\u00d1OZ", None, "", None)
    transaction.add("SV1", ("HC", "99213", None), "10", None, ("1", None))
    assert transaction.lines == ["NM1*IL*1*MUNOZ", "SV1*HC:99213*10**1"]
    assert transaction.transliterated == [(None, "NM103")]


def test_writer_refuses_component_separator_inside_a_component() -> None:
    writer = InterchangeWriter(EnvelopeSettings("S", "R"), MemoryControlNumbers(), now=NOW)
    transaction = writer.group("HC", "005010X222A1").transaction("837")
    with pytest.raises(X12DelimiterInData, match="SV101-2"):
        transaction.add("SV1", ("HC", "99:13"))


def test_writer_writes_a_list_as_repeats_of_one_element() -> None:
    """EB03 / EQ01 repeat: a list is joined by the repetition separator (empty repeats left
    out); a repeat holding a delimiter is refused naming the element, never the value."""
    writer = InterchangeWriter(EnvelopeSettings("S", "R"), MemoryControlNumbers(), now=NOW)
    transaction = writer.group("HB", "005010X279A1").transaction("271")
    transaction.add("EB", "1", "IND", ["30", "", "98"], None, "PLAN")
    transaction.add("EQ", ["30"])
    transaction.add("EB", "6", "IND", [], None)
    assert transaction.lines == ["EB*1*IND*30^98**PLAN", "EQ*30", "EB*6*IND"]
    for bad in ("3^0", "3:0", "3*0", "3~0"):
        with pytest.raises(X12DelimiterInData, match="EB03") as caught:
            transaction.add("EB", "1", "IND", ["30", bad])
        assert bad not in str(caught.value)
    with pytest.raises(X12DelimiterInData, match="EB05"):
        transaction.add("EB", "1", "IND", ["30", "98"], None, "A^B")
    text = writer.text()
    (segments,) = _segments(text)
    assert segments[0] == ["EB", "1", "IND", "30^98", "", "PLAN"]


def test_sqlite_counter_persists(tmp_path: Path) -> None:
    path = tmp_path / "control.sqlite"
    first = SQLiteControlNumbers(path)
    assert [first.next_number("interchange") for _ in range(3)] == [1, 2, 3]
    assert first.next_number("group") == 1
    again = SQLiteControlNumbers(path)
    assert again.next_number("interchange") == 4
    assert SQLiteControlNumbers(path, namespace="other").next_number("interchange") == 1


def test_envelope_error_is_a_decode_error() -> None:
    from medbill_core.api import DecodeError

    assert issubclass(X12EnvelopeError, DecodeError)


def test_sqlite_counter_reserves_numbers_in_blocks(tmp_path: Path) -> None:
    """One committed reservation per block; two counters on one file (two processes) never
    hand out the same number; a counter started later skips what the others reserved."""
    path = tmp_path / "control.sqlite"
    first = SQLiteControlNumbers(path, block_size=10)
    second = SQLiteControlNumbers(path, block_size=10)
    handed = [first.next_number("interchange"), second.next_number("interchange"),
              first.next_number("interchange"), second.next_number("interchange")]
    assert handed == [1, 11, 2, 12]
    with sqlite3.connect(path) as connection:
        assert connection.execute(
            "SELECT last_value FROM x12_control_numbers WHERE kind = 'interchange'"
        ).fetchone() == (20,)
    assert SQLiteControlNumbers(path, block_size=10).next_number("interchange") == 21
    assert [first.next_number("interchange") for _ in range(9)] == [*range(3, 11), 31]


def test_sqlite_counter_blocks_wrap_at_the_largest_number(tmp_path: Path) -> None:
    path = tmp_path / "control.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE x12_control_numbers (namespace TEXT NOT NULL, kind TEXT NOT NULL,"
            " last_value INTEGER NOT NULL, PRIMARY KEY (namespace, kind))")
        connection.execute("INSERT INTO x12_control_numbers VALUES ('default', 'group', ?)",
                           (MAX_CONTROL_NUMBER - 2,))
    counter = SQLiteControlNumbers(path, block_size=5)
    assert [counter.next_number("group") for _ in range(4)] == [
        MAX_CONTROL_NUMBER - 1, MAX_CONTROL_NUMBER, 1, 2]


@pytest.mark.parametrize("size", [0, 10_001])
def test_sqlite_counter_block_size_is_bounded(tmp_path: Path, size: int) -> None:
    with pytest.raises(ValueError, match="block_size must be 1 to 10000"):
        SQLiteControlNumbers(tmp_path / "control.sqlite", block_size=size)



def test_decoders_pause_the_cyclic_collector_and_give_it_back_as_it_was() -> None:
    import gc

    from medbill_payer_generic_x12.construct import gc_paused

    seen: list[bool] = []
    with gc_paused():
        seen.append(gc.isenabled())
        with gc_paused():  # nested: the outer block keeps it off
            seen.append(gc.isenabled())
        seen.append(gc.isenabled())
    assert seen == [False, False, False] and gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # a caller that turned it off keeps it off
    finally:
        gc.enable()
    with pytest.raises(KeyError), gc_paused():
        raise KeyError("x")
    assert gc.isenabled()
