"""The accounting export: a month of billing (charges, two 835s with contractual adjustments,
a transfer to the patient, PLB adjustments and a claim payment that matched no claim, patient
payments, a credit refunded, a write-off) booked as journal entries and written as IIF,
QuickBooks Online CSV and generic CSV, on both databases. Debits equal credits per entry and
per batch; the accounts' sums equal the ledger's movements to the cent; each deposit equals
its 835's BPR02 or the day's patient payments; a second export finds nothing new; a
re-export is the same file byte for byte."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from cli_support import cli, config_text, ok, one_line_error
from sqlalchemy import func, select

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    Payment,
    PaymentMethod,
    ProviderAdjustment,
    Remittance,
)
from medbill_core.domain.accounts import PaymentMethodKind
from medbill_core.domain.identity import Principal, PrincipalKind, Role
from medbill_core.errors import LedgerError, NotFound, PermissionDenied, ValidationFailed
from medbill_core.ledger import Bucket, EntryKind, LedgerLine
from medbill_core.services.accounting_chart import (
    COUNTER_ROLE,
    DEFAULTS,
    AccountRole,
    chart,
    set_account,
)
from medbill_core.services.accounting_export import (
    export_batch,
    list_batches,
    reexport_batch,
)
from medbill_core.services.accounting_formats import (
    IIF_ACCOUNTS_HEADER,
    IIF_HEADER,
    QBO_COLUMNS,
    ExportFormat,
)
from medbill_core.services.accounting_journal import JournalContext, Movement, journal
from medbill_core.services.payments import Overpayment, record_payment, refund_credit
from medbill_core.services.remittance import post_remittance
from medbill_core.storage.schema import AuditEventRow, LedgerEntryRow, PaymentRow
from medbill_core.testing import factories

D = Decimal
S = ClaimState
MONTH = (date(2026, 11, 1), date(2026, 11, 30))
TRN_A, TRN_B = date(2026, 11, 16), date(2026, 11, 20)


# -- a month of billing ------------------------------------------------------------------------

def paid(number: str, amount: str, pr: str = "0") -> ClaimPayment:
    co = D("143.50") - D(amount) - D(pr)
    adjustments = [Adjustment(group=AdjustmentGroup.CONTRACTUAL, reason_code="45", amount=co)]
    if D(pr):
        adjustments.append(Adjustment(group=AdjustmentGroup.PATIENT_RESPONSIBILITY,
                                      reason_code="2", amount=D(pr)))
    return ClaimPayment(claim_number=number, status=ClaimStatusCode.PRIMARY, charge=D("143.50"),
                        paid=D(amount), patient_responsibility=D(pr), adjustments=adjustments)


def remittance(trace: str, day: date, *payments: ClaimPayment,
               plbs: tuple[ProviderAdjustment, ...] = ()) -> Remittance:
    amount = sum((p.paid for p in payments), D("0")) - sum((a.amount for a in plbs), D("0"))
    return Remittance(trace_number=trace, payment_amount=amount,
                      payment_method=PaymentMethod.ACH, payment_date=day,
                      production_date=day, payer_name="Acme Health Plan", payer_id="ACME1",
                      payee_name="Lakeside Family Practice", claims=list(payments),
                      provider_adjustments=list(plbs))


def plb(amount: str, reason: str) -> ProviderAdjustment:
    return ProviderAdjustment(provider_id="1234567893", reason_code=reason,
                              fiscal_period_date=date(2026, 12, 31), amount=D(amount))


def a_month(app: Medbill) -> dict[str, int]:
    """November: four claims of 143.50; 835 TRN-A (two claims, one with 20.00 to the patient,
    PLBs 5.00 withheld and 2.15 interest, 30.00 for a claim nobody knows: BPR02 247.15) and
    TRN-B (90.00, 30.00 to the patient); the patient pays 20.00 on the 18th and 50.00 on the
    21st (20.00 of it kept as credit, refunded on the 23rd); 10.00 written off on the 25th."""
    ids: dict[str, int] = {}
    with app.unit_of_work() as work:
        work.patients.register_provider(factories.make_provider())
        patient = work.patients.register(factories.make_patient(1))
        coverage = work.patients.add_coverage(patient.id, factories.make_coverage())
        for number, day in (("C1", 2), ("C2", 3), ("C3", 5), ("C4", 9)):
            claim = work.claims.create(factories.make_claim(
                patient.id, coverage_id=coverage.id, number=number, lines=2,
                service_date=date(2026, 11, day)))
            for target in (S.VALIDATED, S.SUBMITTED, S.ACCEPTED):
                work.claims.transition(claim.id, target)
            ids[number] = claim.id
        ids["patient"] = patient.id
    unknown = ClaimPayment(claim_number="ZZZ9", status=ClaimStatusCode.PRIMARY,
                           charge=D("40.00"), paid=D("30.00"), adjustments=[Adjustment(
                               group=AdjustmentGroup.CONTRACTUAL, reason_code="45",
                               amount=D("10.00"))])
    with app.unit_of_work() as work:
        post_remittance(work, remittance("TRN-A", TRN_A, paid("C1", "100.00", pr="20.00"),
                                         paid("C2", "120.00"), unknown,
                                         plbs=(plb("5.00", "WO"), plb("-2.15", "L6"))))
    with app.unit_of_work() as work:
        record_payment(work, Payment(patient_id=ids["patient"], amount=D("20.00"),
                                     method=PaymentMethodKind.CHECK, reference="1001",
                                     received_on=date(2026, 11, 18)))
    with app.unit_of_work() as work:
        post_remittance(work, remittance("TRN-B", TRN_B, paid("C3", "90.00", pr="30.00")))
    with app.unit_of_work() as work:
        result = record_payment(work, Payment(
            patient_id=ids["patient"], amount=D("50.00"), method=PaymentMethodKind.CARD,
            reference="4242", received_on=date(2026, 11, 21)),
            overpayment=Overpayment.CREDIT)
        ids["credit_payment"] = result.payment_id
    with app.unit_of_work() as work:
        refund_credit(work, ids["credit_payment"], D("20.00"), "patient asked",
                      on=date(2026, 11, 23))
    with app.unit_of_work() as work:
        work.ledger.post(f"writeoff:claim:{ids['C4']}:1", "write_off", [LedgerLine(
            EntryKind.WRITE_OFF, D("10.00"), patient_id=ids["patient"], claim_id=ids["C4"],
            payer_key="acme", bucket=Bucket.INSURANCE)], effective_date=date(2026, 11, 25))
    return ids


@pytest.fixture
def month(medbill_app: Medbill) -> Medbill:
    a_month(medbill_app)
    return medbill_app


def ledger_sums(app: Medbill, first: date | None = None, last: date | None = None
                ) -> dict[str, Decimal]:
    """The ledger's own sums of the period, by what each account should show."""
    conditions = []
    if first:
        conditions.append(LedgerEntryRow.effective_date >= first)
    if last:
        conditions.append(LedgerEntryRow.effective_date <= last)
    with app.unit_of_work(read_only=True) as work:
        rows = work.session.execute(
            select(LedgerEntryRow.kind, func.sum(LedgerEntryRow.amount),
                   func.sum(LedgerEntryRow.insurance_delta),
                   func.sum(LedgerEntryRow.patient_delta))
            .where(*conditions).group_by(LedgerEntryRow.kind)).all()
    by_kind = {kind: (amount, insurance, patient) for kind, amount, insurance, patient in rows}
    zero = (D("0"), D("0"), D("0"))
    return {"insurance": sum((v[1] for v in by_kind.values()), D("0")),
            "patient": sum((v[2] for v in by_kind.values()), D("0")),
            "charges": by_kind.get("charge", zero)[0],
            "contractual": by_kind.get("contractual_adjustment", zero)[0],
            "write_offs": by_kind.get("write_off", zero)[0],
            "refunds": by_kind.get("refund", zero)[0],
            "payer_payments": by_kind.get("payer_payment", zero)[0],
            "patient_payments": by_kind.get("patient_payment", zero)[0]}


