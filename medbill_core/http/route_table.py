"""Which action each HTTP route performs, read from the routes themselves.

Every route declares its action with :func:`medbill_core.http.auth.permitted` (the
dependency carries it in :data:`~medbill_core.http.auth.ACTION_ATTRIBUTE`); the core's routes
that need no key are listed in :data:`PUBLIC_ROUTES`, a plugin's are marked on their endpoint
(:func:`~medbill_core.http.auth.public_route`, :func:`~medbill_core.http.auth.signed_in_route`).
A route left out of the OpenAPI document (``include_in_schema=False``) is a page, for a
browser: it answers HTML, its refusals included (:attr:`RouteAction.page`).
:func:`route_actions` walks an app's routes, so the role tests and the documentation
(``docs/users-and-roles.md`` prints :func:`route_table_markdown`) cover a new route without
being told about it.

Regenerate the documentation's tables (this one and the role x action table) with
``python -m medbill_core.http.route_table [--check] [docs/users-and-roles.md]``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from medbill_core.domain.identity import Role
from medbill_core.http.auth import ACCESS_ATTRIBUTE, ACTION_ATTRIBUTE, PUBLIC, SIGNED_IN
from medbill_core.permissions import Action, allowed, permission_table_markdown, role_label

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.dependencies.models import Dependant

#: (method, path) of the routes that need no key: whether the API is up, signing in, a
#: payment gateway's signed webhook.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset({
    ("GET", "/v1/health"), ("POST", "/v1/sessions"),
    # a payment gateway's webhook: its signature is the authentication
    ("POST", "/v1/payment-gateways/{identifier}/webhooks"),
    # a financing lender's decision: its signature is the authentication
    ("POST", "/v1/financing-providers/{identifier}/callbacks")})
#: (method, path) of the routes any signed-in user may call, whatever its role: its own
#: session (who am I, sign out)
OWN_SESSION_ROUTES: frozenset[tuple[str, str]] = frozenset({
    ("GET", "/v1/sessions/current"), ("DELETE", "/v1/sessions/current")})


@dataclass(frozen=True)
class RouteAction:
    """One method of one route and the action it performs (None: no action declared).

    ``access``: what its endpoint declares instead of an action (``public`` or ``signed_in``:
    a plugin's route, :func:`~medbill_core.http.auth.public_route`); ``page``: it is a page
    (left out of the OpenAPI document), which answers HTML."""

    method: str
    path: str
    action: Action | None
    access: str | None = None
    page: bool = False

    @property
    def public(self) -> bool:
        """It declares no action by design (public, or one's own session)."""
        return (self.access is not None
                or (self.method, self.path) in PUBLIC_ROUTES | OWN_SESSION_ROUTES)

    @property
    def any_signed_in(self) -> bool:
        """Anyone signed in may call it, whatever the role."""
        return self.access == SIGNED_IN or (self.method, self.path) in OWN_SESSION_ROUTES


def _actions(dependant: Dependant) -> Iterator[Action]:
    action = getattr(dependant.call, ACTION_ATTRIBUTE, None)
    if isinstance(action, Action):
        yield action
    for sub in dependant.dependencies:
        yield from _actions(sub)


def route_actions(app: FastAPI) -> list[RouteAction]:
    """Every API route's methods with their action, by path then method (HEAD and OPTIONS,
    which FastAPI adds for no route, are left out). A route with several actions (a
    dependency declaring one more) answers its first: routes declare exactly one."""
    from fastapi.routing import APIRoute, iter_route_contexts

    found: list[RouteAction] = []
    # routers are included as branches: their routes' contexts carry the full path
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute):
            continue  # /openapi.json, /docs: FastAPI's own pages
        actions = list(_actions(route.dependant))
        path = route.path or route.original_route.path
        # the route as included (a router included with include_in_schema=False hides it)
        access = getattr(route.endpoint, ACCESS_ATTRIBUTE, None)
        page = not getattr(route, "include_in_schema", True)
        for method in sorted((route.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append(RouteAction(method, path, actions[0] if actions else None,
                                     access if access in (PUBLIC, SIGNED_IN) else None, page))
    return sorted(found, key=lambda item: (item.path, item.method))


def core_app() -> FastAPI:
    """An app with the core's routes only (no database: for reading the route table)."""
    from fastapi import FastAPI

    from medbill_core.http.resources import include_core_routes

    app = FastAPI()
    include_core_routes(app)
    return app


def route_table_markdown(app: FastAPI | None = None) -> str:
    """The routes as Markdown: method, path, action and the roles allowed (default: the
    core's routes)."""
    lines = ["| method | path | action | roles |", "|---|---|---|---|"]
    for item in route_actions(app if app is not None else core_app()):
        if item.action is None:
            action = "(none)"
            roles = ("anyone signed in" if item.any_signed_in
                     else "public" if item.public else "nobody: undeclared")
        else:
            action = f"`{item.action.value}`"
            permitted = [role_label(role) for role in Role if allowed(role, item.action)]
            roles = "everyone" if len(permitted) == len(Role) else ", ".join(permitted)
        lines.append(f"| {item.method} | `{item.path}` | {action} | {roles} |")
    return "\n".join(lines) + "\n"


#: marker name -> the function printing what goes between ``<!-- NAME:begin -->`` and
#: ``<!-- NAME:end -->``
SECTIONS = {"permissions": permission_table_markdown, "routes": route_table_markdown}
DOCS_PAGE = Path("docs") / "users-and-roles.md"


def regenerate(text: str) -> str:
    """``text`` with each marked section replaced by its table (a missing marker: an error)."""
    for name, printer in SECTIONS.items():
        pattern = re.compile(rf"(<!-- {name}:begin -->\n).*?(<!-- {name}:end -->)", re.DOTALL)
        found = pattern.search(text)
        if found is None:
            raise ValueError(f"the page has no <!-- {name}:begin --> ... end marker")
        text = text[:found.start()] + found.group(1) + printer() + "\n" + found.group(2) \
            + text[found.end():]
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the docs page's tables; ``--check``: exit 1 when the page is out of date."""
    args = list(sys.argv[1:] if argv is None else argv)
    check = "--check" in args
    paths = [arg for arg in args if arg != "--check"]
    path = Path(paths[0]) if paths else DOCS_PAGE
    text = path.read_text("utf-8")
    wanted = regenerate(text)
    if check:
        if wanted != text:
            print(f"{path} is out of date: run python -m medbill_core.http.route_table",
                  file=sys.stderr)
            return 1
        return 0
    if wanted != text:
        path.write_text(wanted, "utf-8")
        print(f"{path}: tables rewritten")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
