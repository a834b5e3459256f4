"""Cursor pagination of list routes: ``?limit=&cursor=`` in, ``{"data", "next_cursor"}`` out.

Keyset, never OFFSET: a page is "the first ``limit`` rows after this sort key", which reads
through an index at any depth (the 2,000th page of 100,000 claims costs what the first
does), and a row added or removed during a walk neither repeats nor hides another.

A cursor is opaque to clients: the base64 (URL alphabet) of the list's name and the last
row's sort key, with a check of both, so a cursor that was altered, truncated or made for
another list is refused (422, field ``query.cursor``) instead of starting somewhere else.
The check is a plain hash, not a secret: anyone can forge a well-formed cursor, so its
numbers are also held to what an id column stores (a forged 2**40 would otherwise reach
PostgreSQL as an out-of-range integer, a 500).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from datetime import date
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from medbill_core.http.problems import FieldProblem, InvalidRequest

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
_CHECK_BYTES = 6
#: the integers a cursor may carry: what the id (and number) columns hold, 32-bit signed
MAX_KEY_INT = 2**31 - 1
T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Rows per page")]
Cursor = Annotated[str | None, Query(max_length=512,
                                     description="next_cursor of the page before")]


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date_text(value: Any) -> Any:
    # pydantic reads a number as seconds since 1970 (?service_to=0 would be 1970-01-01)
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("must be a date: YYYY-MM-DD")
    return value


def _date_in_range(value: date) -> date:
    # the dates medbill takes at all (date_rules): 9999-12-31 overflowed a day's end (a 500)
    from medbill_core.services.date_rules import out_of_range

    reason = out_of_range(value)
    if reason is not None:
        raise ValueError(reason)
    return value


#: A date a list filters on (a query parameter): only as YYYY-MM-DD, as the document says,
#: and a date medbill takes at all (:data:`~medbill_core.services.date_rules.EARLIEST` to
#: :data:`~medbill_core.services.date_rules.LATEST`).
IsoDate = Annotated[date, BeforeValidator(_iso_date_text), AfterValidator(_date_in_range)]


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    data: list[T]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on "
                                                "the last page")


def encode_cursor(listing: str, key: Sequence[int | str]) -> str:
    payload = json.dumps([listing, list(key)], separators=(",", ":")).encode()
    check = hashlib.sha256(payload).digest()[:_CHECK_BYTES]
    return base64.urlsafe_b64encode(payload + check).decode().rstrip("=")


def decode_cursor(listing: str, cursor: str, shape: Sequence[type]) -> list[Any]:
    """The sort key in ``cursor``, each part of the type ``shape`` says.

    :raises InvalidRequest: the cursor was not made by this list (altered, cut, another's).
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload, check = raw[:-_CHECK_BYTES], raw[-_CHECK_BYTES:]
        if len(raw) <= _CHECK_BYTES or hashlib.sha256(payload).digest()[:_CHECK_BYTES] != check:
            raise ValueError("check")
        name, key = json.loads(payload)
        if name != listing or not isinstance(key, list) or len(key) != len(shape) or any(
                type(part) is not kind for part, kind in zip(key, shape, strict=True)):
            raise ValueError("shape")
        if any(type(part) is int and not 0 <= part <= MAX_KEY_INT for part in key):
            raise ValueError("range")
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise _invalid_cursor() from None
    return key


def _invalid_cursor() -> InvalidRequest:
    return InvalidRequest([FieldProblem(
        field="query.cursor", code="cursor_invalid",
        message="not a cursor of this list: pass next_cursor as it was given")])


def decode_dated_cursor(listing: str, cursor: str) -> tuple[date, int]:
    """The (date, id) key of a list ordered by a date then id: the date travels as ISO
    text (JSON has no date), checked like the rest of the cursor.

    :raises InvalidRequest: as :func:`decode_cursor`, or the date is not one."""
    day, row_id = decode_cursor(listing, cursor, (str, int))
    if not _ISO_DATE.fullmatch(day):
        raise _invalid_cursor()
    try:
        return date.fromisoformat(day), row_id
    except ValueError:
        raise _invalid_cursor() from None


def dated_key(day: date, row_id: int) -> list[int | str]:
    """The cursor key :func:`decode_dated_cursor` reads."""
    return [day.isoformat(), row_id]


def page(rows: Sequence[T], limit: int, listing: str,
         key: Callable[[T], Sequence[int | str]]) -> Page[T]:
    """A page from ``rows``, read with ``limit + 1`` (see :func:`paged`)."""
    data, next_cursor = paged(rows, limit, listing, key)
    return Page[T](data=data, next_cursor=next_cursor)


def paged(rows: Sequence[T], limit: int, listing: str,
          key: Callable[[T], Sequence[int | str]] = lambda row: [row.id],  # type: ignore[attr-defined]
          ) -> tuple[list[T], str | None]:
    """The page's rows and its next cursor, from ``rows`` read with ``limit + 1`` so that a
    next page is known to exist (no cursor on the last page, even when it is exactly full).
    ``key``: the row's sort key (default its ``id``)."""
    data = list(rows[:limit])
    more = len(rows) > limit and bool(data)
    return data, encode_cursor(listing, key(data[-1])) if more else None