def parse_iif(text: str) -> list[list[list[str]]]:
    """The IIF's transactions (each a list of its TRNS/SPL rows' fields), its structure
    checked: the accounts block (every account a transaction names is in it), the three
    header rows, then TRNS, SPL..., ENDTRNS per transaction."""
    accounts = iif_accounts(text)
    text = text[text.index(IIF_HEADER):]
    lines = text[len(IIF_HEADER):].split("\r\n")
    assert lines[-1] == ""
    transactions: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    header = IIF_HEADER.split("\r\n")[0].split("\t")
    for line in lines[:-1]:
        fields = line.split("\t")
        if fields[0] == "TRNS":
            assert current is None
            current = [fields]
        elif fields[0] == "SPL":
            assert current is not None
            current.append(fields)
        else:
            assert fields == ["ENDTRNS"] and current is not None and len(current) >= 2
            transactions.append(current)
            current = None
            continue
        assert len(fields) == len(header)
        assert fields[2] == "GENERAL JOURNAL"
        assert fields[4] in accounts, fields[4]
    assert current is None
    return transactions


def iif_accounts(text: str) -> dict[str, str]:
    """The IIF's ``!ACCNT`` block, first in the file: account name -> ACCNTTYPE."""
    assert text.startswith(IIF_ACCOUNTS_HEADER)
    block = text[len(IIF_ACCOUNTS_HEADER):text.index(IIF_HEADER)].split("\r\n")
    assert block[-1] == ""
    accounts: dict[str, str] = {}
    for line in block[:-1]:
        record, name, account_type, description = line.split("\t")
        assert record == "ACCNT" and name not in accounts and description
        accounts[name] = account_type
    return accounts


