"""The demo's patient credit (issue 18): the account owing least on the collections list pays
its balance and fifteen dollars more at the front desk (kept as a credit, as the clerk chose), and
the billing office refunds the credit by check, recorded in the check register; the refund is
in the month's books."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from medbill_core.app import Medbill
from medbill_core.domain import Payment, PaymentMethodKind
from medbill_core.services.patient_credits import refund_patient_credit
from medbill_core.services.payments import (
    Overpayment,
    record_guarantor_payment,
    record_payment,
)
from medbill_core.services.statements import collections_worklist

OVERPAID = Decimal("15.00")
CHECK_NUMBER = "100001"


class Report(Protocol):
    figures: dict[str, Any]

    def done(self, step: str, detail: str) -> None: ...


def refund_a_credit(app: Medbill, report: Report) -> dict[str, Any]:
    """Overpay one account and refund the credit by check; what was refunded."""
    with app.unit_of_work() as work:
        owing = collections_worklist(work)
        if not owing:
            report.done("credit refunded", "no account owes a balance")
            return {}
        # the smallest balance: an everyday overpayment (the hospital's large inpatient
        # balance stays the patient's, as its own step leaves it)
        account = min(owing, key=lambda item: (item.balance, item.patient_id))
        payment = Payment(patient_id=account.patient_id, amount=account.balance + OVERPAID,
                          method=PaymentMethodKind.CHECK, reference="CHK 5521",
                          received_on=date.today())
        if account.guarantor_id is not None:  # the family's credit lands on its first patient
            record_guarantor_payment(work, account.guarantor_id, payment,
                                     overpayment=Overpayment.CREDIT)
        else:
            record_payment(work, payment, overpayment=Overpayment.CREDIT)
    with app.unit_of_work() as work:
        check = refund_patient_credit(work, account.patient_id, OVERPAID,
                                      "demo: paid more than the balance at the front desk",
                                      check_number=CHECK_NUMBER,
                                      payee_reference=account.account_number)
    figures = {"account": account.account_number, "refunded": str(check.amount),
               "check": check.check_number, "status": check.status.value}
    report.figures["credit_refund"] = figures
    report.done("credit refunded",
                f"{account.account_number} paid {OVERPAID} more than it owed: refund check "
                f"{check.check_number} for {check.amount} in the check register")
    return figures
