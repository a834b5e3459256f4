"""The simulator's configuration: API keys, payers, fee schedules, member roster, faults.

Everything the simulator decides is driven by this model, so a run is reproducible: the same
configuration and the same submissions give the same acknowledgments and the same payments.
A file is TOML or JSON (by extension) holding the fields of :class:`SimulatorConfig`.
All member data is synthetic.
"""

from __future__ import annotations

import json
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from medbill_core.api import ConfigurationError, Money, problems_from


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class ApiKey(_Model):
    """An API key and the account whose submissions and responses it sees."""

    key: str = Field(min_length=8, max_length=200)
    account: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_-]+$")

    @field_validator("key")
    @classmethod
    def _not_retired(cls, value: str) -> str:
        from medbill_clearinghouse_mock.secret import RETIRED_KEYS

        if value in RETIRED_KEYS:
            raise ValueError("the formerly documented test key is never accepted: give a "
                             "secret key, or none (clearinghouse serve generates a key file)")
        return value


class FeeScheduleEntry(_Model):
    """Allowed amount per unit for a procedure code, optionally only with one modifier."""

    code: str = Field(min_length=5, max_length=5)
    modifier: str | None = Field(default=None, min_length=2, max_length=2)
    amount: Money = Field(ge=0)


class DenialRules(_Model):
    """What this payer denies. Codes are procedure codes (CPT/HCPCS)."""

    #: Services the plan does not cover: CO-96 with remark N130.
    non_covered_codes: list[str] = Field(default_factory=list)
    #: Services that need a prior authorization (2300 REF*G1): CO-197 with remark M62.
    prior_auth_codes: list[str] = Field(default_factory=list)
    #: Days from the last date of service to receipt: later is CO-29.
    timely_filing_days: int = Field(default=365, ge=1, le=3650)
    #: An exact repeat of an adjudicated claim (same member, dates, codes, charges): CO-18.
    detect_duplicates: bool = True
    #: A procedure code without a fee schedule entry is an invalid code: CO-181 with M51.
    deny_codes_without_fee: bool = True


class ProviderAdjustmentRule(_Model):
    """A PLB adjustment added to every ``every``-th remittance of the payer.

    A positive amount reduces the payment (a withhold, a recoupment); a negative amount adds to
    it (``L6`` interest). A rule that would make a payment negative is skipped for that run.
    """

    reason_code: str = Field(min_length=2, max_length=2, pattern=r"^[A-Z0-9]{2}$")
    amount: Money
    every: int = Field(default=1, ge=1)
    reference: str | None = Field(default=None, max_length=50)


class PayerAddress(_Model):
    line1: str = "1 Payer Plaza"
    city: str = "Springfield"
    state: str = "IL"
    postal_code: str = "62701"


class PayerPolicy(_Model):
    """One payer behind the clearinghouse."""

    payer_id: str = Field(min_length=2, max_length=80, pattern=r"^[A-Za-z0-9-]+$")
    name: str = Field(min_length=1, max_length=60)
    #: TRN03 of the 835: "1" followed by the payer's EIN.
    tax_id: str = Field(default="999999999", pattern=r"^[0-9]{9}$")
    address: PayerAddress = Field(default_factory=PayerAddress)
    fee_schedule: list[FeeScheduleEntry] = Field(default_factory=list)
    denials: DenialRules = Field(default_factory=DenialRules)
    #: NPIs enrolled with the payer; empty: every NPI with a valid check digit is accepted.
    enrolled_npis: list[str] = Field(default_factory=list)
    #: A claim without a rendering provider (2310B) is rejected (277CA A6:562:82).
    require_rendering_provider: bool = False
    provider_adjustments: list[ProviderAdjustmentRule] = Field(default_factory=list)
    #: Institutional claims: what an inpatient stay with a DRG is allowed (the whole stay),
    #: by MS-DRG; a DRG without a rate, an inpatient claim without a DRG and an outpatient
    #: line without a fee schedule entry are allowed :attr:`percent_of_charges`.
    drg_rates: dict[str, Money] = Field(default_factory=dict)
    percent_of_charges: Decimal = Field(default=Decimal("0.60"), gt=0, le=1)
    #: Members not in the roster are covered with :attr:`default_benefits` (demo convenience).
    accept_unlisted_members: bool = False
    default_benefits: Benefits | None = None

    def fee_for(self, code: str, modifiers: list[str]) -> Decimal | None:
        """Allowed amount per unit: an entry for the code with one of the line's modifiers
        (in the line's modifier order) wins over the entry for the code alone."""
        plain: Decimal | None = None
        by_modifier: dict[str, Decimal] = {}
        for entry in self.fee_schedule:
            if entry.code != code:
                continue
            if entry.modifier is None:
                plain = entry.amount
            else:
                by_modifier[entry.modifier] = entry.amount
        for modifier in modifiers:
            if modifier in by_modifier:
                return by_modifier[modifier]
        return plain


