"""Run the whole revenue cycle on synthetic data; leave every produced file under one folder.

Steps: load a practice, 25 patients with coverages (Medicare with Medigap secondaries and
two commercial payers) and encounters; check eligibility (270/271); scrub; submit 837Ps
through the outbox to the clearinghouse simulator on loopback; read the 999s and 277CAs;
fix a rejected claim and resubmit it as an original; let the payers pay; post the 835s
(patient shares go to secondary payers first, whose claims are then sent); correct a paid
claim with a replacement (frequency 7), whose 835 reverses the original payment;
render patient statements; take a few patient payments; audit the coding (report and a
review sample); print a summary and write ``summary.json``.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from medbill_core.app import Medbill, UnitOfWork
from medbill_core.cli.coding_audit_cmd import print_report, print_sample
from medbill_core.cli.common import data_table, print_table, progress
from medbill_core.config import MedbillConfig, config_toml
from medbill_core.domain import (
    ClaimState,
    Coverage,
    EligibilityRequest,
    Payer,
    Payment,
    PaymentMethodKind,
)
from medbill_core.domain.base import saved_id
from medbill_core.errors import MedbillError
from medbill_core.ledger import EntryKind
from medbill_core.privatefiles import private_dir, write_private
from medbill_core.services.coding_audit import (
    AuditFilters,
    CodingReport,
    Sample,
    coding_report,
    create_sample,
)
from medbill_core.services.eligibility import check_eligibility_many, primary_coverage
from medbill_core.services.patients import NewCoverage
from medbill_core.services.payments import record_guarantor_payment, record_payment
from medbill_core.services.responses import fetch_and_apply
from medbill_core.services.scrubbing import scrub_claims
from medbill_core.services.statements import collections_worklist, run_statements
from medbill_core.services.submission import SendOutcome, submit
from medbill_core.storage.mapping import coverage_from_row, patient_from_row
from medbill_core.storage.schema import (
    AuditEventRow,
    ClaimRow,
    CoverageRow,
    InboundDocumentRow,
    PatientRow,
    SubmissionRow,
)
from medbill_core.storage.tenancy import scoped
from medbill_demo.assistance import grant_assistance
from medbill_demo.books import export_books
from medbill_demo.credits import refund_a_credit
from medbill_demo.data import (
    PAYERS,
    PRACTICE,
    PROVIDERS,
    DemoPatient,
    encounter_claim,
    iter_demo_patients,
    practice_size,
)
from medbill_demo.hospital import load_hospital_case
from medbill_demo.paper import PAPER_PAYER, paper_payers, print_paper_claims
from medbill_demo.pay_online import (
    MESSAGES_FILE,
    SAVED_GATEWAY_URL,
    SERVE_URL,
    DemoCardSite,
    card_settings,
    pay_online,
)
from medbill_demo.pay_online import PLUGINS as CARD_PLUGINS

CHANNEL = "clearinghouse_mock"
REJECTED_MEMBER = "UNKNOWN0042"
MAX_POLLS = 5
#: Claims scrubbed and submitted per unit of work, patients asked about per 270: the cycle
#: works page by page, so its memory stays flat in the number of claims.
PAGE = 1000
#: Feed pages of FEED_PAGE_SIZE documents one poll reads: what a poll holds stays bounded (an
#: 835 of 1,000 claims is about 0.4 MB: a few dozen documents at a time, whatever the run).
FETCH_PAGES = 2
FEED_PAGE_SIZE = 20


@dataclass
class DemoReport:
    steps: list[tuple[str, str]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def done(self, step: str, detail: str) -> None:
        self.steps.append((step, detail))


def _x12_options(sender: str) -> dict[str, Any]:
    return {"submitter_id": sender, "receiver_id": "MOCKCH", "submitter_name": PRACTICE.name,
            "submitter_contact_name": "Billing Office", "submitter_phone": "2175550100",
            "usage": "T"}


def demo_payers() -> dict[str, Payer]:
    payers = {}
    for key, payer in {**PAYERS, **paper_payers()}.items():  # issue 17: one billed on paper
        if payer.adapter == "medicare":
            options: dict[str, Any] = {"jurisdiction": "J15", "mac": "06102", "locality": "99",
                                       "x12": _x12_options("RIVERBEND")}
        else:
            options = _x12_options("RIVERBEND")
        payers[key] = payer.model_copy(update={"options": options})
    return payers


def demo_config(out: Path, base_url: str, api_key: str,
                read_timeout: float = 30.0, database_url: str | None = None, *,
                card_site: DemoCardSite | None = None) -> MedbillConfig:
    """The run's configuration; with ``card_site``, card payments through its gateway
    simulator, texts through the mock sender and the pay page at its address."""
    card = card_settings(card_site.gateway_url, SERVE_URL,
                         str(out / MESSAGES_FILE)) if card_site is not None else {}
    return MedbillConfig(
        database_url=database_url or f"sqlite:///{(out / 'medbill-demo.db').resolve()}",
        plugins=["payer_generic_x12", "payer_medicare", "clearinghouse_mock", "statements_pdf",
                 "workspace_web", "claim_forms_pdf", *(CARD_PLUGINS if card else [])],
        actor="demo", practice=PRACTICE, payers=demo_payers(),
        plugin_settings={
            "clearinghouse_mock": {"base_url": base_url, "api_key": api_key,
                                   "backoff_initial": 0.05, "read_timeout": read_timeout,
                                   "max_pages": FETCH_PAGES, "page_size": FEED_PAGE_SIZE},
            "payer_generic_x12": {"control_numbers_path": str(out / "control-numbers.db")},
            "claim_forms_pdf": {"paper_dir": str(out / "paper-claims")},
            **card.pop("plugin_settings", {}),
        }, **card)


#: Where ``medbill clearinghouse serve`` listens by default: the demo's saved configuration
#: points there, since the demo's own simulator (on a free port) stops with the demo.
SIMULATOR_URL = "http://127.0.0.1:8035"


def saved_demo_config(api_key: str) -> MedbillConfig:
    """The configuration the demo leaves in its folder: paths relative to that folder (the
    loader resolves them against the file), so ``medbill -c demo-out/medbill.toml ...``
    works from any working directory and after the folder is moved."""
    card = card_settings(SAVED_GATEWAY_URL, SERVE_URL, str(MESSAGES_FILE))
    return MedbillConfig(
        database_url="sqlite:///medbill-demo.db",
        plugins=["payer_generic_x12", "payer_medicare", "clearinghouse_mock", "statements_pdf",
                 "workspace_web", "claim_forms_pdf", *CARD_PLUGINS],
        actor="demo", practice=PRACTICE, payers=demo_payers(),
        plugin_settings={
            "clearinghouse_mock": {"base_url": SIMULATOR_URL, "api_key": api_key},
            "payer_generic_x12": {"control_numbers_path": "control-numbers.db"},
            "claim_forms_pdf": {"paper_dir": "paper-claims"},
            **card.pop("plugin_settings"),
        }, **card)


def _with_rejection(patients: Iterable[DemoPatient]) -> Iterator[DemoPatient]:
    """One commercial patient's member ID is mistyped at registration: the payer rejects."""
    mistyped = False
    for demo in patients:
        if not mistyped and demo.coverages and demo.coverages[0].payer_key == "acme":
            demo.coverages[0] = demo.coverages[0].model_copy(update={
                "member_id": REJECTED_MEMBER})
            mistyped = True
        yield demo