def iif_totals(transactions: list[list[list[str]]]) -> dict[str, Decimal]:
    """Amount per account over the file; each transaction adds up to zero, and its rows share
    their date and number."""
    per_account: dict[str, Decimal] = {}
    for rows in transactions:
        assert sum(D(row[7]) for row in rows) == 0
        assert len({(row[3], row[8]) for row in rows}) == 1
        for row in rows:
            assert D(row[7]) == D(row[7]).quantize(D("0.01")) and D(row[7]) != 0
            per_account[row[4]] = per_account.get(row[4], D("0")) + D(row[7])
    return per_account


# -- the chart -------------------------------------------------------------------------------

def test_every_ledger_entry_kind_has_an_account_and_every_role_a_default() -> None:
    # a kind added to the ledger without a mapping would be exported nowhere: this fails first
    assert set(COUNTER_ROLE) == set(EntryKind)
    assert set(DEFAULTS) == set(AccountRole)


def test_a_ledger_kind_the_chart_does_not_know_stops_the_export() -> None:
    context = JournalContext(1, {role.value: DEFAULTS[role].name for role in AccountRole}, {},
                             frozenset())
    known = Movement(date(2026, 11, 2), "charge:claim:1", "charge", D("10.00"), D("0"), True)
    assert [line.amount for entry in journal([known], context) for line in entry.lines] == [
        D("10.00"), D("-10.00")]
    unknown = Movement(date(2026, 11, 2), "agency:1", "agency_transfer", D("0"), D("-5.00"),
                       True)
    with pytest.raises(LedgerError, match="agency_transfer"):
        list(journal([known, unknown], context))


# -- exporting a month ---------------------------------------------------------------------------