class Benefits(_Model):
    """A member's plan benefits for the year and what has been met so far (at start-up)."""

    plan_name: str = Field(default="PPO", max_length=60)
    deductible: Money = Field(default=Decimal("0"), ge=0)
    deductible_met: Money = Field(default=Decimal("0"), ge=0)
    #: The member's share after the deductible, 0 to 1 (0.20 = 20 %).
    coinsurance: Decimal = Field(default=Decimal("0"), ge=0, le=1)
    #: Copay per place of service code ("11" office, "22" outpatient hospital ...).
    copays: dict[str, Money] = Field(default_factory=dict)
    #: A line that takes the copay is not also subject to deductible and coinsurance.
    copay_waives_deductible: bool = True
    out_of_pocket_max: Money | None = Field(default=None, ge=0)
    out_of_pocket_met: Money = Field(default=Decimal("0"), ge=0)

    @field_validator("coinsurance", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        return Decimal(str(value)) if isinstance(value, float) else value

    @model_validator(mode="after")
    def _met_within_limits(self) -> Benefits:
        if self.deductible_met > self.deductible:
            raise ValueError("deductible_met is larger than the deductible")
        if self.out_of_pocket_max is not None and self.out_of_pocket_met > self.out_of_pocket_max:
            raise ValueError("out_of_pocket_met is larger than out_of_pocket_max")
        return self


PayerPolicy.model_rebuild()


class Member(_Model):
    """A member of a payer's plan (synthetic). Dependents share the subscriber's member ID."""

    payer_id: str
    member_id: str = Field(min_length=2, max_length=80, pattern=r"^[A-Za-z0-9-]+$")
    last_name: str = Field(min_length=1, max_length=60)
    first_name: str = Field(min_length=1, max_length=35)
    birth_date: date | None = None
    sex: Literal["F", "M", "U"] = "U"
    group_number: str | None = None
    plan_begin: date | None = None
    plan_end: date | None = None
    benefits: Benefits = Field(default_factory=Benefits)

    def active_on(self, day: date) -> bool:
        if self.plan_begin and day < self.plan_begin:
            return False
        return not (self.plan_end and day > self.plan_end)


Endpoint = Literal["submit", "responses", "ack", "eligibility", "claim_status", "any"]
FaultKind = Literal["latency", "status", "drop", "timeout", "duplicate", "reorder", "republish"]


class FaultRule(_Model):
    """A fault the simulator injects by itself (see the README's *Fault injection*).

    Which requests: every request to ``endpoint`` unless ``first`` (the first N requests),
    ``every`` (every Nth request) or ``probability`` (seeded, so reproducible) narrows it.
    """

    endpoint: Endpoint = "any"
    kind: FaultKind
    status: int = Field(default=503, ge=500, le=599)
    seconds: float = Field(default=0.0, ge=0, le=120)
    phase: Literal["before", "after"] = "before"
    first: int | None = Field(default=None, ge=1)
    every: int | None = Field(default=None, ge=1)
    probability: float | None = Field(default=None, ge=0, le=1)


class SimulatorConfig(_Model):
    """The whole simulator configuration."""

    clearinghouse_id: str = Field(default="MOCKCH", min_length=2, max_length=15,
                                  pattern=r"^[A-Za-z0-9]+$")
    clearinghouse_name: str = "MEDBILL MOCK CLEARINGHOUSE"
    #: Test mode: responses carry ISA15 = T and fault injection (headers, /v1/test) is allowed.
    test_mode: bool = True
    #: Keys and their accounts. None by default: ``clearinghouse serve`` adds the key of the
    #: installation's key file (see :mod:`medbill_clearinghouse_mock.secret`), and tests pass
    #: their own. Without a key every request but ``/v1/health`` is 401.
    api_keys: list[ApiKey] = Field(default_factory=list)
    payers: list[PayerPolicy] = Field(default_factory=list)
    members: list[Member] = Field(default_factory=list)
    faults: list[FaultRule] = Field(default_factory=list)
    seed: int = 0
    #: The simulator's business date (receipt, adjudication, payment); ``None`` = today.
    today: date | None = None
    #: 835s are produced when the feed is read, for claims adjudicated at least this long ago;
    #: ``None``: only ``POST /v1/payment-runs`` produces them.
    remit_delay_seconds: float | None = Field(default=0.0, ge=0)
    #: Check diagnoses against medbill's packaged ICD-10-CM code set (277CA A7:254/255).
    check_diagnoses_with_codesets: bool = True
    #: Diagnosis codes always rejected as invalid (works without code-set data).
    invalid_diagnoses: list[str] = Field(default_factory=list)
    #: An interchange control number seen before from the same sender: TA1 note code 025.
    reject_duplicate_interchanges: bool = True
    max_body_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    max_page_size: int = Field(default=100, ge=1, le=10000)
    #: An 835 pays at most this many claims: a payment run splits a larger group (one account,
    #: payer and payee) into several, as payers split theirs, so no document (nor what reads
    #: it) grows with the number of claims.
    max_claims_per_remittance: int = Field(default=1000, ge=1)

    @model_validator(mode="after")
    def _unique(self) -> SimulatorConfig:
        keys = [k.key for k in self.api_keys]
        if len(set(keys)) != len(keys):
            raise ValueError("api_keys repeat")
        payer_ids = [p.payer_id for p in self.payers]
        if len(set(payer_ids)) != len(payer_ids):
            raise ValueError("payer_id repeats in payers")
        known = set(payer_ids)
        seen: set[tuple[str, str]] = set()
        for member in self.members:
            if member.payer_id not in known:
                raise ValueError(f"member of unknown payer {member.payer_id!r}")
            key = (member.payer_id, member.member_id)
            if key in seen:
                raise ValueError(f"member ID repeats for payer {member.payer_id!r}")
            seen.add(key)
        return self

    def payer(self, payer_id: str) -> PayerPolicy | None:
        for payer in self.payers:
            if payer.payer_id == payer_id:
                return payer
        return None

    def member(self, payer_id: str, member_id: str) -> Member | None:
        for member in self.members:
            if member.payer_id == payer_id and member.member_id == member_id:
                return member
        return None

    def with_key(self, key: str, account: str = "medbill") -> SimulatorConfig:
        """A copy that also accepts ``key`` (for ``account``); unchanged if it already does."""
        if self.account_for(key) is not None:
            return self
        return self.model_validate({**self.model_dump(), "api_keys": [
            *[k.model_dump() for k in self.api_keys], {"key": key, "account": account}]})

    def account_for(self, key: str) -> str | None:
        for api_key in self.api_keys:
            if api_key.key == key:
                return api_key.account
        return None


def load_simulator_config(path: str | Path | None) -> SimulatorConfig:
    """Read a TOML or JSON file; ``None`` gives :func:`default_config`.

    :raises ConfigurationError: unreadable file or invalid fields (named, values not echoed).
    """
    if path is None:
        return default_config()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"{file}: cannot be read ({exc.strerror})") from None
    try:
        raw = json.loads(text) if file.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"{file}: not valid {file.suffix.lstrip('.') or 'TOML'} "
                                 f"({type(exc).__name__})") from None
    try:
        return SimulatorConfig.model_validate(raw)
    except ValidationError as exc:
        detail = "; ".join(f"{field}: {reason}" for field, reason in problems_from(exc))
        raise ConfigurationError(f"{file}: {detail}") from None