def load_data(app: Medbill, claims: int, console: Console) -> tuple[list[int], int]:
    """Patients, coverages, providers and ``claims`` encounters; (patient ids, claims made).

    Patients are registered a page at a time, and each batch of claims reads the coverages
    of its patients back: nothing per patient or claim is held across pages."""
    rng = random.Random(837)
    size = practice_size(claims)
    with app.unit_of_work() as work:
        work.patients.register_providers(size.providers)
    patient_ids: list[int] = []
    demos = _with_rejection(iter_demo_patients(size.patients))
    while page := list(islice(demos, PAGE)):  # registered in batches: a few statements each
        with app.unit_of_work() as work:
            patients = work.patients.register_many([demo.patient for demo in page])
            work.patients.add_coverages([
                NewCoverage(saved_id(patient), coverage)
                for patient, demo in zip(patients, page, strict=True)
                for coverage in demo.coverages])
        patient_ids += (saved_id(patient) for patient in patients)
    made = 0
    with progress("creating claims", claims) as advance:
        for start in range(0, claims, 500):
            numbers = range(start + 1, min(claims, start + 500) + 1)
            # claim n is patient (n - 1) modulo the practice's patients
            owners = [patient_ids[(number - 1) % len(patient_ids)] for number in numbers]
            batch = []
            with app.unit_of_work() as work:
                coverages = _coverages_of(work, owners)
                for number, patient_id in zip(numbers, owners, strict=True):
                    service_date = date.today() - timedelta(days=rng.randint(*size.service_days))
                    primary = primary_coverage(coverages[patient_id], service_date)
                    claim = encounter_claim(number, patient_id, primary, service_date, rng,
                                            size.providers)
                    if primary is not None and primary.payer_key == "medicare":
                        # Medicare wants the ordering provider on lab and imaging lines
                        claim = claim.model_copy(update={
                            "referring_provider_npi": PROVIDERS[1].npi})
                    batch.append(claim)
                made += len(work.claims.create_many(batch))
            advance(len(batch))
    return patient_ids, made