def test_a_month_exported_to_iif_ties_to_the_ledger_and_the_deposits(month: Medbill,
                                                                      tmp_path: Path) -> None:
    with month.unit_of_work() as work:
        result = export_batch(work, ExportFormat.IIF)
    assert result is not None
    summary, totals = result.summary, result.totals
    assert summary.number == 1 and summary.format == "iif"
    assert totals.debits == totals.credits == summary.debits > 0
    # every account's sum is the ledger's movement for the month, to the cent
    ledger = ledger_sums(month)
    roles = totals.by_role
    assert roles[AccountRole.AR_INSURANCE] == ledger["insurance"]
    assert roles[AccountRole.AR_PATIENT] + roles.get(AccountRole.PATIENT_CREDITS, D("0")) \
        == ledger["patient"]
    assert roles[AccountRole.REVENUE] == -ledger["charges"] == D("-574.00")
    assert roles[AccountRole.CONTRACTUAL_ALLOWANCES] == ledger["contractual"] == D("70.50")
    assert roles[AccountRole.WRITE_OFFS] == ledger["write_offs"] == D("10.00")
    assert roles[AccountRole.REFUNDS_PAYABLE] == -ledger["refunds"] == D("-20.00")
    # money received: the 835s' payments to the claims and the exception, less the PLBs,
    # and the patients' payments
    assert roles[AccountRole.INSURANCE_DEPOSITS] == ledger["payer_payments"] + D("30.00") \
        - D("2.85") == D("337.15")
    assert roles[AccountRole.PATIENT_DEPOSITS] == ledger["patient_payments"] == D("70.00")
    assert roles[AccountRole.UNAPPLIED_INSURANCE] == D("-30.00")
    assert roles[AccountRole.PROVIDER_ADJUSTMENTS] == D("2.85")
    # the A/R left: 574.00 charged - 310.00 paid by payers - 70.50 contractual - 10.00
    # written off - 50.00 paid by the patient on claims = 133.50 (C4's 133.50 at the payer)
    assert roles[AccountRole.AR_INSURANCE] + roles[AccountRole.AR_PATIENT] == D("133.50")
    # each deposit is its 835's BPR02, or the day's patient payments
    deposits = {(kind, reference, day): amount
                for _, kind, reference, day, amount in totals.deposits}
    with month.unit_of_work(read_only=True) as work:
        received = dict(work.session.execute(
            select(PaymentRow.received_on, func.sum(PaymentRow.amount))
            .group_by(PaymentRow.received_on)).all())
    assert deposits == {("deposit_835", "TRN-A", TRN_A): D("247.15"),
                        ("patient_deposit", "", date(2026, 11, 18)): received[
                            date(2026, 11, 18)],
                        ("deposit_835", "TRN-B", TRN_B): D("90.00"),
                        ("patient_deposit", "", date(2026, 11, 21)): received[
                            date(2026, 11, 21)]}
    # the file parsed back: its structure, and the same sums per account
    transactions = parse_iif(result.content.decode("utf-8"))
    assert len(transactions) == totals.journal_entries == summary.journal_entries
    # every account of the chart is declared with its QuickBooks type (Undeposited Funds,
    # shared by the two deposit roles, once), so an import never creates one as a bank
    assert iif_accounts(result.content.decode("utf-8")) == {
        "Undeposited Funds": "OCASSET", "Accounts Receivable - Insurance": "OCASSET",
        "Accounts Receivable - Patients": "OCASSET",
        "Accounts Receivable - Collection Agencies": "OCASSET",
        "Patient Credits": "OCLIAB", "Unapplied Insurance Payments": "OCLIAB",
        "Refunds Payable": "OCLIAB", "Patient Service Revenue": "INC",
        "Contractual Allowances": "INC", "Write-offs": "INC",
        "Payer Provider-Level Adjustments": "INC", "Collection Agency Fees": "EXP",
        "Patient Financing Fees": "EXP"}
    per_account = iif_totals(transactions)
    assert per_account["Patient Service Revenue"] == D("-574.00")
    assert per_account["Undeposited Funds"] == D("407.15")  # 337.15 + 70.00
    assert per_account["Accounts Receivable - Insurance"] == ledger["insurance"]
    trn_a = next(rows for rows in transactions if "TRN-A" in rows[0][9])
    assert [(row[0], row[3], row[4], row[7]) for row in trn_a] == [
        ("TRNS", "11/16/2026", "Undeposited Funds", "247.15"),
        ("SPL", "11/16/2026", "Accounts Receivable - Insurance", "-287.00"),
        ("SPL", "11/16/2026", "Accounts Receivable - Patients", "20.00"),
        ("SPL", "11/16/2026", "Unapplied Insurance Payments", "-30.00"),
        ("SPL", "11/16/2026", "Contractual Allowances", "47.00"),
        ("SPL", "11/16/2026", "Payer Provider-Level Adjustments", "2.85")]
    assert trn_a[0][9] == "835 ACH TRN-A Acme Health Plan"
    assert [rows[0][8] for rows in transactions] == [
        f"MB1-{n:04d}" for n in range(1, len(transactions) + 1)]
    # no patient is named: no account number, no name
    text = result.content.decode("utf-8")
    with month.unit_of_work(read_only=True) as work:
        patient = work.patients.get(1)
    assert patient.last_name not in text and patient.account_number not in text


