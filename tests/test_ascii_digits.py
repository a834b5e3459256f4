"""Identifiers, codes and numbers typed as text take ASCII digits (0-9) only.

``str.isdigit``, ``str.isdecimal``, ``int()``, ``Decimal()`` and the regex ``\\d`` all read
Arabic-Indic (``١٢٣``) and full-width (``１２３``) digits as digits; no payer reads them, and the
X12 engine refuses them only when the claim is encoded. Each check below refuses them with the
message it gives for any other malformed value.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from medbill_core.codesets.formats import is_cpt_modifier_number
from medbill_core.domain.identifiers import (
    EIN,
    NPI,
    ICD10Code,
    Modifier,
    PhoneNumber,
    PlaceOfService,
    ProcedureCode,
    TaxonomyCode,
    ZipCode,
    is_icd10_format,
    is_procedure_format,
    is_valid_npi,
    npi_with_check_digit,
)
from medbill_core.domain.institutional import ICD10PCSCode, NUBCCode, RevenueCode
from medbill_core.errors import ValidationFailed

#: ASCII digits written in another script's digits.
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
SCRIPTS = pytest.mark.parametrize("script", [ARABIC_INDIC, FULL_WIDTH],
                                  ids=["arabic-indic", "full-width"])


def _message(error: ValidationError) -> str:
    (only,) = error.errors()
    return str(only["msg"]).removeprefix("Value error, ")


# (type, a valid value, the message any malformed value of the type gets)
DOMAIN_TYPES: list[tuple[Any, str, str]] = [
    (NPI, "1234567893", "NPI must be 10 digits"),
    (EIN, "12-3456789", "EIN must be 9 digits (NN-NNNNNNN)"),
    (EIN, "123456789", "EIN must be 9 digits (NN-NNNNNNN)"),
    (TaxonomyCode, "207Q00000X",
     "taxonomy code must be 10 characters ending in X (NUCC format)"),
    (ICD10Code, "E11.9", "not an ICD-10-CM code (letter, digit, then 1 to 5 characters)"),
    (ProcedureCode, "99213", "not a CPT or HCPCS Level II procedure code"),
    (ProcedureCode, "0001F", "not a CPT or HCPCS Level II procedure code"),
    (ProcedureCode, "J1100", "not a CPT or HCPCS Level II procedure code"),
    (Modifier, "25", "modifier must be 2 letters or digits"),
    (Modifier, "F1", "modifier must be 2 letters or digits"),
    (PlaceOfService, "11", "place of service must be 2 digits"),
    (ZipCode, "62701", "ZIP code must be 5 or 9 digits"),
    (ZipCode, "62701-1234", "ZIP code must be 5 or 9 digits"),
    (PhoneNumber, "(217) 555-0100", "phone number must have 10 digits"),
    (PhoneNumber, "+1 217 555 0100", "phone number must have 10 digits"),
    (ICD10PCSCode, "0DTJ4ZZ", "ICD-10-PCS code must be 7 letters or digits (no I or O)"),
    (RevenueCode, "0450", "revenue code must be 4 digits (NUBC, e.g. 0450)"),
    (RevenueCode, "450", "revenue code must be 4 digits (NUBC, e.g. 0450)"),
    (NUBCCode, "01", "NUBC code must be 2 letters or digits"),
]


@SCRIPTS
@pytest.mark.parametrize(("kind", "valid", "message"), DOMAIN_TYPES,
                         ids=[f"{t.__metadata__[0].func.__name__}-{v}"
                              for t, v, _ in DOMAIN_TYPES])
def test_domain_identifiers_refuse_other_digits(kind: Any, valid: str, message: str,
                                                script: dict[int, str]) -> None:
    adapter = TypeAdapter(kind)
    adapter.validate_python(valid)  # the ASCII value is fine
    with pytest.raises(ValidationError) as caught:
        adapter.validate_python(valid.translate(script))
    assert _message(caught.value) == message


@SCRIPTS
@pytest.mark.parametrize(("check", "valid"), [
    (is_valid_npi, "1234567893"),
    (is_procedure_format, "99213"),
    (is_procedure_format, "G0439"),
    (is_icd10_format, "E11.9"),
    (is_icd10_format, "S72.001A"),
    (is_cpt_modifier_number, "25"),
])
def test_format_predicates_refuse_other_digits(check: Callable[[str], bool], valid: str,
                                               script: dict[int, str]) -> None:
    assert check(valid)
    assert not check(valid.translate(script))


@SCRIPTS
def test_npi_completion_refuses_other_digits(script: dict[int, str]) -> None:
    assert npi_with_check_digit("123456789") == "1234567893"
    with pytest.raises(ValueError, match="expected nine digits"):
        npi_with_check_digit("123456789".translate(script))


@SCRIPTS
def test_percent_and_units_text_refuse_other_digits(script: dict[int, str],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    from medbill_core.cli.accounts_cmd import _planned
    from medbill_core.services.collections import _fee_percent
    from medbill_core.services.financial_assistance import parse_percent

    assert str(parse_percent("12.5", "--tier")) == "12.5"
    with pytest.raises(ValidationFailed) as caught:
        parse_percent("12.5".translate(script), "--tier")
    assert caught.value.problems == [("--tier", "not a number")]

    assert str(_fee_percent("25.00", "agency X")) == "25.00"
    with pytest.raises(ValidationFailed) as caught:
        _fee_percent("25.00".translate(script), "agency X")
    assert caught.value.problems == [("fee_percent", "must be a number, e.g. 25.00")]

    assert str(_planned("97110-GP*2=45.00", 1).units) == "2"
    with pytest.raises(typer.Exit):
        _planned("97110-GP*" + "2".translate(script) + "=45.00", 1)
    assert capsys.readouterr().err == ("error: --service 1: units must be a number more than 0"
                                       " (at most 3 decimals)\n")


@pytest.mark.parametrize("text", ["1e1", "1E1", "2.5e1", "1_0", "+10", "1,0"])
def test_percent_text_is_a_plain_number_never_an_exponent(text: str) -> None:
    """As every number medbill reads (parse_plain_number): Decimal() read "1e1" as 10, so
    an agency's fee of "1e1" was stored as 10%."""
    from medbill_core.services.collections import _fee_percent
    from medbill_core.services.financial_assistance import parse_percent

    with pytest.raises(ValidationFailed) as caught:
        _fee_percent(text, "agency X")
    assert caught.value.problems == [("fee_percent", "must be a number, e.g. 25.00")]
    with pytest.raises(ValidationFailed) as caught:
        parse_percent(text, "--tier")
    assert caught.value.problems == [("--tier", "not a number")]
    assert str(_fee_percent(" 10 ", "agency X")) == "10"
    assert str(parse_percent("10%", "--tier")) == "10"


