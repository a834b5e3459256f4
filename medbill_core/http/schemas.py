"""Request and response models of the API that are not domain models as they are.

Responses are the domain models where a client sees the whole record (a claim, a patient),
so the OpenAPI document says exactly what is sent; a resource shows less than its domain
model (a payer: not its adapter's options, which may hold credentials) or takes less (a new
patient has no id yet) through a model here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import (
    BaseModel,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from starlette.responses import Response

from medbill_core.domain import Patient, Payer
from medbill_core.domain.base import NOT_A_NUMBER, DomainModel
from medbill_core.domain.parties import PayerProgram
from medbill_core.money import MONEY_INPUT

#: Fields of a patient medbill sets, never the client.
_ASSIGNED = ("id", "merged_into_id")


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def model_response(model: BaseModel, *, headers: Mapping[str, str] | None = None) -> Response:
    """``model`` as a JSON response, serialized once by pydantic: the model already is the
    route's response schema, so FastAPI's second validation of a returned model is skipped."""
    return Response(model.model_dump_json(), media_type="application/json", headers=headers)


class RequestBody(DomainModel):
    """Base of a request body's model: JSON's types kept (see :meth:`_json_types_kept`);
    what the document states is what is accepted; and the body is read as input, as
    :func:`~medbill_core.domain.validate_record` reads an import (see :meth:`_read_as_input`).
    """

    @model_validator(mode="wrap")
    @classmethod
    def _read_as_input(cls, data: Any, handler: ModelWrapValidatorHandler[Any],
                       info: ValidationInfo) -> Any:
        """FastAPI validates a body without a validation context, so the domain models'
        rule for numbers written as text (ASCII digits, no exponent; see
        ``DomainModel._refuse_hostile_input``) did not run: ``"１"`` or ``"1E1"`` units
        became 1 and 10 before the routes' own validation as input (``validated``) saw
        them. Without a context the body is read once more as input, nested records
        included, and its numbers written as text refused here; its other problems are
        reported by the routes' validation as before, beside the domain model's own."""
        if info.context and info.context.get(MONEY_INPUT):
            return handler(data)
        try:
            cls.model_validate(data, context={**(info.context or {}), MONEY_INPUT: True})
        except ValidationError as exc:
            numbers = [error for error in exc.errors(include_url=False)
                       if error["msg"].endswith(NOT_A_NUMBER)]
            if numbers:
                raise ValidationError.from_exception_data(cls.__name__, [
                    InitErrorDetails(type=PydanticCustomError("value_error", "Value error, "
                                                              "{problem}",
                                                              {"problem": NOT_A_NUMBER}),
                                     loc=tuple(error["loc"]), input=error["input"])
                    for error in numbers], hide_input=True) from None
        return handler(data)

    @field_validator("*", mode="before")
    @classmethod
    def _json_types_kept(cls, value: Any, info: ValidationInfo) -> Any:
        """pydantic would read false as 0 (a guarantor id 0), 0 or "no" as false, and a
        number as a date (seconds since 1970): each is refused here."""
        field = cls.model_fields.get(info.field_name or "")
        if field is None or value is None:
            return value
        if field.annotation in (bool, bool | None):
            if not isinstance(value, bool):
                raise ValueError("must be true or false")
        elif isinstance(value, bool):
            raise ValueError("must not be true or false")
        elif field.annotation in (date, date | None) and not (
                isinstance(value, date)
                or (isinstance(value, str) and _ISO_DATE.fullmatch(value))):
            raise ValueError("must be a date: YYYY-MM-DD")
        return value


def _input_model(model: type[DomainModel], name: str, leave_out: tuple[str, ...]) -> Any:
    """``model`` without the fields medbill assigns: what a client sends to create one. Its
    validators run when the input is validated as ``model`` (see ``validated``)."""
    fields: dict[str, Any] = {field: (info.annotation, info)
                              for field, info in model.model_fields.items()
                              if field not in leave_out}
    return create_model(name, __base__=RequestBody, __doc__=model.__doc__, **fields)


if TYPE_CHECKING:
    NewPatient = DomainModel
else:
    #: The body of ``POST /v1/patients``: a patient without the fields medbill assigns.
    NewPatient = _input_model(Patient, "NewPatient", _ASSIGNED)


class PayerOut(BaseModel):
    """A configured payer (``[payers.<key>]`` of medbill.toml), without its adapter's options."""

    key: str
    payer_id: str
    name: str
    adapter: str
    channel: str | None
    claim_filing_indicator: str
    program: PayerProgram
    timely_filing_days: int
    appeal_days: int

    @classmethod
    def of(cls, payer: Payer) -> PayerOut:
        return cls(key=payer.key, payer_id=payer.payer_id, name=payer.name,
                   adapter=payer.adapter, channel=payer.channel,
                   claim_filing_indicator=payer.claim_filing_indicator,
                   program=payer.effective_program, timely_filing_days=payer.timely_filing_days,
                   appeal_days=payer.appeal_days)


class Health(BaseModel):
    """The server answers and its database is reachable, at the current schema."""

    status: str
