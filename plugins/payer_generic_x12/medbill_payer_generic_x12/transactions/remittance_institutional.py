"""The institutional parts of an 835 (005010X221A1): MIA (inpatient adjudication), the
amounts of MOA (outpatient adjudication) and the DRG of CLP11, read and written for
:mod:`.remittance_835`.

==========================  ===================================================
MIA01, 02, 03, 04, 06,      InpatientAdjudication covered days, PPS operating outlier,
08, 18                      lifetime psychiatric days, DRG amount, disproportionate share,
                            PPS capital, indirect teaching
MIA05, MIA20-23             ClaimPayment.remark_codes
MOA01, 02, 08, 09           OutpatientAdjudication reimbursement rate, HCPCS payable, ESRD
                            payment, non-payable professional component
MOA03-07                    ClaimPayment.remark_codes
CLP11                       ClaimPayment.drg_code
SVC04                       ServicePayment.revenue_code
==========================  ===================================================

Other MIA amounts (MSP pass-through, the PPS capital and operating DRG breakdowns, cost
report days, capital exception) are not kept.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError

from medbill_core.api import ClaimPayment, InpatientAdjudication, OutpatientAdjudication
from medbill_payer_generic_x12.x12.errors import (
    X12EncodeError,
    X12Error,
    X12StructureError,
    X12ValueError,
)
from medbill_payer_generic_x12.x12.reader import Segment
from medbill_payer_generic_x12.x12.values import format_decimal, format_money
from medbill_payer_generic_x12.x12.writer import TransactionWriter

#: MIA position -> InpatientAdjudication field (money unless named in _MIA_COUNTS)
_MIA_FIELDS = {1: "covered_days", 2: "pps_operating_outlier_amount",
               3: "lifetime_psychiatric_days", 4: "drg_amount",
               6: "disproportionate_share_amount", 8: "pps_capital_amount",
               18: "indirect_teaching_amount"}
_MIA_COUNTS = frozenset({1, 3})
_MIA_REMARKS = (5, 20, 21, 22, 23)
#: MOA position -> OutpatientAdjudication field (MOA01 is a rate, the others money)
_MOA_FIELDS = {1: "reimbursement_rate", 2: "hcpcs_payable_amount", 8: "esrd_payment_amount",
               9: "nonpayable_professional_amount"}
_MOA_REMARKS = (3, 4, 5, 6, 7)
Adjudication = TypeVar("Adjudication", InpatientAdjudication, OutpatientAdjudication)

class Values(Protocol):
    """The 835 decoder's element readers (strict or lenient as it was asked, positioned)."""

    def opt_money(self, segment: Segment, position: int, what: str) -> Decimal | None: ...

    def opt_decimal(self, segment: Segment, position: int, what: str) -> Decimal | None: ...

    def fail(self, cls: type[X12Error], expected: str, segment: Segment,
             element: int | None = None, code: str | None = None) -> X12Error: ...


def _element(segment: Segment, position: int, field: str) -> str:
    """How errors name an element: "MIA01 covered days"."""
    return f"{segment[0]}{position:02d} {field.replace('_', ' ')}"


def _read(values: Values, segment: Segment, fields: dict[int, str],
          counts: frozenset[int]) -> dict[str, Any]:
    read: dict[str, Any] = {}
    for position, name in fields.items():
        what = _element(segment, position, name)
        reader = values.opt_decimal if position in counts else values.opt_money
        read[name] = reader(segment, position, what)
    return read


def read_mia(segment: Segment, claim: dict[str, Any], values: Values) -> None:
    """MIA into ``claim`` (the decoder's CLP dict): ``inpatient`` and remark codes.

    :raises X12Error: MIA01 missing, or an amount that is not a number (positioned).
    """
    read = _read(values, segment, _MIA_FIELDS, _MIA_COUNTS)
    if read["covered_days"] is None:
        raise values.fail(X12StructureError, "MIA01 covered days or visits count (required)",
                          segment, 1, "1")
    claim["inpatient"] = _validated(InpatientAdjudication, read, segment, _MIA_FIELDS, values)
    claim["remark_codes"] += _remarks(segment, _MIA_REMARKS)


