"""What the X12 fuzzer (``test_fuzz_x12.py``) found, each kept as its minimal example.

Every test feeds one document through the command line in-process (``medbill x12 parse``,
``medbill x12 validate``, ``medbill remit post``) or the decoder, and asserts the answer: no
traceback, one positioned error line, or the document read as it means.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from medbill_demo.runner import demo_config
from medbill_demo.simulation import API_KEY
from medbill_payer_generic_x12.codec import decode_document
from medbill_payer_generic_x12.transactions.claim_837p import encode_837p
from typer.testing import CliRunner, Result

from medbill_core.cli.main import application
from medbill_core.config import config_toml
from medbill_core.domain import DocumentKind
from medbill_core.testing.factories import make_billable_claim

pytestmark = pytest.mark.usefixtures("cli_isolation")


def medbill(*args: str) -> Result:
    """``medbill ARGS`` without a configuration: the X12 utilities stand alone."""
    return CliRunner().invoke(application(list(args)), list(args), catch_exceptions=False)


def one_error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output and "internal error" not in result.output
    return lines[0]


def with_segment_after(text: str, tag: str, segment: str) -> str:
    """``text`` (one segment a line) with ``segment`` after the first ``tag`` segment, and
    SE01 counting it."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(tag + "*"))
    lines.insert(at + 1, segment)
    se = next(i for i, line in enumerate(lines) if line.startswith("SE*"))
    _, count, control = lines[se].rstrip("~").split("*")
    lines[se] = f"SE*{int(count) + 1}*{control}~"
    return "\n".join(lines) + "\n"


# -- 837P ------------------------------------------------------------------------------------

def test_837p_pat_in_the_subscriber_loop_leaves_the_subscriber_the_patient(
        tmp_path: Path) -> None:
    """Found from lfh__demo.example8.837: a PAT in loop 2000B (the subscriber is the patient;
    PAT only carries a weight or death date there) made the decoder look for a 2000C patient
    that was never sent: AssertionError, a traceback through ``x12 parse`` and ``validate``."""
    plain = encode_837p([make_billable_claim()], line_breaks=True).text
    text = with_segment_after(plain, "DMG", "PAT*******01*155~")
    kind, [claim] = decode_document(text)
    assert kind is DocumentKind.CLAIM_837P
    assert claim.patient.last_name == "Testpatient1"
    assert claim.coverage.relationship.value == "18"
    path = tmp_path / "pat-in-2000b.837"
    path.write_text(text, encoding="ascii")
    assert medbill("x12", "parse", str(path)).stdout.strip() == \
        "pat-in-2000b.837: 837P, 1 claim(s)"
    assert medbill("x12", "validate", str(path)).exit_code == 0


# -- remit post --------------------------------------------------------------------------------

@pytest.fixture
def posting_config(tmp_path: Path) -> Path:
    """The demo's configuration (every shipped plugin) on an empty, upgraded SQLite file."""
    config = tmp_path / "medbill.toml"
    settings = demo_config(tmp_path, "http://127.0.0.1:9", API_KEY)
    config.write_text(config_toml(settings.model_copy(update={
        "database_url": f"sqlite:///{tmp_path / 'medbill.db'}"})), encoding="utf-8")
    args = ["-c", str(config), "db", "upgrade"]
    assert CliRunner().invoke(application(args), args).exit_code == 0
    return config


def posted(config: Path, path: Path) -> Result:
    args = ["-c", str(config), "remit", "post", str(path)]
    return CliRunner().invoke(application(args), args, catch_exceptions=False)


def test_remit_post_never_prints_the_control_characters_of_st01(
        tmp_path: Path, posting_config: Path) -> None:
    """Found from a 277CA mutant: ST01 is named back in the refusal ("... is an X12 {ST01}
    transaction, not an 835"), raw: a terminal escape sequence and a line separator (U+2028,
    or a group separator) from the file reached the terminal, and the one-line error was
    several lines to anything splitting lines. An ST01 that is no identifier is the
    decoder's to report, by position."""
    text = ("ISA*00*          *00*          *ZZ*PAYER          *ZZ*PRACTICE       *261201*1200*"
            "^*00501*000000001*0*P*:~GS*HP*PAYER*PRACTICE*20261201*1200*1*X*005010X221A1~"
            "ST*8\x1b[31m35\u2028X\x1d*0001~SE*2*0001~GE*1*1~IEA*1*000000001~")
    path = tmp_path / "escape.835"
    path.write_text(text, encoding="utf-8")
    result = posted(posting_config, path)
    assert result.exit_code == 1, result.output
    assert result.stderr == ""
    [line] = result.stdout.splitlines()
    assert line.startswith("escape.835: undecodable — ")
    assert line.isprintable(), repr(line)
    assert "X12 8" not in line


def test_remit_post_shows_control_characters_of_payer_text_as_escapes(
        tmp_path: Path, posting_config: Path) -> None:
    """Found fuzzing the merged issue-11 code: a C1 byte in TRN02 (what a UTF-8 file read as
    Latin-1 gives, so the reader cannot refuse it) was printed raw in "applied — 835 ...".
    The console writes every such character as its escape; a bidi override too."""
    from datetime import date
    from decimal import Decimal

    from medbill_payer_generic_x12.transactions.remittance_835 import encode_835

    from medbill_core.domain import ClaimPayment, ClaimStatusCode, PaymentMethod, Remittance

    remittance = Remittance(
        trace_number="EFTMARK", payment_amount=Decimal("10.00"), payment_method=PaymentMethod.ACH,
        payment_date=date.today(), payer_name="Acme", payer_id="ACME1", payee_name="Clinic",
        claims=[ClaimPayment(claim_number="NOSUCH", status=ClaimStatusCode.PRIMARY,
                             charge=Decimal("10.00"), paid=Decimal("10.00"))])
    text = encode_835([remittance]).replace("*EFTMARK~", "*EFT\x80\u202eMARK~")
    path = tmp_path / "c1.835"
    path.write_text(text, encoding="utf-8")
    result = posted(posting_config, path)
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.stdout.splitlines() if "applied" in line]
    assert line.isprintable(), repr(line)
    assert "835 EFT\\x80\\u202eMARK:" in line


# -- X12 error messages ----------------------------------------------------------------------

def test_an_x12_error_names_a_segment_id_only_when_it_is_one() -> None:
    """Found fuzzing the merged issue-11 code: the new refusal of control characters named
    the segment by what stood in its ID position ("segment 10 (\\x80\\x1f): text without
    control characters"), printing the very characters it refused. A position names a
    segment ID only when it is one."""
    from medbill_payer_generic_x12.x12.errors import X12SyntaxError, describe_position

    assert describe_position(10, "CLP", 3) == "segment 10 (CLP), element CLP03"
    assert describe_position(10, "\x80\x1f", 5) == "segment 10, element 05"
    assert describe_position(None, "\x1b[31m", None) == "document"
    message = str(X12SyntaxError("text without control characters", segment_index=10,
                                 segment_id="\x80\x1f"))
    assert message == "segment 10: text without control characters"
