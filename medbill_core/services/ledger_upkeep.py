"""Upkeep of what the ledger keeps beside its entries: the balances per account
(:mod:`medbill_core.ledger_balances`), checked against the entries and rebuilt from them.

The ledger writes those rows with its entries, in one transaction, so they only go wrong
when something wrote entries beside it: a restore of part of the tables, a bulk load by
hand, a tool editing the database. ``medbill db check-balances`` says so (the A/R aging
reads them), and ``--repair`` computes them from the entries again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from medbill_core import audit, ledger_balances
from medbill_core.app import UnitOfWork
from medbill_core.permissions import Action


@dataclass
class BalanceCheck:
    """What the check found (at most ``limit`` accounts), and what a repair wrote."""

    problems: list[str] = field(default_factory=list)
    #: the rows the repair wrote (None: nothing was repaired)
    rebuilt_rows: int | None = None

    @property
    def consistent(self) -> bool:
        """The rows kept match the entries now (none differed, or they were rebuilt)."""
        return not self.problems or self.rebuilt_rows is not None

    def as_json(self) -> dict[str, Any]:
        return {"consistent": self.consistent, "problems": self.problems,
                "rebuilt_rows": self.rebuilt_rows}


def check_balances(work: UnitOfWork, *, repair: bool = False, limit: int = 100) -> BalanceCheck:
    """Compare the balances kept per account with the entries' sums, in the unit of work's
    practice; ``repair``: when any differ, compute every row of the practice again (an
    administrator's action, audited)."""
    work.require(Action.PRACTICES_MANAGE if repair else Action.REPORTS_READ)
    result = BalanceCheck(ledger_balances.mismatches(work.session, limit=limit))
    if repair and result.problems:
        result.rebuilt_rows = ledger_balances.rebuild(work.session)
        audit.record(work.session, actor=work.actor, action="ledger.balances_rebuilt",
                     entity_type="ledger", entity_id=0,
                     details={"differing": len(result.problems),
                              "rows": result.rebuilt_rows})
    return result