def test_a_second_export_finds_nothing_and_a_reexport_is_the_same_file(month: Medbill) -> None:
    with month.unit_of_work() as work:
        first = export_batch(work, ExportFormat.IIF)
    assert first is not None
    with month.unit_of_work() as work:
        assert export_batch(work, ExportFormat.IIF) is None
        assert export_batch(work, ExportFormat.QBO) is None
    # the chart changed since: the batch is written with the chart it was exported with
    with month.unit_of_work() as work:
        set_account(work, AccountRole.REVENUE, "Fee Income")
    with month.unit_of_work() as work:
        again = reexport_batch(work, 1)
    assert again.content == first.content
    assert again.summary.sha256 == first.summary.sha256
    with month.unit_of_work(read_only=True) as work:
        [batch] = list_batches(work)
        actions = list(work.session.scalars(select(AuditEventRow.action).where(
            AuditEventRow.action.like("accounting.%")).order_by(AuditEventRow.id)))
    assert (batch.number, batch.postings, batch.journal_entries) == (
        1, first.summary.postings, first.totals.journal_entries)
    assert actions == ["accounting.export", "accounting.set_account", "accounting.reexport"]
    with month.unit_of_work() as work, pytest.raises(NotFound):
        reexport_batch(work, 2)
    # what is posted later is the next batch's, and only that
    with month.unit_of_work() as work:
        record_payment(work, Payment(patient_id=1, amount=D("5.00"),
                                     method=PaymentMethodKind.CASH,
                                     received_on=date(2026, 11, 28)),
                       overpayment=Overpayment.CREDIT)
    with month.unit_of_work() as work:
        second = export_batch(work, ExportFormat.CSV)
    assert second is not None and second.summary.number == 2
    assert second.totals.ledger_entries == 1
    assert second.totals.by_role == {AccountRole.PATIENT_DEPOSITS: D("5.00"),
                                     AccountRole.PATIENT_CREDITS: D("-5.00")}


def test_a_period_exports_only_its_days_and_the_rest_follows(month: Medbill) -> None:
    with month.unit_of_work() as work:
        early = export_batch(work, ExportFormat.CSV, date_to=date(2026, 11, 17))
        late = export_batch(work, ExportFormat.CSV, date_from=date(2026, 11, 18),
                            date_to=MONTH[1])
        assert export_batch(work, ExportFormat.CSV) is None
    assert early is not None and late is not None
    assert {entry[3] for entry in early.totals.deposits} == {TRN_A}
    assert max(entry[3] for entry in late.totals.deposits) == date(2026, 11, 21)
    for part, (first, last) in ((early, (None, date(2026, 11, 17))),
                                (late, (date(2026, 11, 18), None))):
        ledger = ledger_sums(month, first, last)
        assert part.totals.by_role[AccountRole.AR_INSURANCE] == ledger["insurance"]
        assert part.totals.debits == part.totals.credits
    # together they are the month
    whole = ledger_sums(month)
    assert early.totals.ledger_entries + late.totals.ledger_entries == whole_entries(month)
    assert early.totals.by_role[AccountRole.REVENUE] + late.totals.by_role.get(
        AccountRole.REVENUE, D("0")) == -whole["charges"]
    with month.unit_of_work() as work, pytest.raises(ValidationFailed):
        export_batch(work, ExportFormat.CSV, date_from=date(2026, 11, 20),
                     date_to=date(2026, 11, 19))


