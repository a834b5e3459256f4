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