def _coverages_of(work: UnitOfWork, patient_ids: Iterable[int]) -> dict[int, list[Coverage]]:
    """The coverages of these patients (as registered, in their order), one query."""
    coverages: defaultdict[int, list[Coverage]] = defaultdict(list)
    for row in work.session.scalars(
            select(CoverageRow).where(CoverageRow.patient_id.in_(set(patient_ids)))
            .order_by(CoverageRow.patient_id, CoverageRow.coverage_order, CoverageRow.id)):
        coverages[row.patient_id].append(coverage_from_row(row))
    return coverages


def check_eligibility(app: Medbill, patient_ids: list[int], console: Console) -> Counter[str]:
    """Each patient's primary coverage today, asked about in batches (one 270 per payer and
    page of patients, :func:`check_eligibility_many`)."""
    results: Counter[str] = Counter()
    today = date.today()
    with progress("checking eligibility (270/271)", len(patient_ids)) as advance:
        for start in range(0, len(patient_ids), PAGE):
            page = patient_ids[start:start + PAGE]
            with app.unit_of_work(read_only=True) as work:
                patients = {row.id: patient_from_row(row) for row in work.session.scalars(
                    select(PatientRow).where(PatientRow.id.in_(page)))}
                coverages: defaultdict[int, list[Coverage]] = defaultdict(list)
                for row in work.session.scalars(
                        select(CoverageRow).where(CoverageRow.patient_id.in_(page))
                        .order_by(CoverageRow.coverage_order, CoverageRow.id)):
                    coverages[row.patient_id].append(coverage_from_row(row))
            requests = []
            for patient_id in page:
                coverage = primary_coverage(coverages[patient_id], today)
                if coverage is None:
                    results["self-pay"] += 1
                    continue
                requests.append(EligibilityRequest(
                    trace_number=f"DEMO{patient_id:05d}", practice=PRACTICE,
                    patient=patients[patient_id], coverage=coverage,
                    payer=app.hooks.context.payer(coverage.payer_key), service_date=today))
            for answer in check_eligibility_many(app.hooks, requests):
                results["error" if isinstance(answer, MedbillError)
                        else answer.status.value] += 1
            advance(len(page))
    return results


@contextmanager
def practice_reader(app: Medbill) -> Iterator[Session]:
    """A reader session (it never waits for the card site's webhooks to commit) that sees
    the demo's practice only, as its units of work do: the bench runs the cycle beside
    another practice's history."""
    with app.database.reader() as session:
        scoped(session, app.default_practice_id())
        yield session


