"""``medbill patients show/search/edit/merge``, ``coverages list/edit/terminate`` and
``guarantors add/list/show/edit/assign`` through the command line (SQLite)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from medbill_core import ledger_balances
from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.storage.schema import LedgerBalanceRow
from medbill_core.testing import factories
from tests.cli_support import cli, config_text, ok, one_line_error

PATIENTS = """\
account_number,last_name,first_name,birth_date,sex,address_line1,address_city,address_state,\
address_postal_code,phone
P1,Okafor,Chidi,1971-05-05,M,10 Lake Shore Dr,Chicago,IL,60601,3125550101
P2,Okafor,Ada,2012-08-19,F,10 Lake Shore Dr,Chicago,IL,60601,
P3,Silva,Mateus,1999-12-31,M,,,,,
P9,Okafor,Chidi,1971-05-05,M,,,,,3125550199
"""
COVERAGES = """\
account_number,payer_key,order,member_id,group_number,relationship,subscriber_last_name,\
subscriber_first_name
P1,acme,P,ACME00001,G100,18,,
P2,acme,P,ACME00001,G100,19,Okafor,Chidi
P9,acme,P,ACME00001,G100,18,,
"""


@pytest.fixture(autouse=True)
def _isolated(cli_isolation: None) -> None:
    """Every test here runs the command line isolated (see conftest)."""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(path, "db", "upgrade")
    for name, text in (("p.csv", PATIENTS), ("c.csv", COVERAGES)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    ok(path, "patients", "import", str(tmp_path / "p.csv"))
    ok(path, "coverages", "import", str(tmp_path / "c.csv"))
    return path


def as_json(config: Path, *args: str) -> Any:
    return json.loads(ok(config, *args, "--json").stdout)


def test_show_lists_the_patient_guarantor_and_coverage_ids(config: Path) -> None:
    shown = as_json(config, "patients", "show", "P2")
    assert (shown["account_number"], shown["guarantor_relationship"]) == ("P2", "parent")
    assert shown["guarantor"]["first_name"] == "Chidi"
    assert [(c["payer_key"], c["relationship"], c["active_today"])
            for c in shown["coverages"]] == [("acme", "19", True)]
    listed = as_json(config, "coverages", "list", "--patient", "P2")
    assert [c["id"] for c in listed] == [c["id"] for c in shown["coverages"]]
    assert "Okafor, Ada" in " ".join(ok(config, "patients", "show", "P2").stdout.split())


def test_search_by_name_birth_date_and_account(config: Path) -> None:
    def accounts(*args: str) -> list[str]:
        return [p["account_number"] for p in as_json(config, "patients", "search", *args)]

    assert accounts("--name", "okaf") == ["P2", "P1", "P9"]
    assert accounts("--name", "Okafor, Chi") == ["P1", "P9"]
    assert accounts("--name", "Ada Okafor") == ["P2"]
    assert accounts("--dob", "1971-05-05") == ["P1", "P9"]
    assert accounts("--account", "p3") == ["P3"]
    line = one_line_error(cli(config, "patients", "search"))
    assert line == "error: patient search: criteria: give a name, a birth date or an account number"
    assert one_line_error(cli(config, "patients", "search", "--dob", "05/05/1971"), 2) == (
        "error: --dob must be a date as YYYY-MM-DD")


def test_edit_changes_only_the_given_fields(config: Path) -> None:
    result = as_json(config, "patients", "edit", "P1", "--address-line1", "12 Lake Shore Dr",
                     "--clear", "phone")
    assert result["changed"] == ["address", "phone"]
    shown = as_json(config, "patients", "show", "P1")
    assert (shown["address"]["line1"], shown["address"]["city"], shown["phone"]) == (
        "12 Lake Shore Dr", "Chicago", None)
    bad = one_line_error(cli(config, "patients", "edit", "P1", "--sex", "Q"))
    assert bad.startswith("error: patient 1: sex: ") and "Q" not in bad.split("sex:")[1][:3]
    assert one_line_error(cli(config, "patients", "edit", "P1", "--clear", "last_name"), 2) \
        .startswith("error: --clear: 'last_name' is not a field that can be cleared here")
    taken = one_line_error(cli(config, "patients", "edit", "P1", "--new-account", "P2"))
    assert taken == "error: patient 1: account_number: another patient has this account number"


def test_clearing_a_field_and_setting_it_in_one_edit_is_a_usage_error(config: Path) -> None:
    """``--clear F`` with ``--F value`` reported a change it did not make: now exit 2, naming
    both options, and nothing is changed."""
    before = as_json(config, "patients", "show", "P1")
    for args, message in (
            (("--clear", "phone", "--phone", "3125550177"), "--clear phone and --phone"),
            (("--address-city", "Evanston", "--clear", "address"),
             "--clear address and --address-city"),
            (("--clear", "address_line2", "--address-line2", "Apt 9"),
             "--clear address_line2 and --address-line2")):
        error = one_line_error(cli(config, "patients", "edit", "P1", *args), 2)
        assert error == f"error: {message} both given: clear the field or set it, not both"
    assert as_json(config, "patients", "show", "P1") == before
    cid = as_json(config, "coverages", "list", "--patient", "P1")[0]["id"]
    assert one_line_error(cli(config, "coverages", "edit", str(cid), "--start", "2020-01-01",
                              "--clear", "start_date"), 2) == (
        "error: --clear start_date and --start both given: clear the field or set it, not both")
    gid = as_json(config, "guarantors", "add", "--last-name", "Silva", "--first-name", "Rosa",
                  "--phone", "3125550100")["id"]
    assert one_line_error(cli(config, "guarantors", "edit", str(gid), "--phone", "3125550111",
                              "--clear", "phone"), 2).startswith("error: --clear phone and --phone")
    assert as_json(config, "guarantors", "show", str(gid))["phone"] == "3125550100"
    # clearing one field while setting another still works
    assert as_json(config, "patients", "edit", "P1", "--phone", "3125550177", "--clear",
                   "email")["changed"] == ["phone"]


def test_coverage_edit_and_terminate(config: Path) -> None:
    coverage_id = as_json(config, "coverages", "list", "--patient", "P3") or None
    assert coverage_id is None  # P3 has none
    cid = as_json(config, "coverages", "list", "--patient", "P1")[0]["id"]
    assert as_json(config, "coverages", "edit", str(cid), "--group-number", "G200",
                   "--plan-name", "Acme Gold")["changed"] == ["group_number", "plan_name"]
    ended = (date.today() - timedelta(days=1)).isoformat()
    terminated = as_json(config, "coverages", "terminate", str(cid), "--end", ended)
    assert (terminated["end_date"], terminated["active_today"]) == (ended, False)
    far = (date.today() - timedelta(days=2000)).isoformat()
    assert "days in the past" in one_line_error(
        cli(config, "coverages", "terminate", str(cid), "--end", far), 2)
    assert one_line_error(cli(config, "coverages", "edit", "999", "--plan-name", "X")) \
        .startswith("error: coverage")


def test_guarantors_add_assign_show_edit(config: Path) -> None:
    added = as_json(config, "guarantors", "add", "--last-name", "Silva", "--first-name",
                    "Rosa", "--address-line1", "5 Oak St", "--address-city", "Chicago",
                    "--address-state", "IL", "--address-postal-code", "60602",
                    "--patient", "P3", "--relationship", "parent")
    gid = added["id"]
    assert added["patients"] == [{"id": 3, "account_number": "P3", "relationship": "parent"}]
    edited = as_json(config, "guarantors", "edit", str(gid), "--address-line2", "Apt 4")
    assert edited["changed"] == ["address"]
    shown = as_json(config, "guarantors", "show", str(gid))
    assert (shown["address"]["line1"], shown["address"]["line2"]) == ("5 Oak St", "Apt 4")
    assert {g["id"] for g in as_json(config, "guarantors", "list")} >= {gid}
    # every dependent already has the subscriber as guarantor: nothing to do
    assert as_json(config, "guarantors", "from-subscribers") == {"assigned": []}
    back = as_json(config, "guarantors", "assign", "--patient", "P3", "--relationship", "self")
    assert back == {"patient": "P3", "guarantor_id": None, "relationship": "self"}
    assert one_line_error(cli(config, "guarantors", "assign", "--patient", "P3")) == (
        "error: patient 3: guarantor: a guarantor other than the patient must be named")


RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: the rest of the line would read backwards


def unprintable(text: str) -> list[str]:
    return sorted({char for char in text if not (char.isprintable() or char == "\n")})


def test_show_escapes_what_a_terminal_would_not_show_as_itself(config: Path) -> None:
    """A name may hold a format character (a bidi override, a zero-width space): every
    field of ``patients show`` and ``guarantors show`` prints it as its escape, as
    ``patients list`` does, never the character itself (it would reorder the line)."""
    ok(config, "patients", "edit", "P2", "--last-name", f"Oka{RLO}for",
       "--address-line1", "10 Lake\u200bShore Dr")
    added = as_json(config, "guarantors", "add", "--last-name", f"Sil{RLO}va", "--first-name",
                    "Rosa", "--address-line1", f"5 Oak{RLO} St", "--address-city", "Chicago",
                    "--address-state", "IL", "--address-postal-code", "60602",
                    "--patient", "P3", "--relationship", "parent")
    shown = ok(config, "patients", "show", "P2").stdout
    assert unprintable(shown) == []
    assert "Oka\\u202efor, Ada" in shown and "10 Lake\\u200bShore Dr" in shown
    listed = ok(config, "patients", "list").stdout
    assert unprintable(listed) == [] and "Oka\\u202efor, Ada" in listed
    guarantor = ok(config, "guarantors", "show", str(added["id"])).stdout
    assert unprintable(guarantor) == []
    assert "Rosa Sil\\u202eva" in guarantor and "5 Oak\\u202e St" in guarantor
    dependent = ok(config, "patients", "show", "P3").stdout
    assert unprintable(dependent) == [] and "Rosa Sil\\u202eva (guarantor" in dependent
    # --json keeps the name as it is (JSON escapes nothing printable; it is data)
    assert as_json(config, "patients", "show", "P2")["last_name"] == f"Oka{RLO}for"


def test_a_text_made_elsewhere_is_escaped_by_the_console_too() -> None:
    """The console's net: a rich Text is rendered without render_str, whatever made it."""
    from rich.table import Table
    from rich.text import Text

    from medbill_core.cli.common import _CliConsole, literal

    out = _CliConsole(record=True, width=80, soft_wrap=None, emoji=False)
    table = Table("field", "value", title=Text(f"title{RLO}"))
    table.add_row(Text("name"), Text(f"Sil{RLO}va", style="bold"))
    table.add_row("plain", literal(f"x{RLO}y"))
    out.print(table)
    out.print(Text(f"line{RLO}"))
    text = out.export_text()
    assert unprintable(text) == []
    for escaped in ("title\\u202e", "Sil\\u202eva", "x\\u202ey", "line\\u202e"):
        assert escaped in text