def _fees(*entries: tuple[str, str | None, str]) -> list[FeeScheduleEntry]:
    return [FeeScheduleEntry(code=code, modifier=modifier, amount=Decimal(amount))
            for code, modifier, amount in entries]


#: A small fee schedule shared by the default payers (amounts per unit, made up but plausible).
COMMON_FEES = (
    ("99202", None, "75.00"), ("99203", None, "110.00"), ("99204", None, "165.00"),
    ("99212", None, "55.00"), ("99213", None, "90.00"), ("99214", None, "128.00"),
    ("99215", None, "180.00"), ("99396", None, "150.00"), ("36415", None, "3.00"),
    ("80053", None, "11.00"), ("85025", None, "8.00"), ("81002", None, "3.50"),
    ("93000", None, "17.00"), ("71046", None, "30.00"), ("97110", None, "29.00"),
    ("97110", "GP", "29.00"), ("20610", None, "60.00"), ("J1100", None, "1.20"),
    ("90471", None, "20.00"), ("90686", None, "19.00"), ("G0439", None, "120.00"),
    ("73721", None, "210.00"), ("99213", "25", "90.00"),
)


#: MS-DRG rates of the default payers (made up): appendectomy, pneumonia, chest pain.
_DRG_RATES = {"343": Decimal("9500.00"), "195": Decimal("5200.00"), "313": Decimal("3900.00")}


