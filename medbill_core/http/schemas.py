"""Request and response models of the API that are not domain models as they are.

Responses are the domain models where a client sees the whole record (a claim, a patient),
so the OpenAPI document says exactly what is sent; a resource shows less than its domain
model (a payer: not its adapter's options, which may hold credentials) or takes less (a new
patient has no id yet) through a model here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, create_model

from medbill_core.domain import Patient, Payer
from medbill_core.domain.base import DomainModel
from medbill_core.domain.parties import PayerProgram

#: Fields of a patient medbill sets, never the client.
_ASSIGNED = ("id", "merged_into_id")


def _input_model(model: type[DomainModel], name: str, leave_out: tuple[str, ...]) -> Any:
    """``model`` without the fields medbill assigns: what a client sends to create one. Its
    validators run when the input is validated as ``model`` (see ``validated``)."""
    fields: dict[str, Any] = {field: (info.annotation, info)
                              for field, info in model.model_fields.items()
                              if field not in leave_out}
    return create_model(name, __base__=DomainModel, __doc__=model.__doc__, **fields)


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