def test_merge_moves_everything_and_refuses_conflicts(config: Path, tmp_path: Path) -> None:
    medbill = Medbill.open(load_config(config), load_installed=False)
    try:
        with medbill.unit_of_work() as work:
            duplicate = work.patients.by_account("P9")
            coverage = work.patients.coverages(duplicate.id)[0]
            work.claims.create(factories.make_claim(duplicate.id, coverage_id=coverage.id,
                                                    number="DUP-1"))
    finally:
        medbill.close()
    merged = as_json(config, "patients", "merge", "P1", "P9")
    assert merged["moved"]["claims"] == 1 and merged["moved"]["ledger_entries"] >= 1
    assert merged["coverages_combined"] == [coverage.id]
    medbill = Medbill.open(load_config(config), load_installed=False)
    try:
        with medbill.unit_of_work() as work:
            claim = work.claims.by_number("DUP-1")
            kept = work.patients.by_account("P1")
            kept_coverages = work.patients.coverages(kept.id)
            balance = work.ledger.claim_balance(claim.id)
            kept_wrong = ledger_balances.mismatches(work.session)
            duplicate_accounts = ledger_balances.kept(
                work.session, LedgerBalanceRow.patient_id == duplicate.id)
    finally:
        medbill.close()
    # the moved entries' account sums moved with them
    assert kept_wrong == [] and duplicate_accounts == []
    assert (claim.patient_id, claim.coverage_id) == (kept.id, kept_coverages[0].id)
    assert len(kept_coverages) == 1 and balance.insurance == claim.total_charge
    assert kept.phone == "3125550101"  # the kept record's value wins
    assert [p["account_number"] for p in as_json(
        config, "patients", "search", "--name", "Okafor, Chidi")] == ["P1"]
    listed = {p["account_number"]: p for p in as_json(config, "patients", "list")}
    assert (listed["P9"]["merged_into_id"], listed["P9"]["coverages"]) == (1, [])
    (tmp_path / "p9.csv").write_text("account_number,phone\nP9,3125550123\n", encoding="utf-8")
    assert one_line_error(cli(config, "patients", "import", str(tmp_path / "p9.csv"))) == (
        "error: p9.csv row 2: account_number: was merged into account P1; import that account "
        "instead; import: nothing was imported")
    again = one_line_error(cli(config, "patients", "merge", "P1", "P9"))
    assert again == "error: patient 4 was already merged into patient 1"
    # two active coverages of the same payer and order with different member IDs
    (tmp_path / "c2.csv").write_text("account_number,payer_key,order,member_id\n"
                                     "P3,acme,P,OTHER0001\n", encoding="utf-8")
    ok(config, "coverages", "import", str(tmp_path / "c2.csv"))
    refused = one_line_error(cli(config, "patients", "merge", "P1", "P3"))
    assert "both have an active acme coverage in order P with different member IDs" in refused
    assert "Silva" not in refused and "OTHER0001" not in refused
    audit = json.loads(ok(config, "audit", "--json", "--entity", "patient").stdout)
    assert {"patient.merge", "patient.merged_into"} <= {e["action"] for e in audit}


