"""The 837 intake end to end (issue 17): 837P batches written by our own encoder (as a client's
EHR would send them) become draft claims through the core service, the command line and the
API; matching, ambiguity held on the work queue, re-import, refusals. On SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from medbill_payer_generic_x12.api import (
    MemoryControlNumbers,
    encode_837i,
    encode_837p,
    plugin,
)
from sqlalchemy import func, select

from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.domain import BillableClaim, Relationship, ServiceLine
from medbill_core.domain.identity import Role
from medbill_core.errors import DecodeError, PermissionDenied, ValidationFailed
from medbill_core.http import create_app
from medbill_core.services import identity
from medbill_core.services.claim_intake import Outcome, get_import, import_claim_file
from medbill_core.services.work_queue_sources import Queue
from medbill_core.services.work_queues import read_queue
from medbill_core.storage.schema import (
    AuditEventRow,
    ClaimImportRow,
    ClaimRow,
    CoverageRow,
    PatientRow,
    ProviderRow,
)
from medbill_core.testing.cli import cli, config_text, one_line_error
from medbill_core.testing.factories import (
    ATTENDING_NPI,
    PRACTICE_NPI,
    REFERRING_NPI,
    make_claim,
    make_coverage,
    make_institutional_claim,
    make_line,
    make_patient,
    make_payer,
    make_practice,
    make_provider,
    recent_service_date,
)

ACME = make_payer("acme")
BLUECROSS = make_payer("bluecross", payer_id="BCBS1", name="Blue Cross",
                       claim_filing_indicator="BL")
UNKNOWN = make_payer("nobody", payer_id="NOPE9", name="Unknown Plan")


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    return [("payer_generic_x12", plugin)]


@pytest.fixture
def medbill_config(medbill_config: MedbillConfig) -> MedbillConfig:
    """The test configuration, its payers with the options the X12 adapter requires."""
    options = {"submitter_id": "SUB1", "receiver_id": "RCV1"}
    payers = {key: payer.model_copy(update={"options": options})
              for key, payer in medbill_config.payers.items()}
    return medbill_config.model_copy(update={"payers": payers})


def _bill(number: int, *, payer: Any = ACME, claim_number: str | None = None,
          lines: list[ServiceLine] | None = None, **patient: Any) -> BillableClaim:
    """One claim as a client's EHR writes it: its own patient, coverage and providers."""
    person = make_patient(number, id=number, **patient)
    coverage = make_coverage(patient_id=number, id=number, payer_key=payer.key,
                             member_id=f"MEM{number:05d}")
    claim = make_claim(number, number=claim_number or f"EHR-{number:04d}", lines=2,
                       payer_key=payer.key, referring_provider_npi=REFERRING_NPI)
    if lines is not None:
        claim = claim.model_copy(update={"lines": lines})
    return BillableClaim(claim=claim, practice=make_practice(), patient=person,
                         coverage=coverage, payer=payer, rendering_provider=make_provider(),
                         referring_provider=make_provider(REFERRING_NPI, last_name="Reyes",
                                                          first_name="Sam"))


def _file(bills: list[BillableClaim], control: int = 101) -> str:
    return encode_837p(bills, control_numbers=MemoryControlNumbers(start=control),
                       now=datetime(2026, 12, 1, 9, 30)).text


def _count(app: Medbill, row: Any) -> int:
    with app.unit_of_work(read_only=True) as work:
        return int(work.session.scalar(select(func.count()).select_from(row)) or 0)


