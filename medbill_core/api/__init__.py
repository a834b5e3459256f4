"""The public plugin API of medbill: the one module a plugin imports from the core.

Everything a payer adapter, submission channel, statement or claim form renderer needs at run
time is here: the hook marker and API version (:data:`hookimpl`, :data:`API_VERSION`), the
base classes (:class:`PayerAdapter`, :class:`SubmissionChannel`, :class:`StatementRenderer`,
:class:`ClaimFormRenderer`, :class:`RemittanceParts`), what a hook is given
(:class:`PluginContext`, :class:`MedbillConfig`, :class:`Transition`), the domain types
plugins receive and return, the error hierarchy (:class:`MedbillError` and its subclasses),
money helpers (``Decimal``, never float), private-file helpers (files holding PHI are created
``0600``), the reference data plugins price and explain with (code sets, the Medicare
physician fee schedule), and the core's cost estimator (:func:`estimate_costs`: benefits
applied to planned services, no database), and :func:`verify_signature`, which checks the
signature of a webhook delivery (for a receiver written in Python). Since 1.4 the payment
gateway base class (:class:`PaymentGateway`) and what a gateway answers with; since 1.5 the
notifier (:class:`Notifier`) and patient financing provider (:class:`FinancingProvider`)
base classes and what they answer with.

Companion modules: :mod:`medbill_core.api.cli` (for plugins that add commands) and
:mod:`medbill_core.api.testing` (the test kit: contract suites, factories, a started
plugin facade).

**Stability.** The names in ``__all__`` of these three modules are the plugin API, versioned
by :data:`API_VERSION` (``MAJOR.MINOR``). Within a major version a name is never removed and
never changes meaning; a minor version only adds. A name that is renamed or retired keeps
working, with a ``DeprecationWarning``, for at least one minor version before the next major
version removes it.

**Everything else in** ``medbill_core`` **is internal**: modules, functions and attributes not
re-exported here may change in any release. Plugins under ``plugins/`` are held to this by
the import contract (``.importlinter``, run by ``make lint`` and ``tests/test_public_api.py``).

Importing this module is cheap: each name is imported from its home module when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from medbill_core.api._lazy import homes_by_name, lazy_attributes

if TYPE_CHECKING:  # what type checkers and editors see; at run time _EXPORTS is read
    from medbill_core.adapters import (
        ClaimFormRenderer,
        PayerAdapter,
        RemittanceParts,
        StatementRenderer,
        SubmissionChannel,
    )
    from medbill_core.codesets import (
        CodeInfo,
        CodeSetError,
        CodeSets,
        CodeSystem,
        Reason,
        Verdict,
        default_codesets,
    )
    from medbill_core.codesets.explain import percent
    from medbill_core.codesets.mpfs import (
        FeeScheduleData,
        Locality,
        MpfsSchedule,
        OppsCapAmount,
        RVURow,
    )
    from medbill_core.codesets.mpfs import (
        available_years as mpfs_available_years,
    )
    from medbill_core.codesets.mpfs import (
        schedule_for as mpfs_schedule_for,
    )
    from medbill_core.codesets.mpfs import (
        schedule_for_year as mpfs_schedule_for_year,
    )
    from medbill_core.config import MedbillConfig
    from medbill_core.domain import (
        AckStatus,
        Address,
        Adjustment,
        AdjustmentGroup,
        Aging,
        Benefit,
        BenefitKind,
        BenefitSummary,
        BillableClaim,
        Claim,
        ClaimAcknowledgment,
        ClaimAcknowledgmentBatch,
        ClaimAckStatus,
        ClaimAdjustmentRef,
        ClaimFinding,
        ClaimFrequency,
        ClaimKind,
        ClaimPayment,
        ClaimState,
        ClaimStatus,
        ClaimStatusCode,
        ClaimStatusInquiry,
        ClaimStatusInquiryLine,
        ClaimStatusRequest,
        ClaimStatusResponse,
        CommunicationNumber,
        CommunicationQualifier,
        Coverage,
        CoverageLevel,
        CoverageOrder,
        CoverageStatus,
        DecodedClaim,
        DecodedClaimFile,
        DecodedResponse,
        DocumentKind,
        DomainModel,
        EligibilityInquiry,
        EligibilityIssue,
        EligibilityRequest,
        EligibilityResponse,
        EntityType,
        FunctionalAcknowledgment,
        Guarantor,
        GuarantorRelationship,
        ICD10PCSCode,
        InboundDocument,
        InpatientAdjudication,
        InquiryParty,
        InquiryPerson,
        Installment,
        InstitutionalDetails,
        InstitutionalProcedure,
        InterchangeAcknowledgment,
        Network,
        NUBCCode,
        Occurrence,
        OccurrenceSpan,
        OutpatientAdjudication,
        OweReason,
        Patient,
        Payer,
        PayerContactFunction,
        PayerContactInfo,
        PayerProgram,
        Payment,
        PaymentMethod,
        PaymentMethodKind,
        PaymentPlan,
        PlanFrequency,
        Practice,
        PresentOnAdmission,
        PriorLineAdjudication,
        PriorPayerAdjudication,
        Provider,
        ProviderAdjustment,
        Relationship,
        Remittance,
        RenderedDocument,
        RevenueCode,
        SegmentError,
        ServiceLine,
        ServicePayment,
        Severity,
        Sex,
        Statement,
        StatementLine,
        StatementSection,
        StatusCode,
        SubmissionFile,
        SubmissionReceipt,
        Subscriber,
        TransactionSetAck,
        UnitType,
        ValueAmount,
        phi_fields,
        validate_record,
    )
    from medbill_core.domain.base import phi_field, problems_from
    from medbill_core.domain.claim import (
        MAX_DIAGNOSES,
        MAX_DIAGNOSIS_POINTERS,
        MAX_LINES,
        MAX_MODIFIERS,
    )
    from medbill_core.domain.claim_forms import ClaimFormLayout, RenderedClaimForm
    from medbill_core.domain.eligibility import REMAINING_PERIOD
    from medbill_core.domain.estimate import CostEstimate, EstimatedService, PlannedService
    from medbill_core.domain.findings import PaymentFinding
    from medbill_core.domain.identifiers import (
        EIN,
        NPI,
        ICD10Code,
        Modifier,
        PhoneNumber,
        PlaceOfService,
        ProcedureCode,
        StateCode,
        TaxonomyCode,
        ZipCode,
        is_valid_npi,
        normalize_icd10,
        npi_with_check_digit,
    )
    from medbill_core.errors import (
        AdapterNotAvailable,
        ConfigurationError,
        DecodeError,
        DuplicatePosting,
        IllegalTransition,
        LedgerError,
        MedbillError,
        NotFound,
        PluginError,
        SubmissionError,
        UnknownPayer,
        ValidationFailed,
    )
    from medbill_core.financing_providers import (
        FinancingDecision,
        FinancingError,
        FinancingProvider,
        FinancingRequest,
        FinancingStatus,
    )
    from medbill_core.gateways import (
        GatewayCapability,
        GatewayError,
        GatewayEvent,
        GatewayEventType,
        GatewayPayment,
        GatewayPaymentStatus,
        GatewayRefund,
        GatewayRefundStatus,
        PaymentGateway,
        PaymentRequest,
        WebhookRefused,
        verify_hmac_header,
    )
    from medbill_core.hookspecs import (
        API_VERSION,
        PROJECT_NAME,
        HookDeprecationWarning,
        hookimpl,
    )
    from medbill_core.lifecycle import Transition
    from medbill_core.money import (
        CENT,
        ZERO,
        Money,
        parse_amount,
        parse_plain_number,
        to_money,
        total,
    )
    from medbill_core.notifiers import (
        NotificationChannel,
        Notifier,
        NotifierError,
        OutgoingMessage,
        SentMessage,
    )
    from medbill_core.pluginctx import PluginContext
    from medbill_core.privatefiles import (
        PRIVATE_DIR_MODE,
        PRIVATE_FILE_MODE,
        create_private,
        create_secret_file,
        private_dir,
        write_private,
    )
    from medbill_core.services.estimates import estimate as estimate_costs
    from medbill_core.services.webhook_signing import verify_signature

#: Each public name by its home module (``"attribute as name"`` renames).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "medbill_core.hookspecs": (
        "API_VERSION", "PROJECT_NAME", "HookDeprecationWarning", "hookimpl",
    ),
    "medbill_core.adapters": (
        "PayerAdapter", "RemittanceParts", "StatementRenderer", "SubmissionChannel",
        # 1.3
        "ClaimFormRenderer",
    ),
    "medbill_core.pluginctx": (
        "PluginContext",
    ),
    "medbill_core.config": (
        "MedbillConfig",
    ),
    "medbill_core.lifecycle": (
        "Transition",
    ),
    "medbill_core.domain": (
        "AckStatus", "Address", "Adjustment", "AdjustmentGroup", "Aging", "Benefit", "BenefitKind",
        "BenefitSummary", "BillableClaim", "Claim", "ClaimAckStatus", "ClaimAcknowledgment",
        "ClaimAcknowledgmentBatch", "ClaimAdjustmentRef", "ClaimFinding", "ClaimFrequency",
        "ClaimPayment", "ClaimState", "ClaimStatus", "ClaimStatusCode", "ClaimStatusInquiry",
        "ClaimStatusInquiryLine", "ClaimStatusRequest",
        "ClaimStatusResponse", "CommunicationNumber", "CommunicationQualifier", "Coverage",
        "CoverageLevel", "CoverageOrder", "CoverageStatus", "DecodedClaim", "DecodedClaimFile",
        "DecodedResponse", "DocumentKind", "DomainModel", "EligibilityInquiry",
        "EligibilityIssue", "EligibilityRequest", "EligibilityResponse",
        "EntityType", "FunctionalAcknowledgment", "Guarantor", "GuarantorRelationship",
        "InboundDocument", "InquiryParty", "InquiryPerson", "Installment",
        "InterchangeAcknowledgment", "Network", "OweReason",
        "Patient", "Payer", "PayerContactFunction", "PayerContactInfo", "PayerProgram", "Payment",
        "PaymentMethod",
        "PaymentMethodKind", "PaymentPlan", "PlanFrequency", "Practice", "PriorLineAdjudication",
        "PriorPayerAdjudication", "Provider", "ProviderAdjustment", "Relationship", "Remittance",
        "RenderedDocument", "SegmentError", "ServiceLine", "ServicePayment", "Severity", "Sex",
        "Statement", "StatementLine", "StatementSection", "StatusCode", "SubmissionFile",
        "SubmissionReceipt", "Subscriber", "TransactionSetAck", "UnitType", "phi_fields",
        "validate_record",
        # 1.3: institutional claims
        "ClaimKind", "ICD10PCSCode", "InstitutionalDetails", "InstitutionalProcedure",
        "NUBCCode", "Occurrence", "OccurrenceSpan", "PresentOnAdmission", "RevenueCode",
        "ValueAmount",
        # 1.3: institutional remittances (835 MIA / MOA)
        "InpatientAdjudication", "OutpatientAdjudication",
    ),
    "medbill_core.domain.base": (
        "phi_field", "problems_from",
    ),
    "medbill_core.domain.claim": (
        "MAX_DIAGNOSES", "MAX_DIAGNOSIS_POINTERS", "MAX_LINES", "MAX_MODIFIERS",
    ),
    "medbill_core.domain.eligibility": (
        "REMAINING_PERIOD",
    ),
    "medbill_core.domain.claim_forms": (
        "ClaimFormLayout", "RenderedClaimForm",
    ),
    "medbill_core.domain.estimate": (
        "CostEstimate", "EstimatedService", "PlannedService",
    ),
    "medbill_core.domain.findings": (
        "PaymentFinding",
    ),
    "medbill_core.domain.identifiers": (
        "EIN", "ICD10Code", "NPI", "Modifier", "PhoneNumber", "PlaceOfService", "ProcedureCode",
        "StateCode", "TaxonomyCode", "ZipCode", "is_valid_npi", "normalize_icd10",
        "npi_with_check_digit",
    ),
    "medbill_core.errors": (
        "AdapterNotAvailable", "ConfigurationError", "DecodeError", "DuplicatePosting",
        "IllegalTransition", "LedgerError", "MedbillError", "NotFound", "PluginError",
        "SubmissionError", "UnknownPayer", "ValidationFailed",
    ),
    "medbill_core.money": (
        "CENT", "ZERO", "Money", "parse_amount", "parse_plain_number", "to_money", "total",
    ),
    "medbill_core.privatefiles": (
        "PRIVATE_DIR_MODE", "PRIVATE_FILE_MODE", "create_private", "create_secret_file",
        "private_dir", "write_private",
    ),
    "medbill_core.codesets": (
        "CodeInfo", "CodeSetError", "CodeSets", "CodeSystem", "Reason", "Verdict",
        "default_codesets",
    ),
    "medbill_core.codesets.mpfs": (
        "FeeScheduleData", "Locality", "MpfsSchedule", "OppsCapAmount", "RVURow",
        "available_years as mpfs_available_years", "schedule_for as mpfs_schedule_for",
        "schedule_for_year as mpfs_schedule_for_year",
    ),
    "medbill_core.codesets.explain": (
        "percent",
    ),
    "medbill_core.services.estimates": (
        "estimate as estimate_costs",
    ),
    "medbill_core.services.webhook_signing": (
        "verify_signature",
    ),
    # 1.4
    "medbill_core.gateways": (
        "GatewayCapability", "GatewayError", "GatewayEvent", "GatewayEventType",
        "GatewayPayment", "GatewayPaymentStatus", "GatewayRefund", "GatewayRefundStatus",
        "PaymentGateway", "PaymentRequest", "WebhookRefused", "verify_hmac_header",
    ),
    # 1.5
    "medbill_core.notifiers": (
        "NotificationChannel", "Notifier", "NotifierError", "OutgoingMessage", "SentMessage",
    ),
    "medbill_core.financing_providers": (
        "FinancingDecision", "FinancingError", "FinancingProvider", "FinancingRequest",
        "FinancingStatus",
    ),
}

__all__ = [
    "API_VERSION",
    "CENT",
    "EIN",
    "MAX_DIAGNOSES",
    "MAX_DIAGNOSIS_POINTERS",
    "MAX_LINES",
    "MAX_MODIFIERS",
    "NPI",
    "PRIVATE_DIR_MODE",
    "PRIVATE_FILE_MODE",
    "PROJECT_NAME",
    "REMAINING_PERIOD",
    "ZERO",
    "AckStatus",
    "AdapterNotAvailable",
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
    "ClaimFormLayout",
    "ClaimFormRenderer",
    "ClaimFrequency",
    "ClaimKind",
    "ClaimPayment",
    "ClaimState",
    "ClaimStatus",
    "ClaimStatusCode",
    "ClaimStatusInquiry",
    "ClaimStatusInquiryLine",
    "ClaimStatusRequest",
    "ClaimStatusResponse",
    "CodeInfo",
    "CodeSetError",
    "CodeSets",
    "CodeSystem",
    "CommunicationNumber",
    "CommunicationQualifier",
    "ConfigurationError",
    "CostEstimate",
    "Coverage",
    "CoverageLevel",
    "CoverageOrder",
    "CoverageStatus",
    "DecodeError",
    "DecodedClaim",
    "DecodedClaimFile",
    "DecodedResponse",
    "DocumentKind",
    "DomainModel",
    "DuplicatePosting",
    "EligibilityInquiry",
    "EligibilityIssue",
    "EligibilityRequest",
    "EligibilityResponse",
    "EntityType",
    "EstimatedService",
    "FeeScheduleData",
    "FinancingDecision",
    "FinancingError",
    "FinancingProvider",
    "FinancingRequest",
    "FinancingStatus",
    "FunctionalAcknowledgment",
    "GatewayCapability",
    "GatewayError",
    "GatewayEvent",
    "GatewayEventType",
    "GatewayPayment",
    "GatewayPaymentStatus",
    "GatewayRefund",
    "GatewayRefundStatus",
    "Guarantor",
    "GuarantorRelationship",
    "HookDeprecationWarning",
    "ICD10Code",
    "ICD10PCSCode",
    "IllegalTransition",
    "InboundDocument",
    "InpatientAdjudication",
    "InquiryParty",
    "InquiryPerson",
    "Installment",
    "InstitutionalDetails",
    "InstitutionalProcedure",
    "InterchangeAcknowledgment",
    "LedgerError",
    "Locality",
    "MedbillConfig",
    "MedbillError",
    "Modifier",
    "Money",
    "MpfsSchedule",
    "NUBCCode",
    "Network",
    "NotFound",
    "NotificationChannel",
    "Notifier",
    "NotifierError",
    "Occurrence",
    "OccurrenceSpan",
    "OppsCapAmount",
    "OutgoingMessage",
    "OutpatientAdjudication",
    "OweReason",
    "Patient",
    "Payer",
    "PayerAdapter",
    "PayerContactFunction",
    "PayerContactInfo",
    "PayerProgram",
    "Payment",
    "PaymentFinding",
    "PaymentGateway",
    "PaymentMethod",
    "PaymentMethodKind",
    "PaymentPlan",
    "PaymentRequest",
    "PhoneNumber",
    "PlaceOfService",
    "PlanFrequency",
    "PlannedService",
    "PluginContext",
    "PluginError",
    "Practice",
    "PresentOnAdmission",
    "PriorLineAdjudication",
    "PriorPayerAdjudication",
    "ProcedureCode",
    "Provider",
    "ProviderAdjustment",
    "RVURow",
    "Reason",
    "Relationship",
    "Remittance",
    "RemittanceParts",
    "RenderedClaimForm",
    "RenderedDocument",
    "RevenueCode",
    "SegmentError",
    "SentMessage",
    "ServiceLine",
    "ServicePayment",
    "Severity",
    "Sex",
    "StateCode",
    "Statement",
    "StatementLine",
    "StatementRenderer",
    "StatementSection",
    "StatusCode",
    "SubmissionChannel",
    "SubmissionError",
    "SubmissionFile",
    "SubmissionReceipt",
    "Subscriber",
    "TaxonomyCode",
    "TransactionSetAck",
    "Transition",
    "UnitType",
    "UnknownPayer",
    "ValidationFailed",
    "ValueAmount",
    "Verdict",
    "WebhookRefused",
    "ZipCode",
    "create_private",
    "create_secret_file",
    "default_codesets",
    "estimate_costs",
    "hookimpl",
    "is_valid_npi",
    "mpfs_available_years",
    "mpfs_schedule_for",
    "mpfs_schedule_for_year",
    "normalize_icd10",
    "npi_with_check_digit",
    "parse_amount",
    "parse_plain_number",
    "percent",
    "phi_field",
    "phi_fields",
    "private_dir",
    "problems_from",
    "to_money",
    "total",
    "validate_record",
    "verify_hmac_header",
    "verify_signature",
    "write_private",
]

if not TYPE_CHECKING:  # type checkers see the imports above: a misspelt name fails there
    __getattr__, __dir__ = lazy_attributes(globals(), homes_by_name(_EXPORTS))