def claim_id_pages(app: Medbill, *states: ClaimState) -> Iterator[list[int]]:
    """The ids of the claims in ``states``, a page at a time, by id (each page read when the
    one before has been worked on: claims that left the states meanwhile are not read)."""
    last = 0
    while True:
        with practice_reader(app) as session:
            ids = list(session.scalars(
                select(ClaimRow.id).where(ClaimRow.state.in_([s.value for s in states]),
                                          ClaimRow.id > last)
                .order_by(ClaimRow.id).limit(PAGE)))
        if not ids:
            return
        yield ids
        last = ids[-1]


def scrub_and_submit(app: Medbill, report: DemoReport, label: str) -> None:
    """Scrub the drafts a page at a time, sending each page's clean claims before the next."""
    total = clean = batches = sent = 0
    pages = 0
    for drafts in claim_id_pages(app, ClaimState.DRAFT):
        with app.unit_of_work() as work:
            scrub = scrub_claims(work, drafts)
        total += len(scrub.results)
        clean += scrub.clean_count
        batches, sent = _submitted(submit(app), batches, sent)
        pages += 1
    if not pages:  # nothing to scrub: what is pending is sent all the same
        batches, sent = _submitted(submit(app), batches, sent)
    # as ScrubReport.clean_claim_rate, over every page
    rate = (Decimal(clean * 100) / Decimal(total)).quantize(Decimal("0.01")) if total else \
        Decimal("0.00")
    report.done(f"scrub ({label})", f"{clean}/{total} clean ({rate}%)")
    report.figures.setdefault("clean_claim_rate", str(rate))
    report.done(f"submit 837P ({label})", f"{batches} batches, {sent} claims sent")


def _submitted(outcomes: list[SendOutcome], batches: int, sent: int) -> tuple[int, int]:
    return batches + len(outcomes), sent + sum(o.claims for o in outcomes
                                               if o.status == "sent")


def poll(app: Medbill, report: DemoReport, label: str) -> None:
    """Fetch until the feed is empty: a poll reads at most ``FETCH_PAGES`` feed pages, and
    only polls that were not cut short by that bound count towards ``MAX_POLLS``."""
    kinds: Counter[str] = Counter()
    bound = FETCH_PAGES * FEED_PAGE_SIZE
    polls = 0
    while polls < MAX_POLLS:
        results = fetch_and_apply(app, CHANNEL)
        if not results:
            break
        kinds.update(r.kind for r in results)
        if len(results) < bound:
            polls += 1
    report.done(f"responses ({label})",
                ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "none")


def fix_rejections(app: Medbill, report: DemoReport) -> int:
    """Correct the member ID of rejected claims and send them again as originals.

    A claim rejected by the 277CA never entered adjudication, so there is nothing at the payer
    to replace: the claim goes back to draft and is resubmitted with frequency 1.
    """
    fixed = 0
    for page in claim_id_pages(app, ClaimState.REJECTED):
        with app.unit_of_work() as work:
            for claim_id in page:
                claim = work.claims.get(claim_id)
                if claim.coverage_id is None:
                    continue
                coverage = work.patients.coverage(claim.coverage_id)
                if coverage.member_id.startswith("UNKNOWN"):
                    work.patients.add_coverage(claim.patient_id, coverage.model_copy(update={
                        "member_id": "ACM" + coverage.member_id[-6:] + "1"}))
                work.claims.transition(saved_id(claim), ClaimState.DRAFT,
                                       reason="member ID corrected")
                fixed += 1
    report.done("fix rejected claims", f"{fixed} corrected and queued again as originals")
    return fixed


