"""Options of a payer served by the Medicare adapter (``[payers.<key>.options]`` in medbill.toml).

Example::

    [payers.medicare-tx]
    payer_id = "04412"             # what the clearinghouse routes on (often the MAC number)
    name = "Medicare Part B Texas"
    adapter = "medicare"
    claim_filing_indicator = "MB"

    [payers.medicare-tx.options]
    jurisdiction = "JH"            # MAC jurisdiction (informational; shown in listings)
    mac = "04412"                  # MAC carrier number of the fee-schedule locality
    locality = "18"                # MPFS locality number within that MAC
    fee_schedule_year = 2025

    [payers.medicare-tx.options.x12]   # handed to the generic X12 adapter (its options model)
    submitter_id = "SUB123"
    receiver_id = "CLEARINGHOUSE"
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class MedicareOptions(BaseModel):
    """Companion-guide and pricing settings for one Medicare payer.

    :ivar jurisdiction: the A/B MAC jurisdiction (``JE``, ``JH``, ``J15``...), informational.
    :ivar mac: the MAC carrier number (5 digits) of the payment locality, as in the CMS GPCI
        file. When omitted, the payer's ``payer_id`` is used if it is a MAC number of the file.
    :ivar locality: the MPFS locality number (2 digits) within that MAC. Needed for pricing.
    :ivar fee_schedule_year: which Medicare Physician Fee Schedule year to price with.
    :ivar participating: the provider accepts assignment as a participating provider; a
        non-participating provider's fee schedule amount is 95% of the participating one.
    :ivar underpayment_tolerance: an allowed amount this much below expected is not flagged.
    :ivar timely_filing_warning_days: warn this many days before the 12-month limit.
    :ivar allow_test_mbis: accept synthetic MBIs with ``S`` in position 2 (test systems only).
    :ivar x12: the options of the generic X12 adapter that writes and reads this payer's X12
        (submitter and receiver IDs...); validated by that adapter. Needed to submit claims,
        not for edits and pricing.
    """

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    jurisdiction: str | None = Field(default=None, pattern=r"^J[A-Z0-9]{1,2}$")
    mac: str | None = Field(default=None, pattern=r"^[0-9]{5}$")
    locality: str | None = Field(default=None, pattern=r"^[0-9]{1,2}$")
    fee_schedule_year: int = 2025
    participating: bool = True
    underpayment_tolerance: Decimal = Field(default=Decimal("0.00"), ge=0)
    timely_filing_warning_days: int = Field(default=30, ge=0, le=365)
    allow_test_mbis: bool = False
    x12: dict[str, Any] = Field(default_factory=dict)

    @field_validator("locality")
    @classmethod
    def _two_digits(cls, value: str | None) -> str | None:
        return value.zfill(2) if value is not None else None

    @field_validator("fee_schedule_year")
    @classmethod
    def _known_year(cls, value: int) -> int:
        from medbill_payer_medicare.feeschedule import available_years

        years = available_years()
        if value not in years:
            raise ValueError(
                "no Medicare Physician Fee Schedule release for that year (available: "
                + ", ".join(str(y) for y in years) + ")")
        return value

    @field_validator("jurisdiction", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _known_locality(self) -> MedicareOptions:
        if self.locality is None:
            return self
        from medbill_core.api import ConfigurationError
        from medbill_payer_medicare.feeschedule import FeeSchedule, locality_of

        schedule = FeeSchedule.load(self.fee_schedule_year)
        if self.mac is not None and not schedule.has_mac(self.mac):
            raise ValueError(f"MAC {self.mac} is not in the {self.fee_schedule_year} GPCI file")
        if self.mac is not None:
            try:
                locality_of(schedule, self.locality, self.mac)
            except ConfigurationError as exc:
                raise ValueError(exc.message) from None
        return self