def test_a_batch_becomes_draft_claims_with_patients_coverages_and_providers(
        medbill_app: Medbill) -> None:
    text = _file([_bill(1), _bill(2), _bill(3, payer=BLUECROSS)])
    with medbill_app.unit_of_work() as work:
        report = import_claim_file(work, text, file_name="/inbox/clinic-a/batch1.837")
    assert report.file_name == "batch1.837"
    assert [c.outcome for c in report.claims] == [Outcome.IMPORTED] * 3
    assert [c.claim_number for c in report.claims] == ["EHR-0001", "EHR-0002", "EHR-0003"]
    assert report.interchange_control_number == "000000101"
    assert report.sender == "ZZ:MEDBILL"
    assert report.import_id is not None
    with medbill_app.unit_of_work(read_only=True) as work:
        claims = [work.claims.get(c.claim_id) for c in report.claims if c.claim_id]
        assert [c.state.value for c in claims] == ["draft"] * 3
        assert [c.payer_key for c in claims] == ["acme", "acme", "bluecross"]
        assert [c.total_charge for c in claims] == [
            sum((line.charge for line in make_claim(lines=2).lines), Decimal(0))] * 3
        assert claims[0].referring_provider_npi == REFERRING_NPI
        accounts = sorted(work.session.scalars(select(PatientRow.account_number)))
        assert accounts == ["A00001", "A00002", "A00003"]
        members = sorted(work.session.scalars(select(CoverageRow.member_id)))
        assert members == ["MEM00001", "MEM00002", "MEM00003"]
        assert sorted(work.session.scalars(select(ProviderRow.npi))) == sorted(
            [REFERRING_NPI, make_provider().npi])
        coverage = work.patients.coverage(claims[2].coverage_id or 0)
        assert (coverage.payer_key, coverage.relationship) == ("bluecross", Relationship.SELF)
        events = list(work.session.execute(select(AuditEventRow.actor, AuditEventRow.action)
                                           .where(AuditEventRow.entity_type == "claim_import")))
    assert events == [("tester", "claim_import.run")]
    assert "patient A00001 (id 1) created" in report.claims[0].notes
    assert any(note.startswith("coverage") and "created" in note
               for note in report.claims[0].notes)


def test_an_837i_breaking_business_rules_comes_in_as_a_draft_with_its_findings(
        medbill_app: Medbill) -> None:
    """The 837I decoder keeps an ICD-9 qualifier as sent with a positioned finding (as the
    837P's does): the claim is imported as a draft for the scrubber to hold, not refused."""
    person = make_patient(21, id=21)
    coverage = make_coverage(patient_id=21, id=21, payer_key=ACME.key, member_id="MEM00021")
    claim = make_institutional_claim(21, number="EHR-I021", payer_key=ACME.key)
    bill = BillableClaim(claim=claim, practice=make_practice(), patient=person,
                         coverage=coverage, payer=ACME,
                         attending_provider=make_provider(ATTENDING_NPI, last_name="Welby",
                                                          first_name="Marcus"))
    text = encode_837i([bill], control_numbers=MemoryControlNumbers(start=303),
                       now=datetime(2026, 12, 1, 9, 30)).text
    assert "HI*ABK:J189~" in text
    text = text.replace("HI*ABK:J189~", "HI*BK:J189~")  # same segment count
    principal = next(number for number, segment in enumerate(text.split("~"), start=1)
                     if segment.startswith("HI*BK:"))
    with medbill_app.unit_of_work() as work:
        report = import_claim_file(work, text, file_name="ub04.837")
    [outcome] = report.claims
    assert outcome.outcome is Outcome.IMPORTED and outcome.claim_id is not None
    assert outcome.findings[0] == (
        f"error: segment {principal} (HI), element HI01-1: ICD-10-CM qualifier ABK (BK is "
        "ICD-9-CM, not accepted for services since 2015-10-01)")
    with medbill_app.unit_of_work(read_only=True) as work:
        stored = work.claims.get(outcome.claim_id)
    assert stored.state.value == "draft" and stored.kind.value == "institutional"
    assert stored.diagnoses == ["J189", "R0602"]


def test_the_same_file_again_skips_what_it_imported_and_retries_what_it_refused(
        medbill_app: Medbill) -> None:
    text = _file([_bill(1), _bill(3), _bill(2, payer=UNKNOWN)])
    with medbill_app.unit_of_work() as work:
        first = import_claim_file(work, text, file_name="b.837")
    assert [c.outcome for c in first.claims] == [Outcome.IMPORTED, Outcome.IMPORTED,
                                                 Outcome.REFUSED]
    refused = first.claims[2]
    assert refused.field == "2010BB NM109 payer"
    assert refused.reason == ("payer ID NOPE9 is not a configured payer (add it under "
                              "[payers] in medbill.toml)")
    assert _count(medbill_app, ClaimRow) == 2
    with medbill_app.unit_of_work() as work:
        again = import_claim_file(work, text, file_name="b.837")
    assert [c.outcome for c in again.claims] == [Outcome.SKIPPED, Outcome.SKIPPED,
                                                 Outcome.REFUSED]
    assert [c.claim_id for c in again.claims] == [first.claims[0].claim_id,
                                                  first.claims[1].claim_id, None]
    assert _count(medbill_app, ClaimRow) == 2
    assert _count(medbill_app, PatientRow) == 2
    assert _count(medbill_app, ClaimImportRow) == 2
    with medbill_app.unit_of_work(read_only=True) as work:
        recorded = get_import(work, again.import_id or 0)
    assert recorded.as_json()["counts"] == {"imported": 0, "skipped": 2, "refused": 1,
                                            "held": 0}


