"""One-time messages: a POST that worked redirects to a GET (so that reloading the page does
not post again), and the GET shows what happened once ("Signed out", "Note saved").

The message travels in a short-lived cookie the next page reads and clears. It is the
workspace's own text, never PHI (a cookie may outlive the session) and never a record's
details: "Claim corrected", not the patient's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "medbill_flash"
#: A message not shown within this many seconds is dropped (the redirect follows at once).
MAX_AGE = 120
MAX_LENGTH = 300
LEVELS = ("success", "info", "error")


@dataclass(frozen=True)
class Flash:
    """A message and its level: ``success``, ``info`` or ``error``."""

    text: str
    level: str = "success"


def set_flash(response: Response, text: str, level: str = "success") -> None:
    """Show ``text`` once on the next page the browser opens."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}")
    value = quote(f"{level}:{text[:MAX_LENGTH]}", safe="")
    response.set_cookie(COOKIE, value, max_age=MAX_AGE, path="/workspace", httponly=True,
                        samesite="strict")


def pop(request: Request) -> Flash | None:
    """The message waiting for this page, if any (the response clears it)."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    request.state.workspace_flash_shown = True
    level, _, text = unquote(raw).partition(":")
    if level not in LEVELS or not text:
        return None
    return Flash(text[:MAX_LENGTH], level)


def clear_if_shown(request: Request, response: Response) -> None:
    if getattr(request.state, "workspace_flash_shown", False):
        response.delete_cookie(COOKIE, path="/workspace", httponly=True, samesite="strict")