def test_providers_add_for_a_known_npi_changes_only_the_options_given(config: Path) -> None:
    """``providers add`` with a registered NPI and fewer options blanked the others."""
    first = ok(config, "providers", "add", "--npi", "1234567893", "--last-name", "Carter",
               "--first-name", "Dana", "--taxonomy", "207Q00000X")
    assert first.stdout.startswith("provider 1234567893 registered (id ")
    again = ok(config, "providers", "add", "--npi", "1234567893", "--last-name", "Carter-Lee")
    assert again.stdout.startswith("provider 1234567893 updated (id ")  # not "registered"
    [provider] = as_json(config, "providers", "list")
    assert (provider["last_name"], provider["first_name"], provider["taxonomy"]) == (
        "Carter-Lee", "Dana", "207Q00000X")
    ok(config, "providers", "add", "--npi", "1234567893", "--last-name", "Carter-Lee",
       "--clear", "taxonomy")
    assert as_json(config, "providers", "list")[0]["taxonomy"] is None
    assert one_line_error(cli(config, "providers", "add", "--npi", "1234567893",
                              "--last-name", "X", "--first-name", "Y", "--clear",
                              "first_name"), 2).startswith(
        "error: --clear first_name and --first-name both given")
    audit = json.loads(ok(config, "audit", "--json", "--entity", "provider").stdout)
    assert [e["action"] for e in audit].count("provider.update") == 2


