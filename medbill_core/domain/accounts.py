"""Patient accounts: payments, payment plans and statements."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from medbill_core.domain.base import DomainModel
from medbill_core.domain.parties import Address, Guarantor, Patient, Practice
from medbill_core.money import ZERO, Amount, Money, total

_PAN_LIKE = re.compile(r"\d{12,19}")


class PaymentMethodKind(StrEnum):
    CASH = "cash"
    CHECK = "check"
    CARD = "card"
    ACH = "ach"
    OTHER = "other"


class Payment(DomainModel):
    """A payment from the patient or guarantor.

    ``reference`` is a check number or a card processor's authorization /
    last four digits. A full card number is refused: medbill never stores one.
    """

    id: int | None = None
    patient_id: int
    amount: Amount = Field(gt=0)
    method: PaymentMethodKind
    reference: str | None = Field(default=None, max_length=40)
    received_on: date
    claim_id: int | None = None

    @field_validator("reference")
    @classmethod
    def _no_card_numbers(cls, value: str | None) -> str | None:
        if value and _PAN_LIKE.search(re.sub(r"[\s-]", "", value)):
            raise ValueError("looks like a full card number; record only the last four digits "
                             "or the processor's reference")
        return value


class PlanFrequency(StrEnum):
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"


class Installment(DomainModel):
    due_date: date
    amount: Amount = Field(gt=0)
    paid_amount: Money = ZERO


class PaymentPlan(DomainModel):
    """An agreement to pay a balance in installments; installments must add up to the total."""

    id: int | None = None
    patient_id: int
    total_amount: Amount = Field(gt=0)
    start_date: date
    frequency: PlanFrequency = PlanFrequency.MONTHLY
    installments: list[Installment] = Field(min_length=1)

    @model_validator(mode="after")
    def _adds_up(self) -> PaymentPlan:
        scheduled = total(i.amount for i in self.installments)
        if scheduled != self.total_amount:
            raise ValueError(
                f"installments add up to {scheduled}, not the plan total {self.total_amount}"
            )
        dates = [i.due_date for i in self.installments]
        if dates != sorted(dates) or dates[0] < self.start_date:
            raise ValueError("installment due dates must be in order and not before the start")
        return self


class OweReason(DomainModel):
    """Why part of a line is the patient's: the payer's PR adjustment in words
    (``Deductible``, ``Coinsurance``, ``Copay``, ``Not covered by your plan``) and its amount."""

    reason: str = Field(min_length=1, max_length=60)
    amount: Money


class StatementLine(DomainModel):
    """One service (or payment) on a statement, with what insurance did with it.

    ``why`` says why the patient owes (from the payer's answer); empty for self-pay services
    and lines the payer has not answered for.
    """

    service_date: date
    claim_number: str | None = None
    procedure_code: str | None = None
    description: str
    charge: Money = ZERO
    insurance_paid: Money = ZERO
    insurance_adjusted: Money = ZERO
    patient_paid: Money = ZERO
    balance: Money = ZERO
    why: list[OweReason] = Field(default_factory=list)


class StatementSection(DomainModel):
    """One patient's part of a family (guarantor) statement."""

    patient: Patient
    account_number: str
    lines: list[StatementLine] = Field(default_factory=list)
    balance_due: Money


class Aging(DomainModel):
    """Balance due by age bucket (the rule and its edges: :mod:`medbill_core.services.aging`):
    ``current`` 0-30 days, ``days_30`` 31-60, ``days_60`` 61-90, ``days_90_plus`` over 90."""

    current: Money = ZERO
    days_30: Money = ZERO
    days_60: Money = ZERO
    days_90_plus: Money = ZERO

    @property
    def total(self) -> Money:
        return self.current + self.days_30 + self.days_60 + self.days_90_plus


#: a statement cycle's name (``2026-11``): it begins every statement number of the cycle
STATEMENT_CYCLE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$"


class Statement(DomainModel):
    """A patient statement, ready for a renderer: all amounts come from the ledger.

    It is addressed to ``guarantor`` (``guarantor_name`` is set when that is someone other
    than the patient). A family statement has one section per patient in ``sections``;
    ``lines`` are then all sections' lines and ``patient`` the first section's patient.
    """

    id: int | None = None
    statement_number: str
    practice: Practice
    remit_to: Address | None = None
    patient: Patient
    guarantor_name: str | None = None
    guarantor: Guarantor | None = None
    sections: list[StatementSection] = Field(default_factory=list)
    account_number: str
    statement_date: date
    due_date: date
    cycle: str | None = None
    lines: list[StatementLine] = Field(default_factory=list)
    balance_due: Money
    aging: Aging = Field(default_factory=Aging)
    dunning_stage: int = Field(default=0, ge=0, le=4)
    message: str | None = None
    #: where the guarantor pays online (the pay page's address with the link's code), and
    #: the code as printed for typing from paper; ``None``: no online payment
    pay_url: str | None = None
    pay_code: str | None = None

    @model_validator(mode="after")
    def _balance_matches(self) -> Statement:
        if self.lines and total(line.balance for line in self.lines) != self.balance_due:
            raise ValueError("statement lines' balances do not add up to the balance due")
        return self
