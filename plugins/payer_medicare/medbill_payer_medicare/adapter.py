"""The Medicare payer adapter (identifier ``medicare``).

Medicare's own rules live here: the claim edits (:mod:`.edits`), fee-schedule pricing
(:mod:`.feeschedule`), underpayment checks (:mod:`.underpayment`), Part B benefit reading
(:mod:`.benefits`) and encounter splitting (:mod:`.split`). The X12 work (837P, 270/271, 276/277,
decoding 999/277CA/835) is the generic X12 engine's: this adapter delegates to the adapter with
identifier ``generic_x12`` from the ``payer_generic_x12`` plugin, after making the claims
Medicare's (SBR09 ``MB``, the MBI without dashes).

When no generic X12 adapter is installed, the X12 capabilities are absent, not faked:
``supports_claims()`` and friends answer ``False``, the methods raise
:class:`~medbill_core.errors.AdapterNotAvailable`, and :meth:`decode` declines (``None``).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from medbill_core.adapters import PayerAdapter, SubmissionChannel
from medbill_core.domain import (
    BillableClaim,
    Claim,
    ClaimFinding,
    ClaimPayment,
    ClaimStatusRequest,
    ClaimStatusResponse,
    DecodedResponse,
    EligibilityRequest,
    EligibilityResponse,
    InboundDocument,
    Payer,
    SubmissionFile,
)
from medbill_core.errors import ConfigurationError

from medbill_payer_medicare.benefits import MedicareBenefits, read_medicare_benefits
from medbill_payer_medicare.edits import MEDICARE_FILING_INDICATOR, medicare_claim_edits
from medbill_payer_medicare.feeschedule import FeeSchedule, MedicarePricer
from medbill_payer_medicare.mbi import check_mbi
from medbill_payer_medicare.options import MedicareOptions
from medbill_payer_medicare.split import Encounter, split_encounter
from medbill_payer_medicare.underpayment import find_underpayments

log = logging.getLogger(__name__)

GENERIC_X12_IDENTIFIER = "generic_x12"
#: Modules of the ``payer_generic_x12`` plugin searched for its adapter class.
_GENERIC_MODULES = ("medbill_payer_generic_x12.adapter", "medbill_payer_generic_x12.plugin",
                    "medbill_payer_generic_x12")
_AUTO: Any = object()


def find_generic_x12_adapter() -> PayerAdapter | None:
    """A new instance of the installed generic X12 adapter, or ``None`` when there is none.

    Looks for a :class:`PayerAdapter` subclass whose ``identifier`` is ``generic_x12`` in the
    ``payer_generic_x12`` plugin's modules.
    """
    for name in _GENERIC_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        except Exception as exc:  # a broken plugin must not break the Medicare edits
            log.warning("generic X12 plugin module %s failed to import (%s); Medicare X12 "
                        "capabilities are off", name, type(exc).__name__)
            return None
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, PayerAdapter)
                    and value.identifier == GENERIC_X12_IDENTIFIER):
                return value()
    return None


class MedicareAdapter(PayerAdapter):
    """Medicare Part B (A/B MAC) claims, eligibility and remittance rules.

    :param delegate: the adapter that speaks X12; by default the installed generic X12 adapter
        (found on first use), ``None`` for none.
    :param today: the clock for date-dependent edits (timely filing).
    """

    identifier = "medicare"
    verbose_name = "Medicare Part B (A/B MAC)"
    payer_options_model = MedicareOptions

    def __init__(self, *, delegate: PayerAdapter | None = _AUTO,
                 today: Callable[[], date] = date.today) -> None:
        self._delegate = delegate
        self._today = today

    # -- delegation --------------------------------------------------------------------------
    @property
    def delegate(self) -> PayerAdapter | None:
        """The X12 adapter this one delegates to (``None`` when there is none)."""
        if self._delegate is _AUTO:
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
                "plugin payer_generic_x12), which is not installed or cannot do it")
        return self.delegate

    # -- options -----------------------------------------------------------------------------
    def options_for(self, payer: Payer | None) -> MedicareOptions:
        """The validated options of ``payer`` (defaults when there is no payer)."""
        if payer is None:
            return MedicareOptions()
        return MedicareOptions.model_validate(payer.options)

    def pricer(self, payer: Payer) -> MedicarePricer:
        """A fee-schedule pricer for the payer's configured locality and year.

        The MAC is ``options.mac``, else the payer ID when it is a MAC number of the GPCI file.

        :raises ConfigurationError: no locality configured, or not a known one.
        """
        options = self.options_for(payer)
        if options.locality is None:
            raise ConfigurationError(
                f"[payers.{payer.key}] options: set 'locality' (and 'mac') to price Medicare "
                "services")
        schedule = FeeSchedule.load(options.fee_schedule_year)
        mac = options.mac
        if mac is None and schedule.has_mac(payer.payer_id):
            mac = payer.payer_id
        return MedicarePricer(schedule, schedule.locality(options.locality, mac),
                              participating=options.participating)

    # -- Medicare rules ----------------------------------------------------------------------
    def claim_edits(self, claim: BillableClaim) -> list[ClaimFinding]:
        options = self.options_for(claim.payer)
        return medicare_claim_edits(
            claim, today=self._today(), allow_test_mbis=options.allow_test_mbis,
            timely_filing_warning_days=options.timely_filing_warning_days)

    def underpayments(self, payment: ClaimPayment, payer: Payer, *,
                      claim: Claim | None = None) -> list[ClaimFinding]:
        """Lines of an 835 claim payment allowed below the fee schedule (``medicare.underpaid``)."""
        options = self.options_for(payer)
        return find_underpayments(payment, self.pricer(payer), claim=claim,
                                  tolerance=options.underpayment_tolerance)

    def benefits(self, response: EligibilityResponse,
                 service_type: str | None = None) -> MedicareBenefits:
        """Part B deductible, remaining deductible and coinsurance from a 271."""
        return read_medicare_benefits(response, service_type)

    def split(self, encounter: Encounter) -> list[Claim]:
        """An encounter as 837P-sized claims (<= 50 lines, <= 12 diagnoses each)."""
        return split_encounter(encounter)

    @staticmethod
    def as_medicare(payer: Payer) -> Payer:
        """``payer`` with claim filing indicator ``MB`` (SBR09)."""
        if payer.claim_filing_indicator == MEDICARE_FILING_INDICATOR:
            return payer
        return payer.model_copy(update={"claim_filing_indicator": MEDICARE_FILING_INDICATOR})

    def prepare_claim(self, claim: BillableClaim) -> BillableClaim:
        """A copy of ``claim`` as Medicare gets it: SBR09 ``MB``, the MBI without dashes."""
        update: dict[str, Any] = {}
        if claim.payer is not None:
            update["payer"] = self.as_medicare(claim.payer)
        coverage = claim.coverage
        if coverage is not None:
            verdict = check_mbi(coverage.member_id, allow_test=True)
            if verdict.valid and verdict.normalized != coverage.member_id:
                update["coverage"] = coverage.model_copy(
                    update={"member_id": verdict.normalized})
        return claim.model_copy(update=update) if update else claim

    # -- X12, delegated ----------------------------------------------------------------------
    def encode_claims(self, payer: Payer, claims: Sequence[BillableClaim]) -> list[SubmissionFile]:
        x12 = self._x12("encode claims", self.supports_claims())
        medicare = self.as_medicare(payer)
        return x12.encode_claims(medicare, [self.prepare_claim(claim) for claim in claims])

    def check_eligibility(self, request: EligibilityRequest,
                          channel: SubmissionChannel) -> EligibilityResponse:
        x12 = self._x12("check eligibility", self.supports_eligibility())
        return x12.check_eligibility(request, channel)

    def check_claim_status(self, request: ClaimStatusRequest,
                           channel: SubmissionChannel) -> ClaimStatusResponse:
        x12 = self._x12("check claim status", self.supports_claim_status())
        return x12.check_claim_status(request, channel)

    def decode(self, document: InboundDocument) -> DecodedResponse | None:
        if self.delegate is None:
            return None
        return self.delegate.decode(document)