def correct_a_paid_claim(app: Medbill, report: DemoReport) -> str | None:
    """A coding review finds a commercial claim paid for one unit too few on its first line:
    send a replacement (frequency 7); the payer reverses the original payment and pays anew."""
    with app.unit_of_work() as work:
        commercial = [key for key, payer in demo_payers().items()
                      if payer.claim_filing_indicator == "CI"]
        # the first such claim by id (one query, not every paid claim read)
        first_id = work.session.scalar(
            select(func.min(ClaimRow.id)).where(
                ClaimRow.state.in_([ClaimState.PATIENT_BALANCE.value, ClaimState.CLOSED.value,
                                    ClaimState.PAID.value]),
                ClaimRow.payer_key.in_(commercial), ClaimRow.payer_claim_number.is_not(None),
                ClaimRow.payer_claim_number != "", ClaimRow.replaces_claim_id.is_(None)))
        if first_id is None:
            return None
        original = work.claims.get(first_id)
        first = original.lines[0]
        unit_price = first.charge / first.units
        lines = [first.model_copy(update={"units": first.units + 1,
                                          "charge": first.charge + unit_price}),
                 *original.lines[1:]]
        replacement = work.claims.correct(saved_id(original), original.model_copy(
            update={"lines": lines}), reason="coding review: one unit missing on line 1")
    report.done("correct a paid claim", f"{original.claim_number} replaced by "
                f"{replacement.claim_number} (frequency 7)")
    return replacement.claim_number


def take_payments(app: Medbill, report: DemoReport) -> None:
    with app.unit_of_work() as work:
        items = collections_worklist(work)[:5]
        for item in items:
            payment = Payment(
                patient_id=item.patient_id, amount=min(item.balance, Decimal("40.00")),
                method=PaymentMethodKind.CARD, reference="VISA-4242 AUTH" + str(item.patient_id),
                received_on=date.today())
            if item.guarantor_id is not None:  # a family's balance is paid as one
                record_guarantor_payment(work, item.guarantor_id, payment)
            else:
                record_payment(work, payment)
    report.done("patient payments", f"{len(items)} card payments applied oldest-first")


def code_sets(report: DemoReport) -> None:
    """Which code-set releases answer today's dates of service (``medbill codes status``):
    the scrubber warns on every claim past a missing one, so the demo says which first."""
    from medbill_core.codesets.loaders import user_data_dir
    from medbill_core.codesets.releases import status

    rows = status(date.today(), user_data_dir())
    missing = [coverage.wanted for _, _, coverage in rows if not coverage.covered]
    report.done("code sets (codes status)",
                f"{len(rows) - len(missing)} of {len(rows)} current for today"
                + (f"; missing: {', '.join(missing)}" if missing else ""))
    report.figures["code_sets_missing"] = missing


def audit_coding(app: Medbill, report: DemoReport) -> tuple[CodingReport, Sample]:
    """The coding audit on the month's claims (``medbill audit-coding report``) and a review
    sample of two claims per provider, seeded so every run draws the same claims."""
    with app.unit_of_work() as work:
        coding = coding_report(work, AuditFilters())
        sample = create_sample(work, AuditFilters(), per_provider=2, seed=2026)
    flags = [f"{p.npi} {flag}" for p in coding.providers for flag in p.flags]
    report.done("coding audit", f"{coding.reference_claims} claims of {len(coding.providers)} "
                f"providers; outliers: {', '.join(flags) or 'none'}; "
                f"{sum(p.bypass_count for p in coding.providers)} NCCI edits bypassed by "
                f"modifier; review sample {sample.id}: {len(sample.claims)} claims")
    return coding, sample


def write_files(app: Medbill, out: Path) -> dict[str, int]:
    """Every X12 file sent and received, by transaction."""
    counts: Counter[str] = Counter()
    with practice_reader(app) as session:  # rows streamed, not all held at once
        for filename, content in session.execute(
                select(SubmissionRow.filename, SubmissionRow.content)
                .order_by(SubmissionRow.id).execution_options(yield_per=50)):
            write_private(private_dir(out / "837") / filename, content)
            counts["837"] += 1
        for document_id, kind, content in session.execute(
                select(InboundDocumentRow.id, InboundDocumentRow.kind,
                       InboundDocumentRow.content)
                .order_by(InboundDocumentRow.id).execution_options(yield_per=50)):
            write_private(private_dir(out / kind) / f"{document_id:05d}-{kind}.x12", content)
            counts[kind] += 1
    return dict(sorted(counts.items()))