def default_config() -> SimulatorConfig:
    """A ready-to-run configuration: the three payers of medbill's test fixtures (``ACME1``,
    ``04412`` Medicare Part B, ``BCBS1``) and a few synthetic members. ``accept_unlisted_members``
    is on, so any member ID is covered with the payer's default benefits, except IDs starting
    with ``UNKNOWN`` (to exercise the unknown-member rejection)."""
    commercial = Benefits(plan_name="PPO GOLD", deductible=Decimal("500.00"),
                          deductible_met=Decimal("0.00"), coinsurance=Decimal("0.20"),
                          copays={"11": Decimal("25.00")}, out_of_pocket_max=Decimal("3000.00"))
    medicare = Benefits(plan_name="MEDICARE PART B", deductible=Decimal("240.00"),
                        deductible_met=Decimal("0.00"), coinsurance=Decimal("0.20"))
    payers = [
        PayerPolicy(payer_id="ACME1", name="ACME HEALTH PLAN", tax_id="111111111",
                    fee_schedule=_fees(*COMMON_FEES), drg_rates=_DRG_RATES,
                    denials=DenialRules(non_covered_codes=["97110"],
                                        prior_auth_codes=["73721"], timely_filing_days=180),
                    provider_adjustments=[ProviderAdjustmentRule(reason_code="L6",
                                                                 amount=Decimal("-1.25"),
                                                                 every=2)],
                    accept_unlisted_members=True, default_benefits=commercial),
        PayerPolicy(payer_id="04412", name="MEDICARE PART B", tax_id="222222222",
                    fee_schedule=_fees(*[(c, m, str((Decimal(a) * Decimal("0.85")).quantize(
                        Decimal("0.01")))) for c, m, a in COMMON_FEES]),
                    denials=DenialRules(non_covered_codes=["99396"], timely_filing_days=365),
                    accept_unlisted_members=True, default_benefits=medicare),
        PayerPolicy(payer_id="BCBS1", name="BLUE CROSS", tax_id="333333333",
                    fee_schedule=_fees(*[(c, m, str((Decimal(a) * Decimal("1.10")).quantize(
                        Decimal("0.01")))) for c, m, a in COMMON_FEES]),
                    denials=DenialRules(prior_auth_codes=["73721", "20610"],
                                        timely_filing_days=180),
                    provider_adjustments=[ProviderAdjustmentRule(reason_code="WO",
                                                                 amount=Decimal("5.00"),
                                                                 every=3, reference="RECOUP1")],
                    accept_unlisted_members=True,
                    default_benefits=Benefits(plan_name="BLUE PPO", deductible=Decimal("250.00"),
                                              coinsurance=Decimal("0.10"),
                                              copays={"11": Decimal("30.00")},
                                              out_of_pocket_max=Decimal("2000.00"))),
    ]
    members = [
        Member(payer_id="ACME1", member_id="XYZ123456789", last_name="TESTPATIENT1",
               first_name="JORDAN", birth_date=date(1980, 1, 2), sex="F", group_number="GRP001",
               plan_begin=date(2020, 1, 1), benefits=commercial),
    ]
    return SimulatorConfig(payers=payers, members=members)
