"""The payer documents the contract suites drive through an adapter, and what they say.

A *scenario* is the practice's side: four claims of one patient billed to one payer, sent in
one batch. The documents are the payer's answers to it, in X12 5010 as a clearinghouse sends
them, rendered from the templates in ``medbill_core/testing/x12/`` with the scenario's claim
numbers, amounts, NPI and control numbers:

========================  ====================================================================
``functional_ack`` (999)  the batch's functional group accepted
``claim_acks`` (277CA)    claims A, B and C accepted, D rejected (A7:562, entity 85)
``remittance`` (835)      A paid 100.00 (CO-45 23.50, PR-2 20.00 over two lines);
                          B paid 80.00 (CO-45 25.00, PR-1 20.00)
``remittance_reversal``   B's payment reversed (CLP02 = 22, amounts negated) and paid again
(835)                     as corrected: 90.00 (CO-45 25.00, PR-2 10.00); PLB L6 interest 1.50
``eligibility`` (271)     active coverage, copay 25.00, deductible 500.00, coinsurance 20%
``claim_status`` (277)    claim A finalized and paid (F1:65), 100.00
========================  ====================================================================

The expected effects are in :data:`EXPECTED`. A payer plugin that does not speak X12 writes the
same answers in its own format (see :class:`ContractDocuments`); the assertions stay the same.
The core itself writes no X12: these templates are test data, not an encoder.
"""

from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from importlib import resources
from string import Template

from medbill_core.domain import Coverage, DocumentKind, InboundDocument, Patient, Payer, Practice
from medbill_core.testing.factories import recent_service_date

D = Decimal

#: The four claims' roles, in order: A and B are paid, C is only accepted, D is rejected.
CLAIM_ROLES = ("a", "b", "c", "d")


class Expected:
    """What the scenario's documents say, in domain terms (amounts as Decimal)."""

    charges = {"a": D("143.50"), "b": D("125.00"), "c": D("125.00"), "d": D("125.00")}
    accepted = ("a", "b", "c")
    rejected = ("d",)
    rejection_code = ("A7", "562")
    paid = {"a": D("100.00"), "b": D("80.00")}
    contractual = {"a": D("23.50"), "b": D("25.00")}
    patient = {"a": D("20.00"), "b": D("20.00")}
    payment_amount = D("180.00")
    corrected_paid_b = D("90.00")
    corrected_patient_b = D("10.00")
    interest = D("1.50")
    reversal_payment_amount = D("11.50")
    copay = D("25.00")
    deductible = D("500.00")
    coinsurance = D("0.20")
    status_category = "F1"
    status_paid = D("100.00")


EXPECTED = Expected()


@dataclass(frozen=True)
class ContractScenario:
    """The practice's side of the documents: who billed whom for which claims, and the
    control numbers of the batch they went in (a 999 names its group and sets)."""

    practice: Practice
    payer: Payer
    patient: Patient
    coverage: Coverage
    claim_numbers: tuple[str, str, str, str] = ("KIT0001", "KIT0002", "KIT0003", "KIT0004")
    service_date: date = field(default_factory=lambda: recent_service_date())
    #: GS06 of the batch the claims were sent in, and its transaction set numbers (ST02)
    group_control_number: str = "1"
    transaction_set_numbers: tuple[str, ...] = ("0001",)
    submitter_id: str = "SUBMITTER"

    def claim_number(self, role: str) -> str:
        return self.claim_numbers[CLAIM_ROLES.index(role)]


@dataclass(frozen=True)
class ContractDocuments:
    """The payer's answers to a :class:`ContractScenario`, as received documents."""

    functional_ack: InboundDocument
    claim_acks: InboundDocument
    remittance: InboundDocument
    remittance_reversal: InboundDocument
    eligibility: InboundDocument
    claim_status: InboundDocument


_document_ids = itertools.count(1)


def inbound(kind: DocumentKind, content: str, *, channel: str = "contract") -> InboundDocument:
    """A received document with a fresh id (the core stores each document id once)."""
    return InboundDocument(channel=channel, document_id=f"contract-{next(_document_ids)}",
                           kind=kind, content=content)


def x12_documents(scenario: ContractScenario) -> ContractDocuments:
    """The scenario's documents in X12 5010 (the default ``contract_documents``)."""
    values = _values(scenario)
    return ContractDocuments(
        functional_ack=inbound(DocumentKind.FUNCTIONAL_ACK_999, render_x12("999", values)),
        claim_acks=inbound(DocumentKind.CLAIM_ACK_277CA, render_x12("277CA", values)),
        remittance=inbound(DocumentKind.REMITTANCE_835, render_x12("835", values)),
        remittance_reversal=inbound(DocumentKind.REMITTANCE_835,
                                    render_x12("835_reversal", values)),
        eligibility=inbound(DocumentKind.ELIGIBILITY_271, render_x12("271", values)),
        claim_status=inbound(DocumentKind.STATUS_277, render_x12("277", values)))


