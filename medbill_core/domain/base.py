"""Common base for domain models and the PHI-safe conversion of validation errors."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from medbill_core.errors import ValidationFailed
from medbill_core.money import MONEY_INPUT


class DomainModel(BaseModel):
    """Base of every medbill domain object.

    ``hide_input_in_errors`` keeps pydantic from echoing the offending value
    (which may be PHI) into exception text; ``extra="forbid"`` makes a typo in
    an import file a named error instead of silently dropped data.
    """

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        hide_input_in_errors=True,
        str_strip_whitespace=True,
        use_enum_values=False,
    )


def phi_field(default: Any = ..., **kwargs: Any) -> Any:
    """A field holding protected health information.

    Marked fields are listed by :func:`phi_fields`; the logging filter and the
    PHI tests use the marker, and nothing prints these values in errors.
    """
    extra = dict(kwargs.pop("json_schema_extra", None) or {})
    extra["phi"] = True
    return Field(default, json_schema_extra=extra, **kwargs)


def phi_fields(model: type[BaseModel]) -> set[str]:
    """Names of the fields of ``model`` marked as PHI."""
    names: set[str] = set()
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and extra.get("phi"):
            names.add(name)
    return names


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(record)"


def problems_from(exc: ValidationError) -> list[tuple[str, str]]:
    """``(field path, reason)`` pairs from a pydantic error, without input values."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        # pydantic prefixes our validators' messages with "Value error, ": noise to a user
        reason = error["msg"].removeprefix("Value error, ")
        problems.append((_location(tuple(error["loc"])), reason))
    return problems


def validate_record(model: type[DomainModel], data: Any, *, record: str) -> Any:
    """Validate ``data`` as ``model``; on failure raise a PHI-safe :class:`ValidationFailed`.

    :param record: how to name the record in the message, e.g. ``"row 3"``.

    The data is input: its amounts are read strictly (more than two decimal places or an
    exponent are refused, never rounded; see :func:`medbill_core.money.parse_money_input`).
    """
    try:
        return model.model_validate(data, context={MONEY_INPUT: True})
    except ValidationError as exc:
        raise ValidationFailed(record, problems_from(exc)) from None