def summarize(app: Medbill) -> dict[str, Any]:
    with app.unit_of_work() as work:
        by_state = dict(work.session.execute(
            select(ClaimRow.state, func.count()).group_by(ClaimRow.state)).all())
        totals = work.ledger.totals()
        by_payer = work.ledger.insurance_balance_by_payer()
    money = {
        "charges": totals.charges,
        "paid_by_payers": totals[EntryKind.PAYER_PAYMENT],
        "paid_by_patients": totals[EntryKind.PATIENT_PAYMENT],
        "adjusted": totals.adjustments,
        "insurance_balance": totals.balance.insurance,
        "patient_balance": totals.balance.patient,
    }
    return {
        "claims_by_state": dict(sorted(by_state.items())),
        "money": {key: str(value) for key, value in money.items()},
        "ar_by_payer": {key: str(value) for key, value in sorted(by_payer.items())},
        "ledger_balanced": totals.is_balanced(),
    }


def print_summary(summary: dict[str, Any], report: DemoReport, console: Console) -> None:
    steps = data_table("step", "result", title="revenue cycle", keys=("step",))
    for step, detail in report.steps:
        steps.add_row(step, detail)
    print_table(steps, console)
    states = data_table("state", "claims", title="claims by state", keys=("state", "claims"),
                        numeric=("claims",))
    for state, count in summary["claims_by_state"].items():
        states.add_row(state, str(count))
    money = data_table("", "amount", title="money", keys=("", "amount"), numeric=("amount",))
    for key, value in summary["money"].items():
        money.add_row(key.replace("_", " "), value)
    ar = data_table("payer", "insurance A/R", title="A/R by payer",
                    keys=("payer", "insurance A/R"), numeric=("insurance A/R",))
    for key, value in summary["ar_by_payer"].items():
        ar.add_row(key, value)
    for table in (states, money, ar):
        print_table(table, console)
    console.print(f"ledger balanced: {summary['ledger_balanced']}; files: {summary['files']}",
                  markup=False)


