"""The demo's financial assistance (issue 18): one family owing a balance after the month's
patient payments applies for the sliding fee discount, hands in its income documents and is
approved by the billing office; the discount is written off their patient balance and the
decision letter is written into ``assistance/`` (owner-only: it names the guarantor)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from medbill_core.app import Medbill
from medbill_core.privatefiles import private_dir, publish_after
from medbill_core.services import financial_assistance
from medbill_core.services.assistance_letters import decision_letter
from medbill_core.services.statements import collections_worklist

FOLDER = "assistance"
#: a household of four living on $40,000 a year: 121% of the 2026 guideline for the 48
#: states ($33,000), the default schedule's "above 100% to 150%" tier (75% off)
HOUSEHOLD_SIZE = 4
ANNUAL_INCOME = Decimal("40000.00")
STATE = "IL"


class Report(Protocol):
    figures: dict[str, Any]

    def done(self, step: str, detail: str) -> None: ...


def grant_assistance(app: Medbill, out: Path, report: Report) -> dict[str, Any]:
    """Approve one family's application; what it discounted."""
    folder = private_dir(out / FOLDER)
    today = date.today()
    with publish_after() as files, app.unit_of_work() as work:
        families = [item for item in collections_worklist(work)
                    if item.guarantor_id is not None]
        if not families:
            report.done("financial assistance", "no family owes a balance")
            return {}
        family = families[-1]  # the last on the list: the payments step paid the first five
        assert family.guarantor_id is not None
        application = financial_assistance.apply(
            work, family.guarantor_id, household_size=HOUSEHOLD_SIZE,
            annual_income=ANNUAL_INCOME, state=STATE, applied_on=today)
        financial_assistance.record_documents(work, application.id)
        # back-dated over the demo's month of visits, as an office does for the bills a
        # family came in with
        approved, discount = financial_assistance.approve(
            work, application.id, effective_from=today - timedelta(days=120),
            reason="demo: income documents seen")
        letter = files.write(folder / f"letter-{approved.id}.txt",
                             decision_letter(work, approved.id))
    figures = {"application": approved.id,
               "percent_of_guideline": str(approved.percent_of_guideline),
               "tier": approved.tier.label, "discount": str(discount.total),
               "claims": len(discount.posted), "letter": str(letter.relative_to(out))}
    report.figures["financial_assistance"] = figures
    report.done("financial assistance",
                f"application {approved.id}: {approved.percent_of_guideline}% of the "
                f"{approved.guideline_year} guideline, {approved.tier.label}; "
                f"{discount.total} written off over {len(discount.posted)} claim(s); "
                f"letter into {FOLDER}/")
    return figures