def test_a_self_guarantor_who_is_another_person_is_refused(config: Path) -> None:
    """A guarantor with relationship self whose name differs from the patient's was taken."""
    before = as_json(config, "guarantors", "list")  # P1 answers for P2 (from the coverages)
    error = one_line_error(cli(config, "guarantors", "add", "--last-name", "Silva",
                               "--first-name", "Rosa", "--patient", "P1",
                               "--relationship", "self"))
    assert error.startswith("error: patient 1: relationship: is self, but guarantor ")
    assert "Silva" not in error and "Okafor" not in error
    assert as_json(config, "guarantors", "list") == before  # nothing half-written
    gid = as_json(config, "guarantors", "add", "--last-name", "Silva", "--first-name",
                  "Rosa")["id"]
    assert one_line_error(cli(config, "guarantors", "assign", "--patient", "P1",
                              "--guarantor", str(gid), "--relationship", "self")) == (
        f"error: patient 1: relationship: is self, but guarantor {gid} is another person "
        "(name or birth date differ from the patient's): use parent, spouse or other")
    assert as_json(config, "patients", "show", "P1")["guarantor_id"] == before[0]["id"]
    own = as_json(config, "guarantors", "add", "--last-name", "Okafor", "--first-name",
                  "Chidi", "--birth-date", "1971-05-05", "--patient", "P1",
                  "--relationship", "self")
    assert own["patients"] == [{"id": 1, "account_number": "P1", "relationship": "self"}]


