"""The pay link's QR code matrix, as ``segno.make(text, error="m")`` makes it, in a third of
the time.

segno chooses the data mask by building all eight masked matrices and scoring each (ISO/IEC
18004:2015 7.8.3) one module at a time in Python: about 2.5 ms of the 3 ms a statement's QR
code costs, for the most expensive step of the statement run. Here segno encodes the text once
with mask 0 (it skips its own evaluation when the mask is given); the data modules are
recovered from that matrix and the eight candidates are scored a row at a time on integers
and strings, by the very rules segno applies (including how it counts the 1:1:3:1:1 finder-like
pattern), so the chosen mask, and every module of the result, are segno's own: the tests
compare the two on thousands of texts, and the statement PDFs stay byte-identical.

segno's ``encoder`` helpers used here (the function-pattern layout, the mask functions, the
format information) are the ones its own encoder calls; a Micro QR code (never chosen for a
pay link: too short) is left to segno entirely.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import pairwise
from typing import Any

import segno
from segno import consts
from segno import encoder as segno_encoder

#: segno's encoder module (untyped: its helpers are called through ``Any``)
encoder: Any = segno_encoder

_ERROR_LEVELS = {"L": consts.ERROR_LEVEL_L, "M": consts.ERROR_LEVEL_M,
                 "Q": consts.ERROR_LEVEL_Q, "H": consts.ERROR_LEVEL_H}
_RUN_OF_FIVE = re.compile(r"00000+|11111+")  # faster than 0{5,}|1{5,}
_FINDER_LIKE = "1011101"
_DIGITS = bytes.maketrans(b"\x00\x01", b"01")
_MAX_PENALTY = 2 ** 31  # above any score a symbol can have (segno starts from a larger one)


def qr_matrix(text: str) -> list[list[int]]:
    """The modules of ``text``'s QR code (error level M, raised where it fits, as segno
    does), row by row, 1 for dark, without the quiet zone: equal to
    ``[list(row) for row in segno.make(text, error="m").matrix_iter(border=0)]``."""
    first = segno.make(text, error="m", mask=0)
    if first.is_micro:
        return [list(row) for row in segno.make(text, error="m").matrix_iter(border=0)]
    width = len(first.matrix)
    layout = _layout(width)
    masked = [_row_bits(row) for row in first.matrix]
    data = [(row ^ pattern) & region
            for row, pattern, region in zip(masked, layout.patterns[0], layout.region,
                                            strict=True)]
    best_mask, best_score = 0, _MAX_PENALTY
    for mask, patterns in enumerate(layout.patterns):
        rows = [fixed | ((bits ^ pattern) & region)
                for fixed, bits, pattern, region in zip(layout.fixed, data, patterns,
                                                        layout.region, strict=True)]
        score = _penalty(rows, width)
        if score < best_score:  # the first of equal scores wins, as in segno
            best_mask, best_score = mask, score
    if best_mask == 0:
        return [list(row) for row in first.matrix]
    final = tuple(bytearray(_row_modules(row ^ ((zero ^ chosen) & region), width))
                  for row, zero, chosen, region in zip(
                      masked, layout.patterns[0], layout.patterns[best_mask], layout.region,
                      strict=True))
    encoder.add_format_info(final, first.version, _ERROR_LEVELS[first.error], best_mask)
    return [list(row) for row in final]


class _Layout:
    """What is fixed in a symbol of one size while segno scores the masks: ``region`` the
    data modules of each row (bits), ``fixed`` the other modules as they are then (finder,
    timing and alignment patterns; format and version areas still light), ``patterns`` each
    mask's dark modules per row."""

    def __init__(self, width: int) -> None:
        functions = encoder.make_matrix(width, width)
        encoder.add_finder_patterns(functions, width, width)
        encoder.add_alignment_patterns(functions, width, width)
        # segno's encoder marks every module that is not data with 0 or 1 and leaves the data
        # modules at 2; the dark module's place is reserved (light) while masks are scored
        self.region = [_row_bits(bytes(module > 1 for module in row)) for row in functions]
        self.fixed = [_row_bits(bytes(module if module < 2 else 0 for module in row))
                      for row in functions]
        functions_of_masks = encoder.get_data_mask_functions(False)
        self.patterns = [[_row_bits(bytes(bool(function(i, j)) for j in range(width)))
                          for i in range(width)] for function in functions_of_masks]


@lru_cache(maxsize=8)
def _layout(width: int) -> _Layout:
    return _Layout(width)


def _row_bits(row: bytes | bytearray) -> int:
    """A row of modules as an integer, the first module the highest bit."""
    return int(bytes(row).translate(_DIGITS), 2)


def _row_modules(bits: int, width: int) -> list[int]:
    return [(bits >> (width - 1 - j)) & 1 for j in range(width)]


def _penalty(rows: list[int], width: int) -> int:
    """segno's ``evaluate_mask`` (N1 + N2 + N3 + N4) of a matrix given as row integers."""
    texts = [format(row, f"0{width}b") for row in rows]
    # every row, then every column, one string; the "2" between them stops a run or a pattern
    lines = "2".join(texts + ["".join(column) for column in zip(*texts, strict=True)])
    runs = _RUN_OF_FIVE.findall(lines)
    n1 = sum(map(len, runs)) - 2 * len(runs)
    inner = (1 << (width - 1)) - 1  # every module but the first of a row: j >= 1
    n2 = 0
    for above, row in pairwise(rows):
        vertical = above ^ row
        differs = vertical | (vertical >> 1) | (row ^ (row >> 1))
        n2 += (~differs & inner).bit_count()
    dark = sum(row.bit_count() for row in rows)
    percent = float(dark) / (width ** 2)
    n4 = 10 * int(abs(percent * 100 - 50) / 5)
    return n1 + 3 * n2 + _finder_like(lines, width) + n4


def _finder_like(lines: str, size: int) -> int:
    """segno's N3 count over the rows and columns (``size`` modules each, one character
    between them): 40 for each 1:1:3:1:1 pattern with four light modules before or after it
    in its line (or at the line's edge), searched line by line as segno searches."""
    count = 0
    index = lines.find(_FINDER_LIKE)
    while index != -1:
        start = index - index % (size + 1)  # where its line starts
        position = index - start
        offset = index + 7
        if position in (0, size - 7) or "1" not in lines[max(index - 4, start):index] \
                or "1" not in lines[offset:min(offset + 4, start + size)]:
            count += 40
        else:
            offset = index + 4
        index = lines.find(_FINDER_LIKE, offset)
    return count
