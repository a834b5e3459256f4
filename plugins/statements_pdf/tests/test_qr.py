"""The pay link's QR matrix (medbill_statements_pdf.qr) is segno's, module for module."""

from __future__ import annotations

import random
import string

import pytest
import segno
from medbill_statements_pdf.qr import qr_matrix


def segno_matrix(text: str) -> list[list[int]]:
    return [list(row) for row in segno.make(text, error="m").matrix_iter(border=0)]


def texts(count: int, seed: int) -> list[str]:
    """Texts of many lengths and alphabets: QR versions 3 to 13, Micro QR codes for the
    shortest."""
    rng = random.Random(seed)
    alphabets = (string.ascii_uppercase + string.digits, string.printable[:94], string.digits)
    return ["".join(rng.choice(rng.choice(alphabets))
                    for _ in range(rng.choice((3, 12, 40, 61, 62, 90, 150, 300))))
            for _ in range(count)]


def test_pay_links_as_printed_get_segnos_matrix() -> None:
    rng = random.Random(1)
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    for _ in range(200):
        code = "".join(rng.choice(alphabet) for _ in range(12))
        url = f"https://pay.example.test/pay?code={code[:4]}-{code[4:8]}-{code[8:]}"
        assert qr_matrix(url) == segno_matrix(url), url


@pytest.mark.parametrize("seed", [1, 2])
def test_any_text_gets_segnos_matrix(seed: int) -> None:
    versions: set[int | str] = set()
    masks: set[int] = set()
    for text in texts(300, seed):
        code = segno.make(text, error="m")
        versions.add(code.version)
        masks.add(code.mask)
        assert qr_matrix(text) == segno_matrix(text), text
    # each of the eight masks chosen for some text; the pay link's size, one with version
    # information (7 and up), a Micro QR code
    assert masks == set(range(8))
    assert {3, 8, "M4"} <= versions


def test_each_masks_penalty_is_segnos() -> None:
    """The score of every candidate mask, not only the one chosen: matrices made of the
    patterns the rules count (finder-like patterns overlapping one another, light runs
    around them, long runs) as rows or as columns, against segno's ``evaluate_mask``."""
    from medbill_statements_pdf.qr import _layout, _penalties
    from segno import encoder

    rng = random.Random(3)
    pieces = ["1011101", "0000", "1", "0", "10111011101", "1011101011101", "00000", "11111",
              "10", "01"]
    for _ in range(1500):
        layout = _layout(rng.choice([1, 2, 4, 7]))
        width = layout.width
        lines = []
        for _ in range(width):
            text = "".join(rng.choice("01") for _ in range(width))
            if rng.random() < 0.7:
                text = ""
                while len(text) < width:
                    text += rng.choice(pieces)
                start = rng.randrange(len(text) - width + 1)
                text = text[start:start + width]
            lines.append(text)
        if rng.random() < 0.5:  # the patterns in the columns
            lines = ["".join(column) for column in zip(*lines, strict=True)]
        columns = ["".join(column) for column in zip(*lines, strict=True)]
        symbol = int.from_bytes("2".join(lines + columns).encode("ascii"))
        matrix = tuple(bytearray(int(module) for module in line) for line in lines)
        # the matrix under each of the eight masks' places: eight scores, each segno's
        planes = (symbol & layout.modules) * 255
        expected = encoder.evaluate_mask(matrix, width, width)
        assert _penalties(planes, layout) == [expected] * 8, lines