def test_merge_of_two_accounts_placed_with_agencies_is_refused(config: Path) -> None:
    """Both placements moved onto the kept record before: it had two active placements."""
    from decimal import Decimal

    from medbill_core.storage.schema import CollectionAgencyRow, CollectionPlacementRow

    medbill = Medbill.open(load_config(config), load_installed=False)
    try:
        with medbill.unit_of_work() as work:
            agency = CollectionAgencyRow(code="ACB", name="Acme Collections",
                                         fee_percent=Decimal("30"))
            work.session.add(agency)
            work.session.flush()
            for account, day in (("P1", 3), ("P9", 7)):
                work.session.add(CollectionPlacementRow(
                    patient_id=work.patients.by_account(account).id, agency_id=agency.id,
                    amount=Decimal("50.00"), placed_on=date(2026, 11, day), status="placed",
                    actor="tester"))
    finally:
        medbill.close()
    refused = one_line_error(cli(config, "patients", "merge", "P1", "P9"))
    assert refused == (
        "error: patients 1 and 4 both have an account placed with a collection agency "
        "(placement 1 with agency ACB since 2026-11-03, placement 2 with agency ACB since "
        "2026-11-07); recall one first (collections recall ID --reason ...)")
    assert as_json(config, "patients", "show", "P9")["merged_into_id"] is None


# -- PHI typed in the wrong place is not repeated in the error ------------------------------------

NAME = "Holloway, Blake"


@pytest.mark.parametrize("command", [
    ("patients", "show", NAME),
    ("claims", "list", "--patient", NAME),
    ("coverages", "list", "--patient", NAME),
    ("payments", "record", "--patient", NAME, "--amount", "5.00"),
    ("plans", "create", "--patient", NAME, "--total", "90", "--installments", "3",
     "--start", date.today().isoformat()),
    ("writeoffs", "request", "--patient", NAME, "--kind", "small_balance", "--reason", "x",
     "--amount", "5.00"),
    ("collections", "place", "--patient", NAME, "--agency", "acme-collect"),
])
def test_a_name_typed_for_an_account_number_is_not_echoed(config: Path,
                                                          command: tuple[str, ...]) -> None:
    line = one_line_error(cli(config, *command))
    assert "Holloway" not in line and "Blake" not in line
    if command[0] != "collections":  # (an agency this practice lacks may be said first)
        assert line == "error: no patient with that account number"


@pytest.mark.parametrize(("command", "option"), [
    (("patients", "search", "--dob", "1981-8-17"), "--dob"),
    (("patients", "edit", "P1", "--birth-date", "1978-4-12"), "--birth-date"),
    (("guarantors", "add", "--last-name", "Holloway", "--first-name", "Pat",
      "--birth-date", "1978-4-12"), "--birth-date"),
])
def test_a_mistyped_birth_date_is_not_echoed(config: Path, command: tuple[str, ...],
                                             option: str) -> None:
    assert one_line_error(cli(config, *command), 2) == (
        f"error: {option} must be a date as YYYY-MM-DD")


def test_a_birth_date_in_the_future_is_refused_without_repeating_it(config: Path) -> None:
    future = (date.today() + timedelta(days=10)).isoformat()
    for command in (("patients", "edit", "P1", "--birth-date", future),
                    ("patients", "search", "--dob", future)):
        line = one_line_error(cli(config, *command), 2)
        assert line == f"error: {command[-2]} is 10 days in the future; check it"
        assert future not in line