def whole_entries(app: Medbill) -> int:
    with app.unit_of_work(read_only=True) as work:
        return work.session.scalar(select(func.count()).select_from(LedgerEntryRow)) or 0


def test_quickbooks_online_csv_balances_per_journal_number(month: Medbill) -> None:
    with month.unit_of_work() as work:
        result = export_batch(work, ExportFormat.QBO)
    assert result is not None
    text = result.content.decode("utf-8")
    assert text.startswith(",".join(QBO_COLUMNS) + "\r\n")
    rows = list(csv.DictReader(io.StringIO(text)))
    per_entry: dict[str, Decimal] = {}
    for row in rows:
        debit, credit = D(row["Debits"] or "0"), D(row["Credits"] or "0")
        assert (debit > 0) != (credit > 0)  # one of the two, never both, never 0.00
        assert row["Journal Date"][2] == "/" and row["Name"] == ""
        per_entry[row["Journal No."]] = per_entry.get(row["Journal No."], D("0")) \
            + debit - credit
    assert per_entry and set(per_entry.values()) == {D("0")}
    assert sum(D(r["Debits"] or "0") for r in rows) == result.totals.debits
    assert {r["Journal No."] for r in rows if "TRN-B" in r["Description"]} == {"MB1-0007"}


def test_generic_csv_names_the_entry_type_and_reference(month: Medbill) -> None:
    with month.unit_of_work() as work:
        result = export_batch(work, ExportFormat.CSV)
    assert result is not None
    rows = list(csv.DictReader(io.StringIO(result.content.decode("utf-8"))))
    deposit = [r for r in rows if r["reference"] == "TRN-A"]
    assert {r["entry_type"] for r in deposit} == {"deposit_835"}
    assert {r["date"] for r in deposit} == {"2026-11-16"}
    assert next((r["account"], r["debit"], r["credit"]) for r in deposit) == (
        "Undeposited Funds", "247.15", "")
    assert sum(D(r["debit"] or "0") for r in rows) == sum(D(r["credit"] or "0") for r in rows)
    assert {r["batch"] for r in rows} == {"1"}


def test_the_chart_of_accounts_is_the_practices_and_checked(month: Medbill) -> None:
    with month.unit_of_work() as work:
        set_account(work, AccountRole.AR_PATIENT, "Receivables:Patients")
        set_account(work, AccountRole.PATIENT_DEPOSITS, "Checking")
        for bad in ("", "=HYPERLINK(1)", "a\tb", 'say "hi"', "x" * 160):
            with pytest.raises(ValidationFailed):
                set_account(work, AccountRole.REVENUE, bad)
    with month.unit_of_work() as work:
        lines = {line.role: (line.name, line.custom) for line in chart(work)}
        result = export_batch(work, ExportFormat.IIF)
    assert lines[AccountRole.AR_PATIENT] == ("Receivables:Patients", True)
    assert lines[AccountRole.REVENUE] == ("Patient Service Revenue", False)
    assert result is not None
    per_account = iif_totals(parse_iif(result.content.decode("utf-8")))
    assert per_account["Checking"] == D("70.00")
    assert per_account["Undeposited Funds"] == D("337.15")
    with month.unit_of_work() as work:
        set_account(work, AccountRole.AR_PATIENT, None)
        assert {line.role: line.custom for line in chart(work)}[AccountRole.AR_PATIENT] is False


