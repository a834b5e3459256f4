"""A request body validated as the domain model it becomes, as every input to medbill is.

FastAPI has validated the body against the route's model (the OpenAPI schema); the domain
model's own checks follow here: its validators (a birth date in the future), control
characters in text and numbers written as text (:func:`medbill_core.domain.validate_record`'s
input rules). A failure is a 422 naming each field under ``body``, never its value.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from medbill_core.http.problems import InvalidRequest, field_problems
from medbill_core.money import MONEY_INPUT

M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: Any, *, location: str = "body") -> M:
    try:
        return model.model_validate(data, context={MONEY_INPUT: True})
    except ValidationError as exc:
        raise InvalidRequest(field_problems(exc.errors(include_url=False),
                                            prefix=(location,))) from None
