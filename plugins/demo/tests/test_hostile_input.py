"""Input that must not be believed (issue 11 item 8): numbers are ASCII digits, a sign and one
period, read by one parser; dates a payer could not mean are positioned errors, never
postings; control characters (NUL ...) are refused in every text a user, an import file or
a payer's X12 gives, naming the field or position.

``Decimal()`` and ``int()`` read ``"١٢٣"`` (Arabic-Indic digits) as 123 and ``"1_000"`` as
1000; before this, the 835 decoder, typed amounts and imported quantities did too.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from medbill_payer_generic_x12.transactions.claim_837p import decode_837p, encode_837p
from medbill_payer_generic_x12.transactions.remittance_835 import decode_835
from medbill_payer_generic_x12.x12.errors import X12Error

from medbill_core.app import Medbill
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    Remittance,
)
from medbill_core.errors import ValidationFailed
from medbill_core.money import parse_amount, parse_plain_number, to_money
from medbill_core.services.receivables import remittance_exceptions
from medbill_core.services.remittance import post_remittance
from medbill_core.testing import factories
from medbill_core.testing.cli import cli, config_text, ok, one_line_error
from medbill_core.testing.factories import PRACTICE_NPI, RENDERING_NPI

TODAY = date.today()
ARABIC_123 = "\u0661\u0662\u0663"  # ١٢٣
FULL_WIDTH_12 = "\uff11\uff12"  # １２


def ccyymmdd(day: date) -> str:
    return day.strftime("%Y%m%d")


def interchange(*segments: str) -> str:
    """A one-transaction 835 interchange around ``segments`` (BPR to the end)."""
    body = ["ST*835*0001", *segments]
    body.append(f"SE*{len(body) + 1}*0001")
    return "~\n".join([
        "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*MEDBILL        *240316*0900*^*"
        "00501*000000777*0*T*:",
        "GS*HP*CLEARINGHOUSE*MEDBILL*20240316*0900*777*X*005010X221A1", *body, "GE*1*777",
        "IEA*1*000000777"]) + "~\n"


def remittance_835(*, paid: str = "100", charge: str = "150", units: str = "1",
                   paid_on: date | None = None, served_on: date | None = None,
                   patient: str = "DOE", trace: str = "CHK2001",
                   claim_number: str = "CLM2001") -> str:
    paid_on = paid_on or TODAY - timedelta(days=2)
    served_on = served_on or TODAY - timedelta(days=20)
    return interchange(
        f"BPR*I*{paid}*C*CHK************{ccyymmdd(paid_on)}", f"TRN*1*{trace}*1999999999",
        "N1*PR*ACME HEALTH PLAN*XV*ACME1", "N1*PE*LAKESIDE*XX*1234567893", "LX*1",
        f"CLP*{claim_number}*1*{charge}*{paid}*0*12*PCN2001*11*1", "CAS*CO*45*50",
        f"NM1*QC*1*{patient}*JANE****MI*ACME00001",
        f"DTM*232*{ccyymmdd(served_on)}",
        f"SVC*HC:99213*{charge}*{paid}**{units}", f"DTM*472*{ccyymmdd(served_on)}",
        "CAS*CO*45*50")


def refused(text: str) -> X12Error:
    with pytest.raises(X12Error) as caught:
        decode_835(text)
    return caught.value


# -- numbers -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [ARABIC_123, FULL_WIDTH_12, "1_000", "+5", "1e2", " 12",
                                  "12 ", "1.2.3", "NaN", "Infinity", "-", ".", "0x10"])
def test_the_one_number_parser_reads_only_ascii_digits_a_minus_and_one_period(
        text: str) -> None:
    assert parse_plain_number(text) is None


@pytest.mark.parametrize(("text", "value"), [("0", "0"), ("100", "100"), ("-12.5", "-12.5"),
                                             (".5", "0.5"), ("12.", "12"), ("007", "7")])
def test_plain_numbers_are_read_exactly(text: str, value: str) -> None:
    assert parse_plain_number(text) == Decimal(value)


@pytest.mark.parametrize("text", [ARABIC_123, FULL_WIDTH_12, f"{ARABIC_123}.00", "1_000"])
def test_typed_amounts_are_ascii_digits(text: str) -> None:
    with pytest.raises(ValueError, match="not an amount"):
        parse_amount(text)
    with pytest.raises(ValueError, match="not an amount"):
        to_money(text)


@pytest.mark.parametrize(("field", "value", "element"), [
    ("paid", ARABIC_123, "CLP04"), ("paid", "1_000", "CLP04"), ("charge", FULL_WIDTH_12, "CLP03"),
    ("paid", "+100", "CLP04"), ("units", "1_0", "SVC05"), ("units", ARABIC_123, "SVC05"),
])
def test_an_835_number_that_is_not_plain_is_a_positioned_error(
        field: str, value: str, element: str) -> None:
    text = remittance_835(**{field: value})
    if field == "paid":  # the BPR total has its own position: keep it plain
        text = text.replace(f"BPR*I*{value}*", "BPR*I*100*")
    error = refused(text)
    assert f"element {element}" in str(error)
    assert error.segment_id == element[:-2] and error.segment_index is not None
    assert value not in str(error)


def test_an_835_total_that_is_not_plain_is_a_positioned_error() -> None:
    error = refused(remittance_835().replace("BPR*I*100*", f"BPR*I*{ARABIC_123}*"))
    assert "element BPR02" in str(error)


def test_an_837_quantity_that_is_not_plain_is_a_positioned_error() -> None:
    text = encode_837p([factories.make_billable_claim()]).text
    assert decode_837p(text)  # the file as written is fine
    sv1 = next(part for part in text.split("~") if part.startswith("SV1"))
    elements = sv1.split("*")
    elements[4] = "1_0"
    with pytest.raises(X12Error, match="element SV104"):
        decode_837p(text.replace(sv1, "*".join(elements)))


def test_plain_835_numbers_still_decode() -> None:
    [remittance] = decode_835(remittance_835(paid="100.5", charge="150.00", units="2"))
    claim = remittance.claims[0]
    assert (claim.charge, claim.paid, claim.services[0].units) == (
        Decimal("150.00"), Decimal("100.50"), Decimal("2"))


# -- dates ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("paid_on", [date(9999, 12, 31), date(1899, 12, 31),
                                     TODAY + timedelta(days=400)])
def test_a_payment_date_a_payer_could_not_mean_is_a_positioned_error(paid_on: date) -> None:
    error = refused(remittance_835(paid_on=paid_on))
    assert "element BPR16" in str(error) and "between 1900-01-01 and" in str(error)


def test_a_production_date_a_payer_could_not_mean_is_a_positioned_error() -> None:
    text = remittance_835().replace("N1*PR*", "DTM*405*99991231~\nN1*PR*", 1)
    assert "element DTM02" in str(refused(text))


@pytest.mark.parametrize("served_on", [TODAY + timedelta(days=400), date(1850, 1, 1)])
def test_service_dates_nobody_could_mean_are_positioned_errors(served_on: date) -> None:
    error = refused(remittance_835(served_on=served_on))
    assert error.segment_id == "DTM" and "element DTM02" in str(error)


def _remittance(number: str, paid_on: date, served_on: date) -> Remittance:
    payment = ClaimPayment(
        claim_number=number, status=ClaimStatusCode.PRIMARY, charge=Decimal("125.00"),
        paid=Decimal("100.00"), service_date_from=served_on, service_date_to=served_on,
        adjustments=[Adjustment(group=AdjustmentGroup.CONTRACTUAL, reason_code="45",
                                amount=Decimal("25.00"))])
    return Remittance(trace_number=f"EFT-{number}", payment_amount=Decimal("100.00"),
                      payer_name="Acme", payer_id="ACME1", payee_name="Lakeside",
                      payment_date=paid_on, claims=[payment])


def _accepted_claim(app: Medbill, number: str) -> int:
    with app.unit_of_work() as work:
        if not work.patients.list():
            work.patients.register_provider(factories.make_provider())
            work.patients.register(factories.make_patient(1))
            work.patients.add_coverage(1, factories.make_coverage())
        claim = work.claims.create(factories.make_claim(1, number=number))
        for target in (ClaimState.VALIDATED, ClaimState.SUBMITTED, ClaimState.ACCEPTED):
            work.claims.transition(claim.id, target)
    return claim.id


def test_a_claim_paid_before_its_service_goes_to_the_exceptions_unposted(
        medbill_app: Medbill) -> None:
    served_on = factories.recent_service_date()
    early = _accepted_claim(medbill_app, "EARLY")
    with medbill_app.unit_of_work() as work:
        result = post_remittance(work, _remittance("EARLY", served_on - timedelta(days=31),
                                                   served_on))
    assert (result.posted, result.unmatched) == ([], ["EARLY"])
    with medbill_app.unit_of_work() as work:
        assert work.claims.get(early).state is ClaimState.ACCEPTED
        assert work.ledger.claim_balance(early).insurance == Decimal("125.00")
        [item] = remittance_exceptions(work)
        assert "dates of service after the payment date" in item.reason

    # within the tolerance (a payment dated a little early) the claim posts
    on_time = _accepted_claim(medbill_app, "ONTIME")
    with medbill_app.unit_of_work() as work:
        posted = post_remittance(work, _remittance("ONTIME", served_on - timedelta(days=5),
                                                   served_on))
    assert posted.unmatched == [] and len(posted.posted) == 1
    with medbill_app.unit_of_work() as work:
        assert work.claims.get(on_time).state is not ClaimState.ACCEPTED


@pytest.mark.parametrize("paid_on", [date(9999, 12, 31), date(1899, 1, 1)])
def test_a_remittance_dated_when_no_payer_could_pay_is_refused_whole(
        medbill_app: Medbill, paid_on: date) -> None:
    claim_id = _accepted_claim(medbill_app, "FAR")
    with pytest.raises(ValidationFailed, match="835 EFT-FAR: payment_date: a date between"), \
            medbill_app.unit_of_work() as work:
        post_remittance(work, _remittance("FAR", paid_on, factories.recent_service_date()))
    with medbill_app.unit_of_work() as work:
        assert work.claims.get(claim_id).state is ClaimState.ACCEPTED
        assert remittance_exceptions(work) == []


# -- control characters ----------------------------------------------------------------------

@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x07", "\x7f"])
def test_a_control_character_in_an_835_is_a_positioned_error(char: str) -> None:
    error = refused(remittance_835(patient=f"DO{char}E"))
    assert error.segment_id == "NM1" and "element NM103" in str(error)
    assert "control characters" in str(error)


def test_a_control_character_in_a_streamed_835_is_a_positioned_error(tmp_path: Path) -> None:
    from medbill_payer_generic_x12.x12.reader import X12Reader

    path = tmp_path / "remit.835"
    path.write_text(remittance_835(trace="CHK\x002001"), encoding="latin-1")
    with pytest.raises(X12Error, match="element TRN02") as caught:
        for transaction in X12Reader.from_path(path, chunk_size=64).transactions():
            list(transaction.segments())
    assert caught.value.segment_index == 5  # ISA, GS, ST, BPR, TRN


# -- through the command line ---------------------------------------------------------------

PATIENTS_CSV = """\
account_number,last_name,first_name,birth_date,sex,address_line1,address_city,address_state,\
address_postal_code
H1,Okafor,Chidi,1971-05-05,M,10 Lake Shore Dr,Chicago,IL,60601
"""


@pytest.fixture
def config(cli_isolation: None, tmp_path: Path) -> Path:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}",
                                plugins=["payer_generic_x12"],
                                extra='[payers.acme.options]\nsubmitter_id = "SUB1"\n'
                                      'receiver_id = "RCV1"\n'), encoding="utf-8")
    ok(path, "db", "upgrade")
    return path


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\n"])
def test_an_imported_name_with_a_control_character_is_refused_naming_the_field(
        config: Path, tmp_path: Path, char: str) -> None:
    text = PATIENTS_CSV.replace("Okafor", f'"Oka{char}for"')
    result = cli(config, "patients", "import", _write(tmp_path, "p.csv", text))
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "last_name: contains a control character" in result.stderr
    assert "Oka" not in result.stderr  # the value (PHI) is never repeated
    assert json.loads(ok(config, "patients", "list", "--json").stdout) == []


def test_a_typed_option_with_a_control_character_is_refused_naming_the_option(
        config: Path, tmp_path: Path) -> None:
    ok(config, "patients", "import", _write(tmp_path, "p.csv", PATIENTS_CSV))
    line = one_line_error(cli(config, "patients", "edit", "H1", "--last-name", "Oka\x00for"), 2)
    assert "--last-name: contains a control character" in line
    assert json.loads(ok(config, "patients", "show", "H1", "--json").stdout)[
        "last_name"] == "Okafor"


@pytest.mark.parametrize("amount", [f"{ARABIC_123}.00", "1_000.00", f"{FULL_WIDTH_12}"])
def test_a_typed_amount_in_other_digits_is_refused(config: Path, tmp_path: Path,
                                                   amount: str) -> None:
    ok(config, "patients", "import", _write(tmp_path, "p.csv", PATIENTS_CSV))
    line = one_line_error(cli(config, "payments", "record", "--patient", "H1", "--amount",
                              amount, "--method", "check"), 2)
    assert line.startswith("error: --amount")
    assert json.loads(ok(config, "payments", "list", "--json").stdout) == []


@pytest.mark.parametrize(("field", "value"), [("units", "1_0"), ("units", ARABIC_123),
                                              ("diagnosis_pointers", ["1_0"])])
def test_imported_quantities_are_plain_numbers(config: Path, tmp_path: Path, field: str,
                                               value: object) -> None:
    ok(config, "patients", "import", _write(tmp_path, "p.csv", PATIENTS_CSV))
    day = factories.recent_service_date().isoformat()
    line = {"line_number": 1, "procedure_code": "99213", "units": "1", "charge": "100.00",
            "diagnosis_pointers": [1], "service_date_from": day, field: value}
    claim = {"claim_number": "H-1", "account_number": "H1", "billing_provider_npi": PRACTICE_NPI,
             "rendering_provider_npi": RENDERING_NPI, "place_of_service": "11",
             "service_date_from": day, "service_date_to": day, "diagnoses": ["E11.9"],
             "lines": [line]}
    error = one_line_error(cli(config, "claims", "import",
                               _write(tmp_path, "c.json", json.dumps([claim]))))
    assert f"lines[0].{field}" in error and "not a number" in error
    assert json.loads(ok(config, "claims", "list", "--json").stdout)["claims"] == []


@pytest.mark.parametrize(("change", "where"), [
    (("CLP*CLM2001*1*150*100*", f"CLP*CLM2001*1*150*{ARABIC_123}*"), "element CLP04"),
    (("BPR*I*100*C*CHK************", "BPR*I*100*C*CHK************9999"), "element BPR16"),
    (("NM1*QC*1*DOE*", "NM1*QC*1*D\x00OE*"), "element NM103"),
])
def test_remit_post_of_a_hostile_835_posts_nothing_and_names_the_position(
        config: Path, tmp_path: Path, change: tuple[str, str], where: str) -> None:
    text = remittance_835()
    if "BPR16" in where:
        text = text.replace(ccyymmdd(TODAY - timedelta(days=2)), "99991231", 1)
    else:
        text = text.replace(*change)
    path = tmp_path / "remit.835"
    path.write_text(text, encoding="utf-8")
    result = cli(config, "remit", "post", str(path))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert where in result.output
    assert json.loads(ok(config, "remit", "list", "--json").stdout) == []