def test_only_the_manager_exports(month: Medbill) -> None:
    def principal(role: Role) -> Principal:
        return Principal(kind=PrincipalKind.USER, id=7, name="someone", practice_id=1,
                         role=role)

    for role in (Role.BILLER, Role.FRONT_DESK, Role.AUDITOR):
        with month.unit_of_work(principal=principal(role)) as work, \
                pytest.raises(PermissionDenied):
            export_batch(work, ExportFormat.IIF)
    with month.unit_of_work(principal=principal(Role.AUDITOR)) as work:
        assert list_batches(work) == []
    with month.unit_of_work(principal=principal(Role.BILLING_MANAGER)) as work:
        assert export_batch(work, ExportFormat.IIF) is not None


# -- the command line ---------------------------------------------------------------------------

@pytest.fixture
def books_config(cli_isolation: None, tmp_path: Path) -> Path:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(path, "db", "upgrade")
    app = Medbill.open(load_config(path), load_installed=False)
    try:
        a_month(app)
    finally:
        app.close()
    return path


def test_cli_export_batches_reexport(books_config: Path, tmp_path: Path) -> None:
    out = tmp_path / "november.iif"
    done = ok(books_config, "accounting", "export", "--format", "iif", "--out", str(out),
              "--from", "2026-11-01", "--to", "2026-11-30")
    assert "batch 1:" in done.stdout and "debits 1134.50 = credits 1134.50" in done.stdout
    assert out.stat().st_mode & 0o077 == 0  # owner-only
    parse_iif(out.read_bytes().decode("utf-8"))
    again = ok(books_config, "accounting", "export", "--format", "iif", "--out",
               str(tmp_path / "again.iif"))
    assert "nothing to export" in again.stdout and not (tmp_path / "again.iif").exists()
    copy = tmp_path / "copy.iif"
    ok(books_config, "accounting", "reexport", "1", "--out", str(copy))
    assert copy.read_bytes() == out.read_bytes()
    [batch] = json.loads(ok(books_config, "accounting", "batches", "--json").stdout)
    assert (batch["number"], batch["format"], batch["from"], batch["to"], batch["debits"],
            batch["created_by"][:5]) == (1, "iif", "2026-11-01", "2026-11-30", "1134.50",
                                         "user:")
    assert "1134.50" in ok(books_config, "accounting", "batches").stdout


def test_cli_chart_of_accounts(books_config: Path) -> None:
    ok(books_config, "accounting", "set-account", "revenue", "Fee Income")
    accounts = json.loads(ok(books_config, "accounting", "accounts", "--json").stdout)
    assert {a["role"]: a["account"] for a in accounts}["revenue"] == "Fee Income"
    assert "Fee Income" in ok(books_config, "accounting", "accounts").stdout
    ok(books_config, "accounting", "set-account", "revenue", "--default")
    accounts = json.loads(ok(books_config, "accounting", "accounts", "--json").stdout)
    assert {a["role"]: a["custom"] for a in accounts}["revenue"] is False


def test_cli_errors_are_one_line(books_config: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "x.iif")
    assert "from: is after" in one_line_error(cli(books_config, "accounting", "export", "--format",
                                          "iif", "--out", out, "--from", "2026-11-30",
                                          "--to", "2026-11-01"))
    assert "does not exist" in one_line_error(cli(
        books_config, "accounting", "export", "--format", "csv", "--out",
        str(tmp_path / "missing" / "x.csv")))
    assert "accounting batch 9" in one_line_error(cli(books_config, "accounting", "reexport",
                                                      "9", "--out", out))
    assert "role" in one_line_error(cli(books_config, "accounting", "set-account", "bank",
                                        "Checking"))
    assert "=" in one_line_error(cli(books_config, "accounting", "set-account", "revenue",
                                     "=1+1"))
    assert not Path(out).exists()
