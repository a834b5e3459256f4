"""medbill plugin ``payer_medicare``: Medicare Part B rules and the Medicare payer adapter.

* :mod:`.mbi`: Medicare Beneficiary Identifier format validation;
* :mod:`.edits`: Medicare claim edits (MBI, subscriber, SBR09, timely filing, ABN modifiers,
  referring provider);
* :mod:`.split`: split encounters into 837P-sized claims (50 lines, 12 diagnoses);
* :mod:`.feeschedule`: Medicare Physician Fee Schedule pricing (RVU x GPCI x CF);
* :mod:`.underpayment`: 835 lines allowed below the fee schedule;
* :mod:`.benefits`: Part B deductible and coinsurance from a 271;
* :mod:`.adapter`: :class:`MedicareAdapter` (identifier ``medicare``).
"""

from medbill_payer_medicare.adapter import MedicareAdapter
from medbill_payer_medicare.benefits import MedicareBenefits, read_medicare_benefits
from medbill_payer_medicare.edits import medicare_claim_edits
from medbill_payer_medicare.feeschedule import (
    FeeSchedule,
    FeeScheduleAmount,
    MedicarePricer,
    NotPriced,
    is_facility,
)
from medbill_payer_medicare.mbi import MBIVerdict, check_mbi, is_valid_mbi, normalize_mbi
from medbill_payer_medicare.options import MedicareOptions
from medbill_payer_medicare.split import Encounter, EncounterLine, split_encounter
from medbill_payer_medicare.underpayment import find_underpayments

__all__ = [
    "Encounter", "EncounterLine", "FeeSchedule", "FeeScheduleAmount", "MBIVerdict",
    "MedicareAdapter", "MedicareBenefits", "MedicareOptions", "MedicarePricer", "NotPriced",
    "check_mbi", "find_underpayments", "is_facility", "is_valid_mbi", "medicare_claim_edits",
    "normalize_mbi", "read_medicare_benefits", "split_encounter",
]