def run_demo(out: Path, claims: int = 40, console: Console | None = None, *,
             faults: list[dict[str, Any]] | None = None,
             read_timeout: float = 30.0, database_url: str | None = None,
             practice_code: str | None = None) -> dict[str, Any]:
    """Run the cycle into ``out``; returns the summary also written as ``summary.json``.

    :param faults: fault rules for the clearinghouse simulator (tests of resilience).
    :param database_url: an empty database to run in instead of ``out``'s SQLite file (the
        bench's PostgreSQL figures); the saved ``medbill.toml`` still names the SQLite file.
    :param practice_code: the practice of ``database_url`` to work in (it must exist) instead
        of the first one: the bench's cycle beside another practice's history.
    """
    from medbill_demo.simulation import API_KEY, DemoClearinghouse

    console = console or Console()
    private_dir(out)  # claims, remittances and statements inside are PHI
    for stale in [*out.glob("medbill-demo.db*"), *out.glob("control-numbers.db*")]:
        stale.unlink()
    report = DemoReport()
    with DemoClearinghouse(out, faults) as clearinghouse, DemoCardSite() as card_site:
        report.done("clearinghouse simulator", f"listening on {clearinghouse.base_url}")
        report.done("card gateway simulator", f"listening on {card_site.gateway_url}; the "
                    f"pay page on {card_site.url}")
        code_sets(report)
        config = demo_config(out, clearinghouse.base_url, API_KEY, read_timeout, database_url,
                             card_site=card_site)
        if practice_code is not None:
            config = config.model_copy(update={"practice_code": practice_code})
        # lets `medbill -c demo-out/medbill.toml claims list ...` explore the result afterwards
        write_private(out / "medbill.toml", config_toml(saved_demo_config(API_KEY)))
        # and `medbill -c demo-out/medbill.toml clearinghouse serve --simulator-config
        # demo-out/clearinghouse.json --state demo-out/clearinghouse-state.db` continue it
        write_private(out / "clearinghouse.json", clearinghouse.config_json())
        app = Medbill.open(config, upgrade=True)
        try:
            card_site.serve(app)  # the pay page and the gateway's webhooks, served live
            patient_ids, made = load_data(app, claims, console)
            report.done("load demo data", f"{len(patient_ids)} patients, {made} claims")
            report.done("hospital case (UB-04 / 837I)",
                        f"{load_hospital_case(app)} institutional claims: outpatient 0131, "
                        "inpatient 0111")
            eligibility = check_eligibility(app, patient_ids, console)
            report.done("eligibility 270/271", ", ".join(
                f"{n} {status}" for status, n in sorted(eligibility.items())))
            scrub_and_submit(app, report, "first pass")
            poll(app, report, "acknowledgments")
            if fix_rejections(app, report):
                scrub_and_submit(app, report, "corrections")
                poll(app, report, "acknowledgments of corrections")
            for round_number in (1, 2):  # primary payers, then the secondaries they forwarded
                paid = clearinghouse.payment_run()
                poll(app, report, f"remittances, round {round_number} ({paid} 835s)")
                with app.unit_of_work() as work:
                    waiting = work.claims.ids(state=ClaimState.DRAFT, limit=1)
                if not waiting:
                    break
                scrub_and_submit(app, report, "secondary claims")
                poll(app, report, "acknowledgments of secondary claims")
            if correct_a_paid_claim(app, report):
                scrub_and_submit(app, report, "replacement")
                poll(app, report, "acknowledgment of the replacement")
                paid = clearinghouse.payment_run()
                poll(app, report, f"remittance of the replacement ({paid} 835s)")
            with practice_reader(app) as session:  # audit events are not scoped: by hand
                flagged = session.scalar(select(func.count()).select_from(AuditEventRow).where(
                    AuditEventRow.action == "remittance.findings",
                    AuditEventRow.practice_id == app.default_practice_id())) or 0
            report.done("underpayment check (MPFS)", f"{flagged} claims paid below the "
                        "fee schedule, flagged for follow-up")
            statements = run_statements(app, cycle=date.today().strftime("%Y-%m"),
                                        out_dir=out / "statements", renderer="pdf")
            skipped = sum(len(v) for v in statements.skipped.values())
            report.done("patient statements", f"{len(statements.produced)} PDFs, "
                        f"{skipped} accounts skipped (on hold or pending at a payer)")
            take_payments(app, report)
            pay_online(app, card_site, out, report)  # issue 18: pay-by-link, by card
            grant_assistance(app, out, report)  # issue 18: a sliding fee discount
            refund_a_credit(app, report)  # issue 18: a credit refunded by check
            export_books(app, out, report)  # issue 18: the books, to IIF
            paper = print_paper_claims(out, demo_payers()[PAPER_PAYER.key])
            report.done("paper claims (CMS-1500, UB-04)", f"{paper['claims']} claims for "
                        f"{PAPER_PAYER.name} printed as a batch, "
                        f"{len(paper['ub04_forms'])} UB-04s, into paper-claims/")
            coding, sample = audit_coding(app, report)
            summary = summarize(app)
            summary["files"] = write_files(app, out)
            summary["files"]["statements"] = len(statements.produced)
            summary["steps"] = [{"step": s, "result": d} for s, d in report.steps]
            summary.update(report.figures)
            summary["paper_claims"] = paper
            summary["coding_audit"] = {"report": coding.as_json(), "sample": sample.as_json()}
            write_private(out / "summary.json", json.dumps(summary, indent=2) + "\n")
            print_summary(summary, report, console)
            print_report(coding, console)
            print_sample(sample, console)
            return summary
        finally:
            app.close()