def render_x12(name: str, values: dict[str, str]) -> str:
    """Template ``name`` filled in, its SE01 segment count set."""
    text = resources.files("medbill_core.testing").joinpath(f"x12/{name}.x12") \
        .read_text(encoding="ascii")
    return _with_segment_count(Template(text).substitute(values, segment_count="$count"))


def _with_segment_count(text: str) -> str:
    segments = [s.strip() for s in text.split("~") if s.strip()]
    start = next(i for i, s in enumerate(segments) if s.startswith("ST*"))
    end = next(i for i, s in enumerate(segments) if s.startswith("SE*"))
    segments[end] = segments[end].replace("$count", str(end - start + 1))
    return "~\n".join(segments) + "~\n"


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _values(scenario: ContractScenario) -> dict[str, str]:
    e = EXPECTED
    payer, practice, patient = scenario.payer, scenario.practice, scenario.patient
    interchange = f"{zlib.crc32('|'.join(scenario.claim_numbers).encode()) % 10**8 + 1:09d}"
    numbers = dict(zip(CLAIM_ROLES, scenario.claim_numbers, strict=True))
    values = {
        "isa_payer": payer.payer_id[:15].ljust(15), "isa_practice":
            scenario.submitter_id[:15].ljust(15), "isa13": interchange,
        "isa13_short": str(int(interchange)), "payer_id": payer.payer_id,
        "payer_name": payer.name.upper()[:60], "submitter_id": scenario.submitter_id,
        "practice_name": practice.name.upper()[:60], "billing_npi": practice.npi,
        "tax_id": practice.tax_id.replace("-", ""),
        "date": date.today().strftime("%Y%m%d"), "date6": date.today().strftime("%y%m%d"),
        "year_end": f"{date.today().year}1231",
        "service_date": scenario.service_date.strftime("%Y%m%d"),
        "plan_begin": date(scenario.service_date.year, 1, 1).strftime("%Y%m%d"),
        "patient_last": patient.last_name.upper(), "patient_first": patient.first_name.upper(),
        "patient_birth": patient.birth_date.strftime("%Y%m%d"),
        "patient_sex": patient.sex.value if len(patient.sex.value) == 1 else "U",
        "patient_street": (patient.address.line1 if patient.address else "1 MAIN ST").upper(),
        "member_id": scenario.coverage.member_id,
        "plan_name": (scenario.coverage.plan_name or "PLAN").upper(),
        "group_control_number": scenario.group_control_number,
        "set_count": str(len(scenario.transaction_set_numbers)),
        "ak2_loops": "~\n".join(f"AK2*837*{number}*005010X222A1~\nIK5*A"
                                for number in scenario.transaction_set_numbers) + "~",
        "trace_277ca": f"KIT277CA{interchange[-4:]}", "trace_835": f"KITEFT{interchange[-6:]}",
        "trace_reversal": f"KITREV{interchange[-6:]}", "trace_271": f"KIT271{interchange[-6:]}",
        "trace_277": f"KIT277{interchange[-6:]}", "check_number": f"KITEFT{interchange[-6:]}",
        "batch_charge": _money(sum(e.charges.values(), D(0))),
        "accepted_charge": _money(sum((e.charges[r] for r in e.accepted), D(0))),
        "rejected_charge": _money(sum((e.charges[r] for r in e.rejected), D(0))),
        "payment_amount": _money(e.payment_amount),
        "reversal_payment_amount": _money(e.reversal_payment_amount),
        "paid_a_line1": "90.00", "paid_a_line2": "10.00",
        "contractual_a_line1": "15.00", "contractual_a_line2": "8.50",
        "contractual_b": _money(e.contractual["b"]),
        "corrected_paid_b": _money(e.corrected_paid_b),
        "corrected_patient_b": _money(e.corrected_patient_b),
        "interest": _money(e.interest), "copay": _money(e.copay),
        "deductible": _money(e.deductible), "coinsurance": f"{e.coinsurance:.2f}",
    }
    for role, number in numbers.items():
        values[f"claim_{role}"] = number
        values[f"charge_{role}"] = _money(e.charges[role])
        values[f"payer_claim_{role}"] = f"PCN{number}"[:30]
    for role in ("a", "b"):
        values[f"paid_{role}"] = _money(e.paid[role])
        values[f"patient_{role}"] = _money(e.patient[role])
    return values
