"""Templates: the Jinja2 environment (autoescape on), the filters and globals every page may
use, and :func:`render`, which fills in what the layout needs (who is signed in, the CSRF
token, the navigation, the one-time message)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from medbill_core.api.http import CSRF_FIELD, CSRF_HEADER, csrf_token, current_session
from medbill_core.api.workspace import Action, Principal, Role, allowed
from medbill_workspace_web import flash
from medbill_workspace_web.nav import NAV, NavEntry

TEMPLATES = Path(__file__).parent / "templates"
#: Where the static files are served (``static.py``), for the layout's links.
STATIC_PATH = "/workspace/static"


def money(value: Decimal | None) -> str:
    """``Decimal("-1234.5")`` -> ``-$1,234.50``; None -> an empty cell. Never a float: a
    float here is a bug upstream, refused rather than shown rounded."""
    if value is None:
        return ""
    if not isinstance(value, Decimal):
        raise TypeError(f"money() takes a Decimal, not {type(value).__name__}")
    cents = value.quantize(Decimal("0.01"))
    if cents != value:  # more than two places: a computation left unrounded upstream
        raise ValueError("money() takes whole cents; round where the amount is computed")
    text = f"${abs(cents):,.2f}"
    return f"-{text}" if cents < 0 else text


def day(value: date | datetime | None) -> str:
    """A date as people in a US billing office read it: ``12/06/2026``."""
    if value is None:
        return ""
    return value.strftime("%m/%d/%Y")


def moment(value: datetime | None) -> str:
    """A moment, to the minute, with its zone: ``12/06/2026 14:05 UTC``."""
    if value is None:
        return ""
    return value.strftime("%m/%d/%Y %H:%M %Z").strip()


def role_label(role: Role) -> str:
    return role.value.replace("_", " ")


def label(value: object) -> str:
    """An enum's value as words: ``patient_balance`` -> ``patient balance``."""
    text = getattr(value, "value", value)
    return str(text).replace("_", " ")


def strip_controls(value: object) -> str:
    """Text shown back in a field, without control characters (a NUL typed in a search)."""
    return "".join(char for char in str(value) if char.isprintable() or char == " ")


def query_link(request: Request, **changes: object) -> str:
    """The current page's URL with some query parameters changed (None removes one): the
    pagination links and filters keep the others."""
    params = dict(request.query_params)
    for name, value in changes.items():
        if value is None or value == "":
            params.pop(name, None)
        else:
            params[name] = str(value)
    query = urlencode(sorted(params.items()))
    return f"{request.url.path}?{query}" if query else request.url.path


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    environment.filters.update(money=money, day=day, moment=moment, role_label=role_label,
                               label=label, strip_controls=strip_controls)
    environment.globals.update(Action=Action, CSRF_FIELD=CSRF_FIELD, CSRF_HEADER=CSRF_HEADER,
                               STATIC=STATIC_PATH)
    return environment


ENVIRONMENT = _environment()


def _principal(request: Request) -> Principal | None:
    session = current_session(request)
    if session is not None:
        return session.principal
    found = getattr(request.state, "workspace_principal", None)
    return found if isinstance(found, Principal) else None


def remember_principal(request: Request, principal: Principal) -> None:
    """Keep who a page is for, so that the layout shows it (a request made with an API key
    has no session to read it from)."""
    request.state.workspace_principal = principal


def layout_context(request: Request) -> dict[str, Any]:
    """What base.html needs: who, where, may they, the navigation, the CSRF token."""
    principal = _principal(request)
    session = current_session(request)
    token = csrf_token(request)

    def can(action: Action) -> bool:
        return principal is not None and allowed(principal.role, action)

    def csrf_field() -> Markup:
        if token is None:
            return Markup("")
        return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)

    nav: list[NavEntry] = [entry for entry in NAV if can(entry.action)]
    return {"request": request, "principal": principal, "session": session,
            "csrf_token": token, "csrf_field": csrf_field, "can": can, "nav": nav,
            "practices": getattr(request.state, "workspace_practices", []),
            "flash": flash.pop(request), "query_link": lambda **kw: query_link(request, **kw),
            "current_path": request.url.path}


#: Every page's headers: never cached (PHI, a CSRF token); never framed by another site (a
#: click on a framed form would be the user's); no address sent to another site (a search's
#: address may hold a patient's name); no content type guessed.
PAGE_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                "Content-Security-Policy": "frame-ancestors 'none'",
                "Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff"}


def render(request: Request, template: str, context: Mapping[str, Any] | None = None, *,
           status_code: int = 200, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """The page ``template`` with ``context`` and the layout's context, with
    :data:`PAGE_HEADERS`."""
    values = layout_context(request)
    values.update(context or {})
    html = ENVIRONMENT.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code,
                            headers={**PAGE_HEADERS, **(headers or {})})
    flash.clear_if_shown(request, response)
    return response
