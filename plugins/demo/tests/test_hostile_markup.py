"""Text from outside (payers' files, import files, what people type) is printed as text,
never read as rich console markup (issue 11 item 9).

A TRN02 of ``[/x]EFT1`` made ``remit post`` commit and then die with a MarkupError
traceback; an STC12 of ``[/x] not found`` made ``claims show`` crash every time; a patient
named ``[/Zyxwq]`` crashed ``patients list`` with the name (PHI) in the traceback.

Here every text field a user or payer can fill carries markup (a closing tag that closes
nothing, a style, a link), and every command that prints data runs against it: exit 0, no
traceback, and the markup printed literally. The commands are found by walking the command
tree (as test_cli_json_everywhere.py does), so a new list or show command must be
added to :data:`INVOCATIONS` or this test fails.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from medbill_demo.runner import saved_demo_config
from typer.testing import CliRunner, Result

from medbill_core.app import Medbill
from medbill_core.cli.main import application, build_app
from medbill_core.config import MedbillConfig, config_toml, load_config
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimAcknowledgment,
    ClaimAcknowledgmentBatch,
    ClaimAckStatus,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    ProviderAdjustment,
    Remittance,
    StatusCode,
)
from medbill_core.plugins import PluginHooks
from medbill_core.services.responses import apply_decoded
from medbill_core.testing.factories import PRACTICE_NPI, RENDERING_NPI

SHIPPED = ("payer_generic_x12", "payer_medicare", "clearinghouse_mock", "statements_pdf")

#: Markup that breaks rich when read as markup: a closing tag closing nothing raises
#: MarkupError; a style or a link would silently change or hide what is printed.
CLOSE = "[/Zyxwq]"
STYLE = "[bold]Bold[/bold]"
LINK = "[link=https://evil.example/x]pay here[/link]"
TRACE = "[/x]EFT1"
STATUS_MESSAGE = "[/x] not found"

PATIENTS_CSV = f"""\
account_number,last_name,first_name,middle_name,birth_date,sex,address_line1,address_line2,\
address_city,address_state,address_postal_code,email
MK1,{CLOSE},{STYLE},[i],1971-05-05,M,"{LINK}",[/],[red]Town,IL,60601,a[b]@example.org
MK2,Plain,Pat,,1983-08-19,F,22 Dune Road,,Evanston,IL,60201,
"""
COVERAGES_CSV = f"""\
account_number,payer_key,order,member_id,group_number,group_name,plan_name
MK1,acme,P,ACME00001,G100,"{LINK}",{STYLE}
MK2,acme,P,ACME00002,G100,,
"""


def _claims_json() -> str:
    day = (date.today() - timedelta(days=9)).isoformat()
    claims = []
    for number, account, coverage in (("MK-PAID", "MK1", 1), ("MK-DENIED", "MK1", 1),
                                      ("MK-ACK", "MK2", 2)):
        claims.append({
            "claim_number": number, "account_number": account, "coverage_id": coverage,
            "payer_key": "acme", "billing_provider_npi": PRACTICE_NPI,
            "rendering_provider_npi": RENDERING_NPI, "place_of_service": "11",
            "service_date_from": day, "service_date_to": day, "diagnoses": ["E11.9"],
            "lines": [{"line_number": 1, "procedure_code": "99213", "units": "1",
                       "charge": "100.00", "diagnosis_pointers": [1],
                       "description": STYLE, "service_date_from": day}]})
    return json.dumps(claims)


def _remittance() -> Remittance:
    def co(amount: str, code: str = "45") -> Adjustment:
        return Adjustment(group=AdjustmentGroup.CONTRACTUAL, reason_code=code,
                          amount=Decimal(amount))

    paid = ClaimPayment(claim_number="MK-PAID", status=ClaimStatusCode.PRIMARY,
                        charge=Decimal("100.00"), paid=Decimal("60.00"),
                        patient_responsibility=Decimal("20.00"), payer_claim_number=STYLE,
                        adjustments=[co("20.00"), Adjustment(
                            group=AdjustmentGroup.PATIENT_RESPONSIBILITY, reason_code="2",
                            amount=Decimal("20.00"))])
    denied = ClaimPayment(claim_number="MK-DENIED", status=ClaimStatusCode.DENIED,
                          charge=Decimal("100.00"), paid=Decimal("0.00"),
                          payer_claim_number=CLOSE, adjustments=[co("100.00", "50")])
    unknown = ClaimPayment(claim_number="[/x]UNKNOWN", status=ClaimStatusCode.PRIMARY,
                           charge=Decimal("10.00"), paid=Decimal("10.00"))
    return Remittance(trace_number=TRACE, payment_amount=Decimal("65.00"),
                      payer_name=STYLE, payer_id="ACME1", payee_name=CLOSE,
                      payment_date=date.today(), claims=[paid, denied, unknown],
                      provider_adjustments=[ProviderAdjustment(
                          provider_id=PRACTICE_NPI, fiscal_period_date=date.today(),
                          reason_code="WO", reference="[/x]REF", amount=Decimal("5.00"))])


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = root / "medbill.toml"
        config = saved_demo_config("test-key-medbill")
        self.config.write_text(config_toml(config.model_copy(update={
            "database_url": f"sqlite:///{root / 'medbill.db'}", "actor": "clerk",
            "plugin_settings": {"clearinghouse_mock": {
                "base_url": "http://127.0.0.1:9", "max_retries": 0, "connect_timeout": 0.2}},
        })), encoding="utf-8")
        for name, text in (("patients.csv", PATIENTS_CSV), ("coverages.csv", COVERAGES_CSV),
                           ("claims.json", _claims_json())):
            (root / name).write_text(text, encoding="utf-8")
        self.app = application(["-c", str(self.config)])

    def invoke(self, *args: str) -> Result:
        return CliRunner().invoke(self.app, ["-c", str(self.config), *args])

    def ok(self, *args: str) -> Result:
        result = self.invoke(*args)
        _check_clean(result, args)
        return result


def _check_clean(result: Result, args: tuple[str, ...]) -> None:
    shown = " ".join(args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"medbill {shown}: uncaught {type(result.exception).__name__}"
                             ) from result.exception
    assert "Traceback" not in result.output, shown
    assert result.exit_code == 0, f"medbill {shown}:\n{result.output}"


def _accept(config: Path, numbers: list[str],
            states: tuple[ClaimState, ...] = (ClaimState.VALIDATED, ClaimState.SUBMITTED,
                                              ClaimState.ACCEPTED)) -> None:
    """Move imported claims on to ``states`` (by default to "accepted", as a clean
    submission would)."""
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            for number in numbers:
                claim_id = work.claims.resolve(number)
                for target in states:
                    work.claims.transition(claim_id, target)
    finally:
        app.close()


def _acknowledge(config: Path) -> None:
    """A 277CA that says, in STC12, something with markup about MK-ACK."""
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            apply_decoded(work, ClaimAcknowledgmentBatch(
                control_number="0001", sender_name=STYLE, claims=[ClaimAcknowledgment(
                    claim_number="MK-ACK", status=ClaimAckStatus.REJECTED,
                    payer_claim_number=CLOSE, message=STATUS_MESSAGE,
                    status_codes=[StatusCode(category="A7", code="21")])]))
    finally:
        app.close()


def _declined_card_payment(config: Path) -> None:
    """A card payment the gateway declined, in the gateway's own words (outside text, as a
    gateway answers it)."""
    from medbill_core.storage.schema import CardPaymentRow

    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            patient_id = work.patients.by_account("MK1").id
            work.session.add(CardPaymentRow(
                reference="cp_markup", patient_id=patient_id, amount=Decimal("5.00"),
                gateway="mock", intent_id="pi_markup", status="failed",
                decline_code="generic_decline", decline_message=STYLE, card_brand=CLOSE[:20],
                refunded=Decimal("0.00"), created_by="tester"))
    finally:
        app.close()


def _notification_and_referral(config: Path) -> None:
    """A message whose provider error, and a referral whose lender's name and decline came
    back with markup (outside text, as a provider answers it)."""
    from medbill_core.storage.schema import FinancingReferralRow, NotificationRow

    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            patient_id = work.patients.by_account("MK1").id
            work.session.add(NotificationRow(
                dedupe_key="statement_ready:markup", template="statement_ready",
                account_key=f"P{patient_id}", channel="sms", recipient="5555550123",
                body="Practice: a new billing statement is ready.", notifier="mock",
                status="failed", attempts=1, last_error=STYLE, created_by="tester"))
            work.session.add(FinancingReferralRow(
                reference="fin_markup", guarantor_id=1, amount=Decimal("5.00"),
                provider="mock", application_id=CLOSE, status="declined", consent=LINK,
                lender_name=STYLE, decline_reason=CLOSE, created_by="tester"))
    finally:
        app.close()


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    saved = {name: value for name, value in os.environ.items() if name.startswith("MEDBILL_")}
    for name in saved:
        del os.environ[name]
    root = tmp_path_factory.mktemp("markup")
    cwd = Path.cwd()
    os.chdir(root)
    try:
        space = Workspace(root)
        space.ok("db", "upgrade")
        space.ok("patients", "import", "patients.csv")
        space.ok("coverages", "import", "coverages.csv")
        space.ok("providers", "add", "--npi", "1245319599", "--last-name", CLOSE,
                 "--first-name", STYLE)
        space.ok("guarantors", "add", "--last-name", CLOSE, "--first-name", STYLE,
                 "--address-line1", LINK, "--address-city", "[red]Town", "--address-state", "IL",
                 "--address-postal-code", "60601")
        space.ok("guarantors", "assign", "--patient", "MK2", "--guarantor", "1")
        space.ok("assistance", "apply", "--guarantor", "1", "--household-size", "2",
                 "--income", "1000.00", "--state", "IL", "--notes", LINK)
        space.ok("webhooks", "add", f"https://hooks.example/{CLOSE}", "--events",
                 "claim.accepted,claim.paid")
        space.ok("claims", "import", "claims.json")
        _accept(space.config, ["MK-PAID", "MK-DENIED"])
        _accept(space.config, ["MK-ACK"], (ClaimState.VALIDATED, ClaimState.SUBMITTED))
        _acknowledge(space.config)
        from medbill_payer_generic_x12.transactions.remittance_835 import encode_835

        (root / "remit.835").write_text(encode_835([_remittance()]), encoding="utf-8")
        posted = space.ok("remit", "post", "remit.835")
        assert TRACE in posted.stdout
        space.ok("payments", "record", "--patient", "MK1", "--amount", "5.00", "--method",
                 "check", "--reference", STYLE)
        _declined_card_payment(space.config)
        _notification_and_referral(space.config)
        space.ok("notifications", "contact", "set", "--guarantor", "1", "--channel", "none")
        space.ok("plans", "create", "--patient", "MK1", "--total", "10.00",
                 "--installments", "2", "--start", date.today().isoformat())
        denial = json.loads(space.ok("denials", "list", "--json").stdout)[0]["id"]
        space.ok("denials", "appeal", str(denial), "--reason", LINK)
        space.ok("audit-coding", "sample", "--per-provider", "5", "--seed", "1")
        space.ok("audit-coding", "review", "1", "MK-PAID", "--finding", "agree", "--note", LINK)
        space.ok("keys", "create", "--label", "ehr-sync", "--role", "biller")
        # issue 18: an account named with markup, and a batch whose 835 trace holds markup
        space.ok("accounting", "set-account", "revenue", STYLE)
        space.ok("accounting", "export", "--format", "iif", "--out", "books.iif")
        yield space
    finally:
        os.chdir(cwd)
        os.environ.update(saved)


# -- the commands that print data --------------------------------------------------------------

def _full_app() -> typer.Typer:
    app = build_app()
    PluginHooks.start(MedbillConfig(plugins=list(SHIPPED))).register_commands(app=app)
    return app


def _leaves(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    commands = getattr(node, "commands", None)
    if commands is None:
        yield path
        return
    for name, child in sorted(commands.items()):
        yield from _leaves(child, (*path, name))


READING = {"list", "show", "search", "aging", "exceptions", "followup", "worklist", "missed",
           "outbox", "loads", "audit", "current", "report", "accuracy", "deliveries",
           "kpi", "kpi-claims", "imports", "form", "batches", "accounts",
           # issue 18: the refund check register, the agencies and their placements
           "checks", "agencies", "placements"}
READ_COMMANDS = {path for path in _leaves(typer.main.get_command(_full_app()))
                 if path[-1] in READING} | {("audit",)}  # a group that lists when called bare

#: Each command that prints data, with its arguments, and the markup it must print as text
#: (empty: it runs clean; what it shows holds no outside text, or not these fields).
INVOCATIONS: dict[tuple[str, ...], list[tuple[tuple[str, ...], tuple[str, ...]]]] = {
    ("patients", "list"): [((), (CLOSE, STYLE))],
    ("patients", "search"): [(("--name", CLOSE), (CLOSE,))],
    ("patients", "show"): [(("MK1",), (CLOSE, STYLE, LINK, "[red]Town", "[/]"))],
    ("coverages", "list"): [(("--patient", "MK1"), ())],
    ("guarantors", "list"): [((), (CLOSE,))],
    ("guarantors", "show"): [(("1",), (CLOSE, STYLE, LINK))],
    ("providers", "list"): [((), (CLOSE,))],
    # financial assistance (issue 18): the reviewer's notes are the free text
    ("assistance", "list"): [((), ())],
    ("assistance", "show"): [(("1",), (LINK,))],
    ("claims", "list"): [((), ())],
    ("claims", "show"): [(("MK-ACK",), (STATUS_MESSAGE,)), (("MK-PAID",), (TRACE,)),
                         (("MK-DENIED",), ())],
    ("claims", "outbox"): [((), ())],
    # 837 intake runs: file names are cleaned to plain characters, the rest are codes
    ("claims", "imports"): [((), ())],
    # the paper form (issue 17): the claim number and the file's name are all it prints
    ("claims", "form"): [(("MK-ACK", "-o", "mk-ack.pdf"), ("MK-ACK",))],
    ("remit", "list"): [((), (TRACE,))],
    ("remit", "show"): [((TRACE,), (TRACE, STYLE, "[/x]UNKNOWN"))],
    ("ar", "aging"): [((), ())],
    ("ar", "exceptions"): [((), ("[/x]UNKNOWN",))],
    ("ar", "followup"): [((), ())],
    ("denials", "list"): [((), ())],
    # work queues (issue 16): the exception's claim number as the payer sent it is the label
    ("queues", "list"): [((), ())],
    ("queues", "show"): [(("remittance_exceptions",), ("[/x]UNKNOWN",)), (("rejections",), ()),
                         (("denials",), ())],
    ("appeals", "list"): [((), ())],
    ("payments", "list"): [((), (STYLE,))],
    # the gateway's words for a decline, and the card's brand as it sent it
    ("payments", "card", "show"): [(("1",), (STYLE, CLOSE[:20]))],
    ("plans", "list"): [((), ())],
    ("plans", "missed"): [((), ())],
    ("collections", "worklist"): [((), ())],
    # issue 18: account numbers, amounts, codes; reasons and payee references are escaped
    ("collections", "agencies"): [((), ())],
    ("collections", "placements"): [((), ())],
    ("credits", "list"): [((), ())],
    ("credits", "checks"): [((), ())],
    ("writeoffs", "list"): [((), ())],
    ("overpayments", "list"): [((), ())],
    # pay links: ids, states and dates only (never a code)
    ("paylinks", "list"): [((), ())],
    ("chargemaster", "show"): [((), ())],
    ("chargemaster", "loads"): [((), ())],
    ("fees", "show"): [(("acme",), ())],
    ("fees", "loads"): [(("acme",), ())],
    ("codes", "show"): [(("[/x]",), ())],
    ("codes", "search"): [(("[/x]",), ()), (("[/x] diabetes",), ())],
    ("audit",): [((), (TRACE,))],
    ("audit-coding", "report"): [((), ())],
    ("audit-coding", "list"): [((), ())],
    ("audit-coding", "show"): [(("1",), ("MK-PAID",))],
    ("audit-coding", "accuracy"): [(("1",), ())],
    ("db", "current"): [((), ())],
    ("plugins", "list"): [((), ())],
    # task names and counts only, and only on PostgreSQL: this SQLite workspace gets the
    # one-line refusal (checked below)
    ("jobs", "list"): [((), ())],
    # names and labels are plain (letters, digits, . _ @ -): nothing to escape, still walked
    ("users", "list"): [((), ())],
    ("keys", "list"): [((), ("ehr-sync",))],
    ("practices", "list"): [((), ())],
    ("webhooks", "list"): [((), (CLOSE,))],
    ("webhooks", "deliveries"): [(("1",), ("claim.accepted",))],
    # KPIs: figures, codes and payer keys; the CARC table carries the codes' meanings
    ("report", "kpi"): [((), ()), (("--csv",), ())],
    ("report", "kpi-claims"): [(("clean_claim_rate", "--part", "denominator"), ())],
    # the accounting export (issue 18): account names are the practice's own text
    ("accounting", "accounts"): [((), (STYLE,))],
    ("accounting", "batches"): [((), ())],
    # texts and e-mails, financing (issue 18): a provider's error and a lender's words
    ("notifications", "list"): [((), (STYLE,))],
    ("notifications", "show"): [(("1",), (STYLE,))],
    ("notifications", "contact", "show"): [(("--guarantor", "1"), ())],
    ("financing", "list"): [((), (STYLE, CLOSE))],
    ("financing", "show"): [(("1",), (STYLE, CLOSE))],
}


def test_every_command_that_prints_data_is_walked() -> None:
    assert sorted(READ_COMMANDS - set(INVOCATIONS)) == []
    assert set(INVOCATIONS) <= READ_COMMANDS


@pytest.mark.parametrize("path", sorted(INVOCATIONS), ids=" ".join)
def test_markup_in_data_is_printed_as_text(space: Workspace, path: tuple[str, ...]) -> None:
    for args, expected in INVOCATIONS[path]:
        result = space.invoke(*path, *args)
        if path[0] == "codes":  # a code that does not exist: one line, not a traceback
            assert result.exception is None or isinstance(result.exception, SystemExit)
            assert "Traceback" not in result.output
            continue
        if path[0] == "jobs":  # the job queue lives in PostgreSQL only
            assert result.exit_code == 1 and "needs PostgreSQL" in result.output
            assert "Traceback" not in result.output
            continue
        _check_clean(result, (*path, *args))
        for text in expected:
            assert text in result.stdout, (path, args, text, result.stdout)