# -- through the command line ---------------------------------------------------------------------

@pytest.fixture
def codesets_dirs(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
                  monkeypatch: pytest.MonkeyPatch) -> None:
    from medbill_core.codesets import reset_default_codesets

    monkeypatch.setenv("MEDBILL_CODESETS_DIR", str(tmp_path / "codesets"))
    monkeypatch.setenv("MEDBILL_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "medbill-cache"))
    reset_default_codesets()


@SCRIPTS
def test_validate_command_refuses_other_digits(codesets_dirs: None,
                                               script: dict[int, str]) -> None:
    from typer.testing import CliRunner, Result

    from medbill_core.cli import validate_cmd

    def validate(*args: str) -> Result:
        return CliRunner().invoke(validate_cmd.app, list(args))

    assert validate("npi", "1234567893").exit_code == 0
    npi = validate("npi", "1234567893".translate(script))
    assert npi.exit_code == 1, npi.stdout
    assert npi.stdout.startswith("invalid: ")
    assert "an NPI is 10 digits (got characters other than the digits 0-9)" in npi.stdout
    assert validate("modifier", "25").exit_code == 0
    modifier = validate("modifier", "25".translate(script))
    assert modifier.exit_code == 1, modifier.stdout
    assert "modifiers are 2 letters or digits" in modifier.stdout
    assert validate("pos", "11".translate(script)).exit_code == 1
    assert validate("hcpcs", "99213".translate(script)).exit_code == 1


@pytest.fixture
def config(tmp_path: Path, cli_isolation: None) -> Path:
    from tests.cli_support import config_text, ok

    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(path, "db", "upgrade")
    patients = tmp_path / "p.csv"
    patients.write_text("account_number,last_name,first_name,birth_date,sex,phone\n"
                        "P1,Okafor,Chidi,1971-05-05,M,3125550101\n", encoding="utf-8")
    ok(path, "patients", "import", str(patients))
    return path


@SCRIPTS
def test_providers_and_patients_refuse_other_digits(config: Path,
                                                    script: dict[int, str]) -> None:
    from tests.cli_support import cli, ok, one_line_error

    provider = one_line_error(cli(config, "providers", "add", "--npi",
                                  "1234567893".translate(script), "--last-name", "Arabic"))
    assert provider == "error: provider: npi: NPI must be 10 digits"
    assert "Arabic" not in ok(config, "providers", "list").stdout
    phone = one_line_error(cli(config, "patients", "edit", "P1", "--phone",
                               "2175550100".translate(script)))
    assert phone == "error: patient 1: phone: phone number must have 10 digits"
    ok(config, "patients", "edit", "P1", "--phone", "2175550100")
