"""Common base for domain models and the PHI-safe conversion of validation errors."""

from __future__ import annotations

import functools
import re
import types
import typing
from collections.abc import Collection
from decimal import Decimal
from typing import Any, Protocol

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from medbill_core.errors import ValidationFailed
from medbill_core.money import MONEY_INPUT, Amount, Money

#: C0 controls (NUL, tab, line breaks, escape ...), DEL and the C1 controls: no name, code,
#: address or note is written with them, and each breaks something downstream (a NUL ends
#: a C string in a PDF library or X12 translator, a line break splits a CSV or X12 segment).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: A number typed or imported as text: ASCII digits, a sign, one period, spaces around.
#: pydantic reads ``Decimal`` and ``int`` fields with ``Decimal()`` / ``int()`` rules, which
#: take ``"1_000"`` and Arabic-Indic or full-width digits as numbers.
_NUMBER_TEXT = re.compile(r"\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*", re.ASCII)
_NUMBER_TYPES = (Decimal, int)


#: Why a number written as text is refused (:func:`_input_problem`).
NOT_A_NUMBER = "not a number: write ASCII digits, e.g. 12 or 12.5"


def has_control_character(text: str) -> bool:
    """True when ``text`` holds a character of :data:`_CONTROL`."""
    return _CONTROL.search(text) is not None


#: What marks a :data:`~medbill_core.money.Money` or :data:`~medbill_core.money.Amount` field.
_MONEY_METADATA = (*typing.get_args(Money)[1:], *typing.get_args(Amount)[1:])


def _reads_money(metadata: Any) -> bool:
    """A :data:`~medbill_core.money.Money` (or ``Amount``) field reads its text strictly
    itself (and says so in words about amounts)."""
    return any(item in _MONEY_METADATA for item in metadata)


def _is_numeric(annotation: Any) -> bool:
    """True when a field holds numbers (``Decimal``, ``int``, optional or in a list)."""
    if annotation is bool:
        return False
    if isinstance(annotation, type):
        return issubclass(annotation, _NUMBER_TYPES) and not issubclass(annotation, bool)
    if typing.get_origin(annotation) is typing.Annotated:
        base, *metadata = typing.get_args(annotation)
        return not _reads_money(metadata) and _is_numeric(base)
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, tuple, set, frozenset):
        return bool(args) and all(_is_numeric(arg) for arg in args if arg is not Ellipsis)
    return False


def _input_problem(value: Any, numeric: bool) -> str | None:
    """Why ``value`` (input, possibly nested in lists or dicts) cannot be accepted, or None."""
    if isinstance(value, str):
        if has_control_character(value):
            return "contains a control character (such as NUL or a line break)"
        if numeric and value.strip() and not _NUMBER_TEXT.fullmatch(value):
            return NOT_A_NUMBER
        return None
    if isinstance(value, (list, tuple)):
        items: Any = value
    elif isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    else:
        return None
    for item in items:
        problem = _input_problem(item, numeric)
        if problem is not None:
            return problem
    return None


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

    @model_validator(mode="wrap")
    @classmethod
    def _refuse_hostile_input(cls, data: Any, handler: ModelWrapValidatorHandler[Any],
                              info: ValidationInfo) -> Any:
        """Input (what :func:`validate_record` reads: imports, commands) holds no control
        characters in any text, and numbers written as text are plain ASCII numbers. Values
        the program made itself (read back from the database, decoded by a plugin) are not
        checked again.

        One check per record rather than a validator on every field: pydantic calls a
        ``"*"`` field validator for each field of each nested record, which made validating
        a claim twice as slow even when there was nothing to check. A field refused here gets
        its error at its own position, beside the errors of the record's other fields."""
        if not (info.context and info.context.get(MONEY_INPUT)) or not isinstance(data, dict):
            return handler(data)
        numeric = _numeric_fields(cls)
        refused = {name: problem for name, value in data.items() if name in numeric
                   for problem in (_input_problem(value, numeric[name]),) if problem}
        if not refused:
            return handler(data)
        errors = [InitErrorDetails(type=PydanticCustomError("value_error", "Value error, "
                                                            "{problem}", {"problem": problem}),
                                   loc=(name,), input=data[name])
                  for name, problem in refused.items()]
        try:
            handler({name: value for name, value in data.items() if name not in refused})
        except ValidationError as exc:
            # each as it was worded (a custom error of the same type: pydantic's own types
            # want their context back in forms the wording already used)
            errors.extend(InitErrorDetails(type=PydanticCustomError(error["type"],
                                                                    error["msg"]),
                                           loc=error["loc"], input=error["input"])
                          for error in exc.errors()
                          if not (error["loc"] and error["loc"][0] in refused))
        # in the order of the record's fields, as field validators would have reported them
        order = {name: index for index, name in enumerate(cls.model_fields)}
        errors.sort(key=lambda error: order.get(str(error["loc"][0]) if error["loc"] else "",
                                                -1))
        raise ValidationError.from_exception_data(cls.__name__, errors,
                                                  hide_input=True)


@functools.cache
def _numeric_fields(model: type[BaseModel]) -> dict[str, bool]:
    """Each field of ``model`` and whether it holds numbers read strictly as ASCII text."""
    return {name: not _reads_money(field.metadata) and _is_numeric(field.annotation)
            for name, field in model.model_fields.items()}


class _Stored(Protocol):
    @property
    def id(self) -> int | None: ...


def saved_id(record: _Stored) -> int:
    """The database id of a record read from or saved to the database.

    Domain models carry ``id: int | None`` (None before the first save); code that works on
    stored records states here that it has one. None is a programming error, said loudly.
    """
    if record.id is None:
        raise ValueError(f"{type(record).__name__} has no id: it was never saved")
    return record.id


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


_Model = typing.TypeVar("_Model", bound="DomainModel")


#: ``model_validate(..., context={STORED_AS_IS: names})``: the fields named keep their stored
#: values unjudged by the rules added after they were stored (a person's birth date and
#: e-mail: see :func:`stored_as_is`).
STORED_AS_IS = "medbill_stored_as_is"


def stored_as_is(info: ValidationInfo) -> bool:
    """True when the field being validated is one the caller keeps as stored (an edit that
    does not touch it): a record stored before a rule existed stays editable, its other
    fields can be changed, and the rule still judges the field when an edit gives it."""
    return info.context is not None and info.field_name in info.context.get(STORED_AS_IS, ())


def validate_record(model: type[_Model], data: Any, *, record: str,
                    stored: Collection[str] = ()) -> _Model:
    """Validate ``data`` as ``model``; on failure raise a PHI-safe :class:`ValidationFailed`.

    :param record: how to name the record in the message, e.g. ``"row 3"``.
    :param stored: the fields of ``data`` that are the stored record's values, untouched by
        an edit (see :data:`STORED_AS_IS`).

    The data is input: its amounts are read strictly (more than two decimal places or an
    exponent are refused, never rounded; see :func:`medbill_core.money.parse_money_input`).
    """
    try:
        return model.model_validate(data, context={MONEY_INPUT: True,
                                                   STORED_AS_IS: frozenset(stored)})
    except ValidationError as exc:
        raise ValidationFailed(record, problems_from(exc)) from None
