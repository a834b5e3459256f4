"""The Medicare payer adapter (identifier ``medicare``).

Medicare's own rules live here: the claim edits (:mod:`.edits`), fee-schedule pricing
(:mod:`.feeschedule`), underpayment checks (:mod:`.underpayment`), Part B benefit reading
(:mod:`.benefits`) and encounter splitting (:mod:`.split`).

The X12 work (837P, 270/271, 276/277, decoding 999/277CA/271/277/835) is the generic X12
engine's: this adapter delegates to the adapter with identifier ``generic_x12`` (plugin
``payer_generic_x12``). It hands that adapter the payer with

* the options of ``[payers.<key>.options.x12]`` (the generic adapter's own options model:
  submitter and receiver IDs...), and
* claim filing indicator ``MB`` (SBR09), whatever the configuration says,

and claims whose member ID is the MBI without dashes. In a running instance the delegate is the
registered ``generic_x12`` adapter (with its persistent control numbers); used as a library, a new
instance of the installed generic adapter.

When there is no generic X12 adapter the X12 capabilities are absent, not faked:
``supports_claims()`` and friends answer ``False``, the methods raise
:class:`~medbill_core.errors.AdapterNotAvailable`, and :meth:`decode` declines (``None``).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from medbill_core.api import (
    BenefitSummary,
    BillableClaim,
    Claim,
    ClaimFinding,
    ClaimPayment,
    ClaimStatusRequest,
    ClaimStatusResponse,
    ConfigurationError,
    DecodedResponse,
    EligibilityRequest,
    EligibilityResponse,
    InboundDocument,
    MedbillError,
    Payer,
    PayerAdapter,
    RemittanceParts,
    Severity,
    SubmissionChannel,
    SubmissionError,
    SubmissionFile,
    problems_from,
)
from medbill_payer_medicare.benefits import (
    MedicareBenefits,
    read_medicare_benefits,
    standard_part_b,
)
from medbill_payer_medicare.edits import (
    MEDICARE_FILING_INDICATOR,
    finding,
    medicare_claim_edits,
)
from medbill_payer_medicare.feeschedule import (
    FeeSchedule,
    MedicarePricer,
    NotPriced,
    locality_of,
)
from medbill_payer_medicare.mbi import check_mbi
from medbill_payer_medicare.options import MedicareOptions
from medbill_payer_medicare.split import Encounter, split_encounter
from medbill_payer_medicare.underpayment import find_underpayments

if TYPE_CHECKING:
    from medbill_core.api import PluginContext

log = logging.getLogger(__name__)

GENERIC_X12_IDENTIFIER = "generic_x12"
_AUTO: Any = object()


def find_generic_x12_adapter() -> PayerAdapter | None:
    """A new instance of the installed generic X12 adapter, or ``None`` when there is none.

    The adapter class comes from the engine's public API (:mod:`medbill_payer_generic_x12.api`).
    """
    try:
        from medbill_payer_generic_x12.api import GenericX12Adapter
    except ModuleNotFoundError:
        return None
    except Exception as exc:  # a broken plugin must not break the Medicare edits
        log.warning("the generic X12 plugin failed to import (%s); Medicare X12 capabilities "
                    "are off", type(exc).__name__)
        return None
    return GenericX12Adapter()


class MedicareAdapter(PayerAdapter):
    """Medicare Part B (A/B MAC) claims, eligibility and remittance rules.

    :param delegate: the adapter that speaks X12. By default: the ``generic_x12`` adapter
        registered in ``context`` when a context is given, else a new instance of the
        installed generic X12 adapter; ``None`` for none.
    :param context: the running instance's plugin context (the plugin passes it).
    :param today: the clock for date-dependent edits (timely filing).
    """

    identifier = "medicare"
    verbose_name = "Medicare Part B (A/B MAC)"
    payer_options_model = MedicareOptions

    def __init__(self, *, delegate: PayerAdapter | None = _AUTO,
                 context: PluginContext | None = None,
                 today: Callable[[], date] = date.today) -> None:
        self._delegate = delegate
        self._context = context
        self._today = today
        #: payer key -> (a copy of the options validated, what they validated to): an 835's
        #: every Medicare claim payment asks for them, and validating the same table again
        #: cost more than the fee-schedule look-ups it served
        self._options: dict[str, tuple[dict[str, Any], MedicareOptions]] = {}

    # -- delegation --------------------------------------------------------------------------
    @property
    def delegate(self) -> PayerAdapter | None:
        """The X12 adapter this one delegates to (``None`` when there is none)."""
        if self._delegate is not _AUTO:
            return self._delegate
        if self._context is not None:
            found = self._context.adapters.get(GENERIC_X12_IDENTIFIER)
            if found is not None:
                self._delegate = found
            return found
        self._delegate = find_generic_x12_adapter()
        return self._delegate

    def supports_claims(self) -> bool:
        return self.delegate is not None and self.delegate.supports_claims()

    def supports_eligibility(self) -> bool:
        return self.delegate is not None and self.delegate.supports_eligibility()

    def supports_claim_status(self) -> bool:
        return self.delegate is not None and self.delegate.supports_claim_status()

    def _x12(self, what: str, available: bool) -> PayerAdapter:
        if not available or self.delegate is None:
            raise self._unsupported(
                f"{what}: that needs the generic X12 adapter ({GENERIC_X12_IDENTIFIER!r}, "
                "plugin payer_generic_x12), which is not enabled or cannot do it")
        return self.delegate

    # -- options -----------------------------------------------------------------------------
    def options_for(self, payer: Payer | None) -> MedicareOptions:
        """The validated options of ``payer`` (defaults when there is no payer). Validated
        once per payer and options table (the same object is returned while they are equal:
        read it, do not change it)."""
        if payer is None:
            return MedicareOptions()
        known = self._options.get(payer.key)
        if known is not None and known[0] == payer.options:
            return known[1]
        options = MedicareOptions.model_validate(payer.options)
        self._options[payer.key] = (copy.deepcopy(payer.options), options)
        return options

    def validate_payer_options(self, payer: Payer) -> BaseModel | None:
        """Validate the Medicare options, and the ``x12`` table with the X12 adapter's model."""
        options = self.options_for(payer)
        delegate = self.delegate
        if options.x12 and delegate is not None:
            delegate.validate_payer_options(self._x12_payer_unchecked(payer, options))
        return options

    def _x12_payer_unchecked(self, payer: Payer, options: MedicareOptions) -> Payer:
        x12 = dict(options.x12)
        if "claim_filing_indicator" in x12:
            x12["claim_filing_indicator"] = MEDICARE_FILING_INDICATOR
        return payer.model_copy(update={"options": x12,
                                        "claim_filing_indicator": MEDICARE_FILING_INDICATOR})

    def x12_payer(self, payer: Payer) -> Payer:
        """``payer`` as the X12 adapter gets it: its ``x12`` options, SBR09 ``MB``.

        :raises SubmissionError: the ``x12`` table is missing or invalid for the X12 adapter.
        """
        x12_payer = self._x12_payer_unchecked(payer, self.options_for(payer))
        delegate = self.delegate
        if delegate is not None:
            try:
                delegate.validate_payer_options(x12_payer)
            except ValidationError as exc:
                detail = "; ".join(f"{field}: {reason}" for field, reason in problems_from(exc))
                raise SubmissionError(
                    f"[payers.{payer.key}.options.x12] (options of the generic X12 adapter): "
                    f"{detail}") from None
        return x12_payer

    def pricer(self, payer: Payer, *, year: int | None = None,
               on: date | None = None) -> MedicarePricer:
        """A fee-schedule pricer for the payer's configured locality.

        The MAC is ``options.mac``, else the payer ID when it is a MAC number of the GPCI file.
        The release is the newest of ``year`` when given (or of ``options.fee_schedule_year``
        when the payer's options set it, or when there is no date), else the release governing
        date of service ``on`` -- the nearest one, with a note, when none governs it.

        :raises ConfigurationError: no locality configured, or not a known one.
        """
        options = self.options_for(payer)
        if options.locality is None:
            raise ConfigurationError(
                f"[payers.{payer.key}] options: set 'locality' (and 'mac') to price Medicare "
                "services")
        if year is None and ("fee_schedule_year" in options.model_fields_set or on is None):
            year = options.fee_schedule_year
        if year is not None:
            schedule = FeeSchedule.load(year)
            release, covered, note = schedule.label, True, ""
        else:
            assert on is not None
            chosen = FeeSchedule.for_date(on)
            schedule, release = chosen.schedule, chosen.release.label
            covered, note = chosen.covered, chosen.missing
        mac = options.mac
        if mac is None and schedule.has_mac(payer.payer_id):
            mac = payer.payer_id
        return MedicarePricer(schedule, locality_of(schedule, options.locality, mac),
                              participating=options.participating, release=release,
                              release_covered=covered, release_note=note)

    @staticmethod
    def _priceable(pricer: MedicarePricer, on: date) -> bool:
        """Whether ``pricer``'s release may price date ``on``: the release governing it, or
        -- past the newest release -- the nearest one of the same calendar year (GPCIs and
        the conversion factor are annual; another year's would be a guess, not a price)."""
        return pricer.release_covered or pricer.schedule.year == on.year

    # -- Medicare rules ----------------------------------------------------------------------
    def claim_edits(self, claim: BillableClaim) -> list[ClaimFinding]:
        """The Medicare edits, then the X12 adapter's edits on the claim as it would be sent."""
        options = self.options_for(claim.payer)
        findings = medicare_claim_edits(
            claim, today=self._today(), allow_test_mbis=options.allow_test_mbis,
            timely_filing_warning_days=options.timely_filing_warning_days)
        delegate = self.delegate
        if delegate is None or claim.payer is None:
            return findings
        try:
            x12_payer = self.x12_payer(claim.payer)
        except SubmissionError as exc:
            findings.append(finding(
                claim, Severity.ERROR, "medicare.x12_options",
                f"the 837P cannot be written: {exc.message}", field="payer.options.x12",
                hint=f"add [payers.{claim.payer.key}.options.x12] with the clearinghouse's "
                     "submitter and receiver IDs"))
            return findings
        findings.extend(delegate.claim_edits(self.prepare_claim(claim, x12_payer)))
        return findings

    def expected_allowed(self, payer: Payer, procedure_code: str, modifiers: Sequence[str],
                         place_of_service: str, service_date: date) -> Decimal | None:
        """The MPFS amount for one unit, or ``None`` when it cannot be known.

        The release is the one governing ``service_date`` (or the newest of
        ``options.fee_schedule_year`` when the payer's options set it). Past the newest
        release the nearest one of the same year prices it (``medbill codes status`` names
        the missing release); ``None`` for another year, a payer without a locality (or one
        not in the release's GPCI file), or a service the MPFS does not price (see
        :class:`NotPriced`). Payment-modifier reductions (51, 50, 80...) are not applied.
        """
        options = self.options_for(payer)
        if options.locality is None:
            return None
        try:
            pricer = self.pricer(payer, on=service_date)
            if not self._priceable(pricer, service_date):
                return None
            return pricer.price(procedure_code, place_of_service,
                                modifiers=modifiers).unit_amount
        except (NotPriced, ConfigurationError):
            return None

    def remittance_findings(self, payment: ClaimPayment, payer: Payer,
                            claim: Claim | None) -> list[ClaimFinding]:
        """Underpayments against the Medicare Physician Fee Schedule, found while posting."""
        try:
            return self.underpayments(payment, payer, claim=claim)
        except MedbillError:
            return []  # no pricing for this payer (locality not configured): nothing to flag

    def underpayments(self, payment: ClaimPayment, payer: Payer, *,
                      claim: Claim | None = None) -> list[ClaimFinding]:
        """Lines of an 835 claim payment allowed below the fee schedule (``medicare.underpaid``).

        The release is the one governing the claim's date of service (as for estimates), so
        an 835 for a 2026 visit is checked against the 2026 MPFS. Past the newest release the
        nearest one of the same year is used and every finding says its expected amount is an
        estimate from that release and names the release to load; for another year nothing
        is checked.
        """
        options = self.options_for(payer)
        on = _service_date(payment, claim)
        pricer = self.pricer(payer, on=on)
        if on is not None and not self._priceable(pricer, on):
            return []
        return find_underpayments(payment, pricer, claim=claim,
                                  tolerance=options.underpayment_tolerance)

    def assumed_benefits(self, payer: Payer, service_date: date) -> BenefitSummary | None:
        """Original Medicare Part B's published benefit for the year (deductible unmet, 20%)."""
        return standard_part_b(service_date)

    def benefits(self, response: EligibilityResponse,
                 service_type: str | None = None) -> MedicareBenefits:
        """Part B deductible, remaining deductible and coinsurance from a 271."""
        return read_medicare_benefits(response, service_type)

    def split(self, encounter: Encounter) -> list[Claim]:
        """An encounter as 837P-sized claims (<= 50 lines, <= 12 diagnoses each)."""
        return split_encounter(encounter)

    def prepare_claim(self, claim: BillableClaim, payer: Payer | None = None) -> BillableClaim:
        """A copy of ``claim`` as Medicare gets it: the member ID as an MBI without dashes, and
        the payer replaced by ``payer`` (default: the claim's own with SBR09 ``MB``)."""
        update: dict[str, Any] = {}
        if claim.payer is not None:
            update["payer"] = payer or claim.payer.model_copy(
                update={"claim_filing_indicator": MEDICARE_FILING_INDICATOR})
        if claim.coverage is not None:
            verdict = check_mbi(claim.coverage.member_id, allow_test=True)
            if verdict.valid and verdict.normalized != claim.coverage.member_id:
                update["coverage"] = claim.coverage.model_copy(
                    update={"member_id": verdict.normalized})
        return claim.model_copy(update=update) if update else claim

    # -- X12, delegated ----------------------------------------------------------------------
    def encode_claims(self, payer: Payer, claims: Sequence[BillableClaim]) -> list[SubmissionFile]:
        """837P files written by the generic X12 adapter, with SBR09 ``MB``.

        :raises AdapterNotAvailable: no generic X12 adapter.
        :raises SubmissionError: the payer's ``x12`` options are missing or invalid.
        """
        x12 = self._x12("encode claims", self.supports_claims())
        x12_payer = self.x12_payer(payer)
        prepared = [self.prepare_claim(claim, x12_payer if claim.payer is not None
                                       and claim.payer.key == payer.key else None)
                    for claim in claims]
        return x12.encode_claims(x12_payer, prepared)

    def check_eligibility(self, request: EligibilityRequest,
                          channel: SubmissionChannel) -> EligibilityResponse:
        """A 270/271 exchange through the generic X12 adapter (HETS-style)."""
        x12 = self._x12("check eligibility", self.supports_eligibility())
        return x12.check_eligibility(self._x12_request(request), channel)

    def check_eligibility_many(self, requests: Sequence[EligibilityRequest],
                               channel: SubmissionChannel) -> dict[str, EligibilityResponse]:
        """One 270/271 exchange for all the requests, through the generic X12 adapter."""
        x12 = self._x12("check eligibility", self.supports_eligibility())
        return x12.check_eligibility_many([self._x12_request(r) for r in requests], channel)

    def _x12_request(self, request: EligibilityRequest) -> EligibilityRequest:
        update: dict[str, Any] = {"payer": self.x12_payer(request.payer)}
        verdict = check_mbi(request.coverage.member_id, allow_test=True)
        if verdict.valid and verdict.normalized != request.coverage.member_id:
            update["coverage"] = request.coverage.model_copy(
                update={"member_id": verdict.normalized})
        return request.model_copy(update=update)

    def check_claim_status(self, request: ClaimStatusRequest,
                           channel: SubmissionChannel) -> ClaimStatusResponse:
        """A 276/277 exchange through the generic X12 adapter."""
        x12 = self._x12("check claim status", self.supports_claim_status())
        claim = request.claim
        payer = self.x12_payer(claim.payer) if claim.payer is not None else None
        return x12.check_claim_status(
            request.model_copy(update={"claim": self.prepare_claim(claim, payer)}), channel)

    def decode(self, document: InboundDocument
               ) -> DecodedResponse | list[DecodedResponse] | None:
        """The generic X12 adapter's decoding (``None`` without one)."""
        if self.delegate is None:
            return None
        return self.delegate.decode(document)

    def stream_remittances(self, document: InboundDocument) -> Iterator[RemittanceParts] | None:
        """The generic X12 adapter's streaming of an 835 (``None`` without one)."""
        if self.delegate is None:
            return None
        return self.delegate.stream_remittances(document)


def _service_date(payment: ClaimPayment, claim: Claim | None) -> date | None:
    """The first date of service an 835 claim payment (else its claim) states."""
    dates = [s.service_date_from for s in payment.services if s.service_date_from is not None]
    if dates:
        return min(dates)
    if claim is not None:
        return claim.service_date_from
    return None
