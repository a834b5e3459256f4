"""Practices (tenants): the billing details of the practice a unit of work acts in.

The practice the ``[practice]`` configuration describes (code ``[medbill] practice_code``,
default ``default``) takes its details from the configuration, as a single-practice
installation always did; every other practice keeps them in its row (``practices.details``,
set by ``medbill practices add`` / ``set-details``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from medbill_core.config import MedbillConfig
from medbill_core.domain import Practice
from medbill_core.domain.identity import DEFAULT_PRACTICE_CODE
from medbill_core.errors import ConfigurationError
from medbill_core.storage import tenancy
from medbill_core.storage.schema import PracticeRow

if TYPE_CHECKING:
    from sqlalchemy import Select

    from medbill_core.app import Medbill, UnitOfWork

#: ``session.info`` key: the acting practice's details, read once per session
_PROFILE_KEY = "medbill_practice_profile"


def practice_holding(medbill: Medbill, query: Select[Any]) -> int | None:
    """The practice of a record ``query`` finds across every practice (its
    ``practice_id``): a gateway's webhook, a lender's callback and a pay link's visit come for
    the installation, not for one practice, and are then handled in the one they name."""
    with medbill.unit_of_work(all_practices=True, read_only=True) as work:
        found: int | None = work.session.scalar(query)
    return found


def practice_profile(work: UnitOfWork) -> Practice:
    """The billing provider details of the practice ``work`` acts in.

    :raises ConfigurationError: the practice has no details (or, for the configured practice,
        the configuration has no ``[practice]`` section).
    """
    return profile_of(work.session, work.app.config)


def profile_of(session: Session, config: MedbillConfig) -> Practice:
    cached = session.info.get(_PROFILE_KEY)
    if isinstance(cached, Practice):
        return cached
    profile = _profile(session, config)
    session.info[_PROFILE_KEY] = profile
    return profile


def _profile(session: Session, config: MedbillConfig) -> Practice:
    practice_id = tenancy.scope_of(session)
    if practice_id is None:
        return config.require_practice()
    row = session.get(PracticeRow, practice_id)
    if row is None:  # scoped to a practice that is not a row: cannot happen but by hand
        raise ConfigurationError(f"practice {practice_id} does not exist")
    if row.details is not None:
        return Practice.model_validate(row.details)
    if row.code == (config.practice_code or DEFAULT_PRACTICE_CODE):
        return config.require_practice()
    raise ConfigurationError(f"practice {row.code!r} has no billing details (name, NPI, tax "
                             "id, address): an administrator sets them with 'medbill "
                             "practices set-details'")
