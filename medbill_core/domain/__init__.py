"""medbill's domain model: pydantic v2 objects, separate from persistence.

Plugins receive and return these; they never see ORM rows or sessions.
Money fields are :class:`decimal.Decimal`; PHI fields are marked (see
:func:`medbill_core.domain.base.phi_fields`).
"""

from medbill_core.domain.accounts import (
    Aging,
    Installment,
    OweReason,
    Payment,
    PaymentMethodKind,
    PaymentPlan,
    PlanFrequency,
    Statement,
    StatementLine,
    StatementSection,
)
from medbill_core.domain.acknowledgment import (
    AckStatus,
    ClaimAcknowledgment,
    ClaimAcknowledgmentBatch,
    ClaimAckStatus,
    FunctionalAcknowledgment,
    InterchangeAcknowledgment,
    SegmentError,
    StatusCode,
    TransactionSetAck,
)
from medbill_core.domain.base import DomainModel, phi_fields, validate_record
from medbill_core.domain.claim import (
    BillableClaim,
    Claim,
    ClaimAdjustmentRef,
    ClaimFrequency,
    ClaimState,
    PriorLineAdjudication,
    PriorPayerAdjudication,
    ServiceLine,
    UnitType,
)
from medbill_core.domain.claim_intake import DecodedClaim, DecodedClaimFile
from medbill_core.domain.claim_status import ClaimStatus, ClaimStatusRequest, ClaimStatusResponse
from medbill_core.domain.coverage import Coverage, CoverageOrder, Relationship, Subscriber
from medbill_core.domain.documents import (
    DocumentKind,
    InboundDocument,
    RenderedDocument,
    SubmissionFile,
    SubmissionReceipt,
)
from medbill_core.domain.eligibility import (
    Benefit,
    BenefitKind,
    BenefitSummary,
    CoverageLevel,
    CoverageStatus,
    EligibilityIssue,
    EligibilityRequest,
    EligibilityResponse,
    Network,
)
from medbill_core.domain.findings import ClaimFinding, Severity
from medbill_core.domain.institutional import (
    ClaimKind,
    ICD10PCSCode,
    InstitutionalDetails,
    InstitutionalProcedure,
    NUBCCode,
    Occurrence,
    OccurrenceSpan,
    PresentOnAdmission,
    RevenueCode,
    ValueAmount,
)
from medbill_core.domain.parties import (
    Address,
    EntityType,
    Guarantor,
    GuarantorRelationship,
    Patient,
    Payer,
    PayerProgram,
    Practice,
    Provider,
    Sex,
)
from medbill_core.domain.remittance import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimStatusCode,
    CommunicationNumber,
    CommunicationQualifier,
    PayerContactFunction,
    PayerContactInfo,
    PaymentMethod,
    ProviderAdjustment,
    Remittance,
    ServicePayment,
)

#: Everything a payer adapter's decoder may return.
DecodedResponse = (
    InterchangeAcknowledgment
    | FunctionalAcknowledgment
    | ClaimAcknowledgmentBatch
    | EligibilityResponse
    | ClaimStatusResponse
    | Remittance
)

__all__ = [
    "AckStatus",
    "Address",
    "Adjustment",
    "AdjustmentGroup",
    "Aging",
    "Benefit",
    "BenefitKind",
    "BenefitSummary",
    "BillableClaim",
    "Claim",
    "ClaimAckStatus",
    "ClaimAcknowledgment",
    "ClaimAcknowledgmentBatch",
    "ClaimAdjustmentRef",
    "ClaimFinding",
    "ClaimFrequency",
    "ClaimKind",
    "ClaimPayment",
    "ClaimState",
    "ClaimStatus",
    "ClaimStatusCode",
    "ClaimStatusRequest",
    "ClaimStatusResponse",
    "CommunicationNumber",
    "CommunicationQualifier",
    "Coverage",
    "CoverageLevel",
    "CoverageOrder",
    "CoverageStatus",
    "DecodedClaim",
    "DecodedClaimFile",
    "DecodedResponse",
    "DocumentKind",
    "DomainModel",
    "EligibilityIssue",
    "EligibilityRequest",
    "EligibilityResponse",
    "EntityType",
    "FunctionalAcknowledgment",
    "Guarantor",
    "GuarantorRelationship",
    "ICD10PCSCode",
    "InboundDocument",
    "Installment",
    "InstitutionalDetails",
    "InstitutionalProcedure",
    "InterchangeAcknowledgment",
    "NUBCCode",
    "Network",
    "Occurrence",
    "OccurrenceSpan",
    "OweReason",
    "Patient",
    "Payer",
    "PayerContactFunction",
    "PayerContactInfo",
    "PayerProgram",
    "Payment",
    "PaymentMethod",
    "PaymentMethodKind",
    "PaymentPlan",
    "PlanFrequency",
    "Practice",
    "PresentOnAdmission",
    "PriorLineAdjudication",
    "PriorPayerAdjudication",
    "Provider",
    "ProviderAdjustment",
    "Relationship",
    "Remittance",
    "RenderedDocument",
    "RevenueCode",
    "SegmentError",
    "ServiceLine",
    "ServicePayment",
    "Severity",
    "Sex",
    "Statement",
    "StatementLine",
    "StatementSection",
    "StatusCode",
    "SubmissionFile",
    "SubmissionReceipt",
    "Subscriber",
    "TransactionSetAck",
    "UnitType",
    "ValueAmount",
    "phi_fields",
    "validate_record",
]
