"""Domain records from received X12 that keep a value breaking a business rule as it was sent.

medbill's domain models refuse, say, an NPI whose check digit is wrong. A billing company that
receives its clients' 837s still has to read such a claim (and tell the client what to fix), so
the decoder validates the record with the offending text values set aside, then puts the values
back as sent, and reports each one as a :class:`~medbill_payer_generic_x12.x12.findings.Finding`.

Only text fields are kept this way, and only for a rule about the text's form (a check digit,
a pattern, a length): their type stays ``str``, so nothing downstream meets a value of another
type. Anything else (a code an enumeration lacks, a required record missing, a rule between
fields) cannot be kept without inventing data: the record is left out, with its findings.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from medbill_payer_generic_x12.x12.findings import Finding

_Model = TypeVar("_Model", bound=BaseModel)
#: A pydantic error location (``("claim", "diagnoses", 0)``) -> (segment index, segment ID,
#: element) in the document.
Locator = Callable[[tuple[str | int, ...]], tuple[int | None, str | None, int | None]]

#: Rules about a text's form (pydantic error types) whose value can be kept as sent.
_FORM_RULES = frozenset({"value_error", "string_too_long", "string_too_short",
                         "string_pattern_mismatch"})
#: Stand-ins that satisfy each text field's rule while the rest of the record is validated;
#: never left in a record (the value as sent replaces them).
_STAND_INS: dict[str, str] = {
    "npi": "1234567893", "billing_provider_npi": "1234567893",
    "rendering_provider_npi": "1234567893", "referring_provider_npi": "1234567893",
    "tax_id": "123456789", "taxonomy": "207Q00000X", "postal_code": "00000", "state": "ZZ",
    "city": "ZZ", "line1": "ZZ", "line2": "ZZ", "name": "ZZ", "last_name": "ZZ",
    "first_name": "ZZ", "middle_name": "ZZ", "phone": "5555550100", "contact_name": "ZZ",
    "member_id": "ZZ", "group_number": "ZZ", "group_name": "ZZ", "place_of_service": "11",
    "procedure_code": "99213", "modifiers": "25", "claim_number": "ZZ", "account_number": "ZZ",
    "original_claim_reference": "ZZ", "prior_authorization": "ZZ", "line_control_number": "ZZ",
    # the 837I's institutional details and lines
    "attending_provider_npi": "1234567893", "operating_provider_npi": "1234567893",
    "other_operating_provider_npi": "1234567893", "admitting_diagnosis": "R69",
    "reason_for_visit": "R69", "external_causes": "W199XXA", "revenue_code": "0450",
    "admission_type": "9", "admission_source": "9", "patient_status": "01", "drg": "000",
    "condition_codes": "ZZ", "code": "ZZ",
}
#: ``code`` of an ICD-10-PCS procedure (elsewhere ``code`` is a NUBC code: ``ZZ`` above)
_PROCEDURE_LISTS = frozenset({"principal_procedure", "other_procedures"})
_PCS_STAND_IN = "0000000"


def _stand_in(loc: tuple[str | int, ...]) -> str | None:
    names = [part for part in loc if isinstance(part, str)]
    if not names:
        return None
    if names[-1] == "diagnoses" and isinstance(loc[-1], int):
        # distinct per position: the claim refuses repeated diagnoses
        return f"Z{loc[-1] % 100:02d}9ZZZ"
    if names[-1] == "code" and len(names) > 1 and names[-2] in _PROCEDURE_LISTS:
        return _PCS_STAND_IN
    return _STAND_INS.get(names[-1])


def _get(data: Any, loc: Sequence[str | int]) -> Any:
    for part in loc:
        if isinstance(part, int) or isinstance(data, dict):
            data = data[part]
        else:
            data = getattr(data, part)
    return data


def _put_back(record: BaseModel, loc: Sequence[str | int], value: str) -> None:
    parent: Any = _get(record, loc[:-1])
    last = loc[-1]
    if isinstance(parent, BaseModel) and isinstance(last, str):
        # past validate_assignment on purpose: this value is the one that broke the rule
        parent.__dict__[last] = value
    else:
        parent[last] = value


def _message(error: Any) -> str:
    text = str(error.get("msg", "invalid"))
    return text.removeprefix("Value error, ")


def validate_keeping(model: type[_Model], data: dict[str, Any], *, what: str,
                     locate: Locator, findings: list[Finding],
                     claim_number: str | None = None,
                     reported: frozenset[str] = frozenset()) -> _Model | None:
    """``model`` validated from ``data``; text values breaking a form rule kept as sent (one
    finding each); ``None`` (with findings) when the record cannot be kept without inventing.

    :param reported: error paths (``claim.billing_provider_npi``) whose value another record's
        finding already names: kept without a second finding.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_input=False)
    patched = copy.deepcopy(data)
    kept: list[tuple[tuple[str | int, ...], str]] = []
    keepable = True
    for error in errors:
        loc = tuple(error["loc"])
        index, segment_id, element = locate(loc)
        path = ".".join(str(part) for part in loc) or "record"
        if path not in reported:
                findings.append(Finding(f"{what} {path}: {_message(error)}".lstrip(),
                                    segment_index=index,
                                    segment_id=segment_id, element=element,
                                    claim_number=claim_number))
        try:
            sent = _get(data, loc) if loc else None
        except (KeyError, IndexError, TypeError, AttributeError):
            sent = None
        if isinstance(sent, dict) and isinstance(sent.get("line1"), str) and loc:
            # a rule on a whole address (a P.O. box where a street address belongs) is about
            # its first line: kept as sent like any text
            loc = (*loc, "line1")
            sent = sent["line1"]
        stand_in = _stand_in(loc)
        # an empty value is a value missing, not one to keep
        if (error["type"] in _FORM_RULES and isinstance(sent, str) and sent.strip()
                and stand_in is not None):
            try:
                parent = _get(patched, loc[:-1])
                parent[loc[-1]] = stand_in
            except (KeyError, IndexError, TypeError, AttributeError):
                keepable = False  # inside a record already built: not ours to patch
                continue
            kept.append((loc, sent))
        else:
            keepable = False
    if keepable:
        try:
            record = model.model_validate(patched)
        except ValidationError:
            keepable = False
    if not keepable:
        index, segment_id, _ = locate(())
        findings.append(Finding(f"{what or 'claim'} left out: its data breaks rules that "
                                "cannot be kept as sent", segment_index=index,
                                segment_id=segment_id, claim_number=claim_number))
        return None
    for loc, sent in kept:
        _put_back(record, loc, sent)
    return record


__all__ = ["Locator", "validate_keeping"]