def read_moa(segment: Segment, claim: dict[str, Any], values: Values) -> None:
    """MOA into ``claim``: ``outpatient`` (when it has an amount) and remark codes."""
    read = _read(values, segment, _MOA_FIELDS, frozenset({1}))
    if any(value is not None for value in read.values()):
        claim["outpatient"] = _validated(OutpatientAdjudication, read, segment, _MOA_FIELDS,
                                         values)
    claim["remark_codes"] += _remarks(segment, _MOA_REMARKS)


def _validated(model: type[Adjudication], read: dict[str, Any], segment: Segment,
               fields: dict[int, str], values: Values) -> Adjudication:
    """``read`` as ``model``; a number the model refuses (a negative count of covered days,
    more decimals than it keeps) an error positioned at its element, not an exception from
    the model.

    :raises X12ValueError: the value of the element the model names (no input in the text).
    """
    try:
        return model.model_validate(read)
    except ValidationError as exc:
        problem = exc.errors(include_input=False)[0]
        field = str(problem["loc"][0]) if problem["loc"] else ""
        position = next((p for p, name in fields.items() if name == field), None)
        name = _element(segment, position, field) if position else segment[0]
        raise values.fail(X12ValueError, f"{name}: {problem['msg'].lower()}", segment,
                          position, "6") from None


def _remarks(segment: Segment, positions: tuple[int, ...]) -> list[str]:
    return [segment[p].strip() for p in positions if len(segment) > p and segment[p].strip()]


def clp_drg(segment: Segment) -> str | None:
    """CLP11, the DRG code, when given."""
    return segment[11].strip() or None if len(segment) > 11 else None


def write_adjudication(w: TransactionWriter, claim: ClaimPayment) -> None:
    """MIA or MOA for ``claim``: MIA when it has an inpatient adjudication (its remark codes go
    in MIA05 and MIA20-23), else MOA when it has outpatient amounts or remark codes."""
    remarks = list(claim.remark_codes)
    inpatient = claim.inpatient
    if inpatient is not None:
        if len(remarks) > len(_MIA_REMARKS):
            raise X12EncodeError("at most 5 claim remark codes (MIA05, MIA20-MIA23)",
                                 segment_id="MIA", claim_number=claim.claim_number)
        elements: list[str | None] = [None] * 24
        for position, name in _MIA_FIELDS.items():
            value = getattr(inpatient, name)
            if value is not None:
                elements[position - 1] = (format_decimal(value) if position in _MIA_COUNTS
                                          else format_money(value))
        for position, code in zip(_MIA_REMARKS, remarks, strict=False):
            elements[position - 1] = code
        w.add("MIA", *_trimmed(elements))
        return
    outpatient = claim.outpatient
    if outpatient is None and not remarks:
        return
    if len(remarks) > len(_MOA_REMARKS):
        raise X12EncodeError("at most 5 claim remark codes (MOA03-MOA07)", segment_id="MOA",
                             claim_number=claim.claim_number)
    elements = [None] * 9
    if outpatient is not None:
        for position, name in _MOA_FIELDS.items():
            value = getattr(outpatient, name)
            if value is not None:
                elements[position - 1] = (format_decimal(value) if position == 1
                                          else format_money(value))
    for position, code in zip(_MOA_REMARKS, remarks, strict=False):
        elements[position - 1] = code
    w.add("MOA", *_trimmed(elements))


def _trimmed(elements: list[str | None]) -> list[str | None]:
    while elements and elements[-1] is None:
        elements.pop()
    return elements


__all__ = ["X12Error", "clp_drg", "read_mia", "read_moa", "write_adjudication"]