def test_the_same_control_number_with_other_content_is_refused_whole(
        medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        import_claim_file(work, _file([_bill(1)], control=555), file_name="monday.837")
    with pytest.raises(ValidationFailed) as refused, medbill_app.unit_of_work() as work:
        import_claim_file(work, _file([_bill(2)], control=555), file_name="tuesday.837")
    message = refused.value.message
    assert message.startswith("tuesday.837: ISA13: interchange control number 000000555 from "
                              "sender ZZ:MEDBILL was imported on ")
    assert "(import 1, monday.837) with other content; nothing was imported" in message
    assert "\n" not in message
    assert _count(medbill_app, ClaimRow) == 1


def test_an_ambiguous_patient_is_held_on_the_intake_queue_never_guessed(
        medbill_app: Medbill) -> None:
    twin = make_patient(7, account_number="TWIN-1")
    with medbill_app.unit_of_work() as work:
        first = work.patients.register(twin)
        second = work.patients.register(twin.model_copy(update={"account_number": "TWIN-2"}))
    # the file numbers the patient with the claim number only (no REF*EA): the name, birth
    # date and sex match two records
    bill = _bill(7, claim_number="EHR-0007", account_number="EHR-0007")
    with medbill_app.unit_of_work() as work:
        report = import_claim_file(work, _file([bill, _bill(8)]), file_name="twins.837")
    held, other = report.claims
    assert held.outcome is Outcome.HELD
    assert held.field == "patient"
    assert held.reason == "2 patients have this name, birth date and sex"
    assert held.candidates == [first.id, second.id]
    assert other.outcome is Outcome.IMPORTED
    assert _count(medbill_app, ClaimRow) == 1
    principal = medbill_app.local_principal()
    items = read_queue(medbill_app, principal, Queue.INTAKE)
    assert len(items) == 1
    item = items[0]
    assert item.label == "EHR-0007"
    assert item.reason == (f"twins.837 (import {report.import_id}), claim EHR-0007 at segment "
                           f"{held.position}; patient: 2 patients have this name, birth date "
                           f"and sex; candidate records: {first.id}, {second.id}")
    assert item.amount == held.charge == Decimal("143.50")
    assert item.action.value == "resolve_match"
    # the biller finds TWIN-2 was someone else with a mistyped birth date, corrects it and
    # imports the file again: the claim comes in, the item closes
    with medbill_app.unit_of_work() as work:
        work.patients.edit(second.id or 0, {"birth_date": "1990-02-02"})
        again = import_claim_file(work, _file([bill, _bill(8)]), file_name="twins.837")
    assert [c.outcome for c in again.claims] == [Outcome.IMPORTED, Outcome.SKIPPED]
    assert "patient TWIN-1 (id 1) matched" in again.claims[0].notes
    assert read_queue(medbill_app, principal, Queue.INTAKE) == []


def test_a_member_id_on_file_for_someone_with_another_birth_date_is_held(
        medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        on_file = work.patients.register(make_patient(1, birth_date=date(1950, 3, 3)))
        work.patients.add_coverage(on_file.id or 0, make_coverage(
            payer_key="acme", member_id="MEM00001"))
    with medbill_app.unit_of_work() as work:
        report = import_claim_file(work, _file([_bill(1)]), file_name="m.837")
    [held] = report.claims
    # the file's REF*EA account A00001 is the record on file, whose birth date differs
    assert held.outcome is Outcome.HELD
    assert held.field == "patient (2300 REF*EA account number)"
    assert held.candidates == [on_file.id]
    # without the account number, the member ID is what clashes
    bill = _bill(1, claim_number="EHR-0001", account_number="EHR-0001")
    with medbill_app.unit_of_work() as work:
        report = import_claim_file(work, _file([bill], control=202), file_name="m2.837")
    [held] = report.claims
    assert (held.outcome, held.field) == (Outcome.HELD, "patient (2010BA NM109 member ID)")
    assert held.candidates == [on_file.id]
    assert _count(medbill_app, ClaimRow) == 0
    assert _count(medbill_app, PatientRow) == 1


def test_a_visit_for_a_merged_account_goes_to_the_kept_record(medbill_app: Medbill) -> None:
    from medbill_core.services.patient_merge import merge_patients

    with medbill_app.unit_of_work() as work:
        kept = work.patients.register(make_patient(1, account_number="KEEP1"))
        duplicate = work.patients.register(make_patient(1))  # A00001: the EHR's number
    with medbill_app.unit_of_work() as work:
        merge_patients(work, kept.id or 0, duplicate.id or 0)
    with medbill_app.unit_of_work() as work:
        report = import_claim_file(work, _file([_bill(1)]), file_name="merged.837")
    [claim] = report.claims
    assert claim.outcome is Outcome.IMPORTED
    assert f"patient KEEP1 (id {kept.id}) matched" in claim.notes
    with medbill_app.unit_of_work(read_only=True) as work:
        assert work.claims.get(claim.claim_id or 0).patient_id == kept.id
        # and the merged record is never written again, over the API or an import
        with pytest.raises(ValidationFailed, match="was merged into account KEEP1"):
            work.patients.save(make_patient(1))


def test_a_bad_claim_is_refused_with_its_position_and_the_others_are_kept(
        medbill_app: Medbill) -> None:
    good = _bill(1)
    text = _file([good, _bill(2), _bill(3)])
    # the second claim's first line loses its diagnosis pointer (SV107): only it is refused
    second_clm = text.index("CLM*EHR-0002")
    sv1 = text.index("SV1*", second_clm)
    end = text.index("~", sv1)
    segment = text[sv1:end]
    broken = text[:sv1] + segment[:segment.rindex("*")] + "*" + text[end:]
    with medbill_app.unit_of_work() as work:
        report = import_claim_file(work, broken, file_name="x.837")
    assert [c.outcome for c in report.claims] == [Outcome.IMPORTED, Outcome.REFUSED,
                                                 Outcome.IMPORTED]
    position = broken[:sv1].count("~") + 1
    assert report.claims[1].reason == (f"segment {position} (SV1), element SV107: SV107 "
                                       "diagnosis pointers (required)")
    assert report.claims[1].field == "837"


def test_a_dry_run_reports_and_keeps_nothing(medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        report = import_claim_file(work, _file([_bill(1), _bill(2)]), file_name="d.837",
                                   dry_run=True)
    assert [c.outcome for c in report.claims] == [Outcome.IMPORTED] * 2
    assert report.import_id is None and [c.claim_id for c in report.claims] == [None, None]
    assert report.summary().startswith("d.837: 2 claims: would import 2, ")
    assert report.claims[0].notes == [  # no ids: the records a dry run made are gone
        "patient A00001 created", "coverage created (payer acme, P)",
        f"rendering provider {make_provider().npi} registered",
        f"referring provider {REFERRING_NPI} registered"]
    for table in (ClaimRow, PatientRow, CoverageRow, ProviderRow, ClaimImportRow):
        assert _count(medbill_app, table) == 0


def test_what_is_not_an_837_is_refused_in_one_positioned_line(medbill_app: Medbill) -> None:
    text = _file([_bill(1)])
    not_837 = text.replace("ST*837*", "ST*270*").replace("*005010X222A1~", "*005010X279A1~")
    with pytest.raises(DecodeError) as refused, medbill_app.unit_of_work() as work:
        import_claim_file(work, not_837, file_name="e.837")
    assert str(refused.value) == "segment 3 (ST), element ST01: an 837 claim transaction, not 270"
    with pytest.raises(DecodeError) as truncated, medbill_app.unit_of_work() as work:
        import_claim_file(work, text[:len(text) // 2], file_name="t.837")
    assert "truncated" in str(truncated.value) or "segment" in str(truncated.value)
    assert _count(medbill_app, ClaimRow) == 0


def test_a_front_desk_key_may_not_import(medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        administrator = identity.local_principal(work, medbill_app.config)
    front_desk = administrator.model_copy(update={"role": Role.FRONT_DESK})
    with pytest.raises(PermissionDenied), medbill_app.unit_of_work(principal=front_desk) as work:
        import_claim_file(work, _file([_bill(1)]), file_name="f.837")


# -- the command line and the API --------------------------------------------------------------

@pytest.fixture
def configured(tmp_path: Path, medbill_db_url: str) -> Path:
    """A medbill.toml with the X12 plugin, on a migrated database."""
    config = tmp_path / "medbill.toml"
    config.write_text(config_text(
        medbill_db_url, plugins=["payer_generic_x12"],
        extra='\n[payers.acme.options]\nsubmitter_id = "S1"\nreceiver_id = "R1"\n'),
        encoding="utf-8")
    assert cli(config, "db", "upgrade").exit_code == 0
    return config


def test_cli_imports_an_837_and_says_what_it_did(configured: Path) -> None:
    batch = configured.parent / "batch.837"
    batch.write_text(_file([_bill(1), _bill(2, payer=UNKNOWN)]), encoding="utf-8")
    dry = cli(configured, "claims", "import", str(batch), "--dry-run")
    assert dry.exit_code == 1
    assert "claim EHR-0001 (segment 22): would be imported" in dry.stdout
    result = cli(configured, "claims", "import", str(batch), "--json")
    assert result.exit_code == 1  # a claim was refused
    data = json.loads(result.stdout)
    assert data["counts"] == {"imported": 1, "skipped": 0, "refused": 1, "held": 0}
    assert [c["outcome"] for c in data["claims"]] == ["imported", "refused"]
    again = cli(configured, "claims", "import", str(batch))
    claim_id = data["claims"][0]["claim_id"]
    assert isinstance(claim_id, int)
    assert (f"claim EHR-0001 (segment 22): skipped, already imported as claim id {claim_id}"
            in again.stdout)
    assert "Traceback" not in again.stdout + again.stderr
    runs = json.loads(cli(configured, "claims", "imports", "--json").stdout)
    assert [(run["file"], run["counts"]["imported"], run["counts"]["skipped"])
            for run in runs] == [("batch.837", 0, 1), ("batch.837", 1, 0)]
    shown = cli(configured, "claims", "imports", str(runs[-1]["import_id"]))
    assert shown.exit_code == 0
    assert shown.stdout.splitlines()[0] == (
        f"claim EHR-0001 (segment 22): imported as claim id {claim_id}")
    assert shown.stdout.splitlines()[-1].startswith("batch.837: 2 claims: imported 1, ")


def test_cli_refuses_a_270_given_as_an_837_in_one_line(configured: Path) -> None:
    request = configured.parent / "request.837"
    request.write_text(_file([_bill(1)]).replace("ST*837*", "ST*270*"), encoding="utf-8")
    result = cli(configured, "claims", "import", str(request))
    assert one_line_error(result) == ("error: segment 3 (ST), element ST01: an 837 claim "
                                      "transaction, not 270")
    # what is neither X12 nor JSON is the JSON import's to refuse, in one line
    scanned = configured.parent / "scan.837"
    scanned.write_text("%PDF-1.4 a scanned claim form\n", encoding="utf-8")
    assert one_line_error(cli(configured, "claims", "import", str(scanned))) == (
        "error: scan.837: not valid JSON (line 1, column 1)")


def test_api_imports_an_837_and_reads_the_run_back(medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        administrator = identity.local_principal(work, medbill_app.config)
        token = identity.create_key(work, administrator, "ehr", Role.BILLER).token
    text = _file([_bill(1), _bill(2)])
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/edi-x12"}
    with TestClient(create_app(medbill_app)) as client:
        dry = client.post("/v1/claim-imports?dry_run=true&file_name=a.837", content=text,
                          headers=headers)
        assert dry.status_code == 200, dry.text
        assert dry.json()["counts"]["imported"] == 2 and dry.json()["import_id"] is None
        made = client.post("/v1/claim-imports?file_name=a.837", content=text,
                           headers={**headers, "Idempotency-Key": "k-1"})
        assert made.status_code == 201, made.text
        body = made.json()
        assert made.headers["Location"] == f"/v1/claim-imports/{body['import_id']}"
        assert [c["outcome"] for c in body["claims"]] == ["imported", "imported"]
        read = client.get(made.headers["Location"], headers=headers)
        assert read.status_code == 200
        assert read.json()["claims"][0]["claim_id"] == body["claims"][0]["claim_id"]
        wrong = client.post("/v1/claim-imports", content=text.replace("ST*837*", "ST*276*"),
                            headers=headers)
        assert wrong.status_code == 422
        assert "ST01: an 837 claim transaction, not 276" in wrong.json()["detail"]


def test_line_charges_stay_exact(medbill_app: Medbill) -> None:
    day = recent_service_date()
    lines = [make_line(1, service_date=day, charge=Decimal("99.99")),
             make_line(2, service_date=day, procedure_code="36415", charge=Decimal("0.01"))]
    with medbill_app.unit_of_work() as work:
        report = import_claim_file(work, _file([_bill(1, lines=lines)]), file_name="c.837")
        claim = work.claims.get(report.claims[0].claim_id or 0)
    assert [line.charge for line in claim.lines] == [Decimal("99.99"), Decimal("0.01")]
    assert claim.total_charge == Decimal("100.00")
    assert claim.billing_provider_npi == PRACTICE_NPI
