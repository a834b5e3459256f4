"""The pay link's QR code matrix, as ``segno.make(text, error="m")`` makes it, in a fifth of
the time.

A statement's QR code cost 1.6 ms with segno's own matrix and our faster mask choice, the most
expensive part of a statement: segno places the message one module at a time, applies a mask
by calling a function per module and computes the Reed-Solomon codewords a byte at a time,
all in Python. Here segno still does what is specific to the text (its segments, the
version, the raised error level, the data bit stream: its own functions) and what is specific
to the symbol size (finder, timing and alignment patterns, where each message bit goes: its
own placement run once on a matrix of positions, the mask patterns, the format and version
information); what is done per text runs on whole rows as integers and strings:

* the error correction codewords by a shift register over a table of the generator
  polynomial's multiples (what segno's synthetic division computes);
* the message bits dropped into every row and every column at once (one gather), the eight
  masks applied at once (one XOR: each module's byte holds its value under each mask);
* the eight candidates scored by the very rules segno applies (ISO/IEC 18004:2015 7.8.3,
  including how segno counts the 1:1:3:1:1 finder-like pattern) with bit operations on that
  one integer, the finder-like patterns searched by a regular expression in the text of each
  candidate's rows and columns.

So the chosen mask, and every module of the result, are segno's own: the tests compare the
two on thousands of texts, and the statement PDFs stay byte-identical. A Micro QR code (never
chosen for a pay link: too short) is left to segno entirely.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from itertools import zip_longest
from operator import itemgetter
from typing import Any

import segno
from segno import consts as segno_consts
from segno import encoder as segno_encoder

#: segno's encoder module and its constants (untyped: used through ``Any``)
encoder: Any = segno_encoder
consts: Any = segno_consts

_DIGITS = bytes.maketrans(b"\x00\x01", b"01")
_MODULES = bytes.maketrans(b"01", b"\x00\x01")
_ALL_LIGHT = bytes.maketrans(b"1", b"0")  # every module light, the separators kept


def qr_matrix(text: str) -> list[list[int]]:
    """The modules of ``text``'s QR code (error level M, raised where it fits, as segno
    does), row by row, 1 for dark, without the quiet zone: equal to
    ``[list(row) for row in segno.make(text, error="m").matrix_iter(border=0)]``."""
    return [list(row) for row in qr_rows(text)]


def qr_rows(text: str) -> list[bytes]:
    """:func:`qr_matrix` as one ``bytes`` per row (a module is byte 0 or 1)."""
    segments = encoder.prepare_data(text, None, None)
    version = encoder.find_version(segments, consts.ERROR_LEVEL_M, eci=False, micro=None)
    if version < 1:  # a Micro QR code
        return [bytes(row) for row in segno.make(text, error="m").matrix_iter(border=0)]
    error = encoder.boost_error_level(version, consts.ERROR_LEVEL_M, segments, False)
    layout = _layout(version)
    bits = _message_bits(segments, version, error)
    # the symbol's rows and columns with the message unmasked (see _Layout), as an integer
    # of one byte per character: "0" and "1" differ in the lowest bit
    unmasked = int.from_bytes("".join(layout.gather(bits + layout.lines)).encode("latin-1"))
    # bit m of each byte: the module with mask m applied, for the eight masks at once
    planes = ((unmasked & layout.modules) * 255) ^ layout.flips
    scores = _penalties(planes, layout)
    best_mask = scores.index(min(scores))  # the first of equal scores wins, as in segno
    text_of_rows = _text(planes, best_mask, layout)[:layout.rows_length]
    final = tuple(bytearray(row.translate(_MODULES)) for row in text_of_rows.split(b"2"))
    encoder.add_format_info(final, version, error, best_mask)
    encoder.add_version_info(final, version)
    return [bytes(row) for row in final]


def _message_bits(segments: Any, version: int, error: int) -> str:
    """The final message (data and error correction codewords, interleaved, and the
    remainder bits) as a string of ``0`` and ``1``: what segno places in the symbol."""
    buffer = encoder.Buffer()
    version_range = encoder.version_range(version)
    for segment in segments:
        encoder.write_segment(buffer, segment, None, version_range, False)
    capacity = consts.SYMBOL_CAPACITY[version][error]
    encoder.write_terminator(buffer, capacity, None, len(buffer))
    encoder.write_padding_bits(buffer, version, len(buffer))
    encoder.write_pad_codewords(buffer, version, capacity, len(buffer))
    stream = bytes(buffer.getbits())
    stream += b"\x00" * (-len(stream) % 8)  # as segno's Buffer.toints fills the last byte
    codewords = int(stream.translate(_DIGITS), 2).to_bytes(len(stream) // 8)
    data_blocks, error_blocks = [], []
    start = 0
    for info in consts.ECC[version][error]:
        for _ in range(info.num_blocks):
            block = codewords[start:start + info.num_data]
            start += info.num_data
            data_blocks.append(block)
            error_blocks.append(_error_codewords(block, info.num_total - info.num_data))
    message = bytes(byte for column in zip_longest(*data_blocks) for byte in column
                    if byte is not None)
    message += bytes(byte for column in zip(*error_blocks, strict=True) for byte in column)
    remainder = _layout(version).count - 8 * len(message)
    if not 0 <= remainder < 8:  # segno's placement would fail the same way
        raise ValueError("the QR code's message does not fill its symbol")
    return format(int.from_bytes(message), f"0{8 * len(message)}b") + "0" * remainder


def _error_codewords(block: bytes, count: int) -> bytes:
    """The ``count`` Reed-Solomon codewords of ``block``: the remainder of segno's
    synthetic division by its generator polynomial, a byte of the block at a time."""
    table = _generator_multiples(count)
    top, full = 8 * (count - 1), (1 << 8 * count) - 1
    remainder = 0
    for byte in block:
        remainder = ((remainder << 8) & full) ^ table[byte ^ (remainder >> top)]
    return remainder.to_bytes(count)


@cache
def _generator_multiples(count: int) -> tuple[int, ...]:
    """segno's generator polynomial of ``count`` error codewords times each byte value,
    as an integer of ``count`` bytes (what one step of its division adds in)."""
    logs, exps = consts.GALIOS_LOG, consts.GALIOS_EXP
    generator = consts.GEN_POLY[count]
    return (0, *(int.from_bytes(bytes(exps[logs[value] + power] for power in generator))
                 for value in range(1, 256)))


class _Layout:
    """What is the same in every symbol of one version.

    A symbol is scored as one text: its rows, then its columns, ``"2"`` between two lines
    (stopping a run or a pattern), ``"0"`` and ``"1"`` for light and dark. ``lines`` is that
    text with the function patterns (format and version areas, and the dark module's place,
    still light: segno scores the masks before adding them) and every data module light;
    ``gather`` picks the symbol's text from the message bits followed by ``lines`` (each
    data module's character is its bit, in its row and in its column); ``flips`` the eight
    masks at once: bit m of a character's byte set where mask m darkens that data module.
    """

    def __init__(self, version: int) -> None:
        width: int = encoder.calc_matrix_size(version)
        self.width = width
        functions = encoder.make_matrix(width, width)
        encoder.add_finder_patterns(functions, width, width)
        encoder.add_alignment_patterns(functions, width, width)
        # segno marks every module that is not data with 0 or 1 and the data modules with 2;
        # its own placement, run on a matrix of lists, says where each message bit goes
        places: list[list[Any]] = [list(row) for row in functions]
        self.count = sum(row.count(2) for row in places)
        encoder.add_codewords(places, [(bit,) for bit in range(self.count)], version)
        stride = width + 1
        self.rows_length = width * stride - 1
        self.length = 2 * width * stride - 1
        text = bytearray(b"2" * self.length)
        picks = [self.count + position for position in range(self.length)]
        data = []
        for i, row in enumerate(places):
            for j, module in enumerate(row):
                at_row, at_column = i * stride + j, (width + j) * stride + i
                if isinstance(module, tuple):
                    picks[at_row] = picks[at_column] = module[0]
                    data.append((i, j, at_row, at_column))
                    module = 0
                text[at_row] = text[at_column] = 48 + module
        self.lines = text.decode("latin-1")
        self.gather = itemgetter(*picks)
        # each mask's data modules: bit m of a byte set where mask m darkens the module
        self.flips = 0
        for mask, function in enumerate(encoder.get_data_mask_functions(False)):
            flips = bytearray(self.length)
            for i, j, at_row, at_column in data:
                if function(i, j):
                    flips[at_row] = flips[at_column] = 1
            self.flips |= int.from_bytes(flips) << mask
        # masks of the text's integer: the lowest bit of each character; "0"s and "2"s
        every = int.from_bytes(b"\x01" * self.length)
        self.modules = every
        self.zeros = int.from_bytes(text.translate(_ALL_LIGHT))
        # every character that is a module followed by a module, in all eight bits
        pairs = bytearray(self.length)
        for position in range(self.length - 1):
            if text[position] != 50 and text[position + 1] != 50:  # not "2"
                pairs[position] = 255
        self.pairs = int.from_bytes(pairs)
        corners = bytearray(self.length)  # the top left module of each 2x2 block
        for i in range(width - 1):
            corners[i * stride:i * stride + width - 1] = b"\xff" * (width - 1)
        self.corners = int.from_bytes(corners)


@lru_cache(maxsize=8)
def _layout(version: int) -> _Layout:
    return _Layout(version)


def _penalties(planes: int, layout: _Layout) -> list[int]:
    """segno's ``evaluate_mask`` (N1 + N2 + N3 + N4) of each of the eight masked symbols,
    given as ``planes``: the symbol's text (see :class:`_Layout`) with bit m of each
    character's byte the module under mask m (separators 0). Each bit operation compares
    every module of the eight symbols with a neighbour at once."""
    width = layout.width
    stride = 8 * (width + 1)
    right = planes ^ (planes << 8)  # each module against the next in its line
    # N1: runs of five or more of a colour in a line, each 3 + (length - 5): a run of n is
    # n - 4 windows of five equal modules, plus 2
    equal = layout.pairs & ~right
    windows = equal & (equal << 8) & (equal << 16) & (equal << 24)
    runs = windows & ~(windows >> 8)  # the windows that start a run
    # N2: 2x2 blocks of one colour, 3 each: a module equal to its right, lower and lower
    # right neighbours
    blocks = layout.corners & ~(right | (planes ^ (planes << stride))
                                | (planes ^ (planes << stride + 8)))
    scores = []
    for mask in range(8):
        plane = layout.modules << mask
        n1 = (windows & plane).bit_count() + 2 * (runs & plane).bit_count()
        n2 = 3 * (blocks & plane).bit_count()
        # N4: each module is in the text twice (its row, its column)
        dark = (planes & plane).bit_count() // 2
        percent = float(dark) / (width ** 2)
        n4 = 10 * int(abs(percent * 100 - 50) / 5)
        # N3: 40 for each finder-like pattern, searched line by line as segno searches:
        # after a pattern that counts, from the module after it (a regular expression's
        # next search); after one that does not, from its fifth module (the expression,
        # which does not match it, from its second: no pattern starts at its second, third
        # or fourth module)
        n3 = 40 * len(_FINDER_LIKE.findall(_text(planes, mask, layout)))
        scores.append(n1 + n2 + n3 + n4)
    return scores


def _text(planes: int, mask: int, layout: _Layout) -> bytes:
    """The text of the symbol with ``mask`` applied (see :class:`_Layout`)."""
    return (layout.zeros | ((planes >> mask) & layout.modules)).to_bytes(layout.length)


#: segno's N3 occurrences (see :func:`_penalty`): the 1:1:3:1:1 pattern with light modules
#: before it up to four or its line's start, or after it up to four or its line's end
_FINDER_LIKE = re.compile(
    rb"1011101(?:(?<=00001011101)|(?<=20001011101)|(?<=2001011101)|(?<=201011101)"
    rb"|(?<=21011101)|(?<=^0001011101)|(?<=^001011101)|(?<=^01011101)|(?<=^1011101)"
    rb"|(?=0000|0{0,3}(?:2|\Z)))")
