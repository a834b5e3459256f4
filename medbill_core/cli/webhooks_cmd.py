"""``medbill webhooks``: subscriptions, their delivery logs, delivering what is due.

The signing secret is printed once, by ``add``; nothing else ever prints it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.markup import escape

from medbill_core.cli.common import (
    cli_errors,
    console,
    data_table,
    fail,
    open_app,
    print_json,
    print_table,
)

app = typer.Typer(help="Webhook subscriptions and deliveries.", no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json")]


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def _subscription_json(subscription: Any) -> dict[str, Any]:
    return {"id": subscription.id, "url": subscription.url,
            "events": subscription.event_types, "active": subscription.active,
            "created_at": _when(subscription.created_at),
            "created_by": subscription.created_by,
            "disabled_at": _when(subscription.disabled_at)}


def _outcome_json(outcome: Any) -> dict[str, Any]:
    return {"delivery_id": outcome.delivery_id, "event_id": outcome.event_id,
            "subscription_id": outcome.subscription_id, "status": outcome.status,
            "status_code": outcome.status_code, "error": outcome.error}


@app.command("add")
@cli_errors
def add_command(
    url: Annotated[str, typer.Argument(help="Where events are POSTed (https; http only to "
                                            "127.0.0.1 or localhost)")],
    events: Annotated[str, typer.Option(
        help="Event types, comma-separated (claim.paid,claim.denied ...)")],
    as_json: AsJson = False,
) -> None:
    """Subscribe a URL to events; prints the signing secret (shown this once only)."""
    from medbill_core.services.webhooks import add_subscription

    medbill = open_app()
    with medbill.unit_of_work() as work:
        # whoever runs the installation may name its own network (a receiver on this
        # machine or the local network): the API may not
        created = add_subscription(work, url, events.split(","), local_allowed=True)
    if as_json:
        print_json({**_subscription_json(created.subscription), "secret": created.secret})
        return
    subscription = created.subscription
    console.print(f"subscription {subscription.id}: {subscription.url} "
                  f"({', '.join(subscription.event_types)})", highlight=False, markup=False)
    console.print(f"signing secret (shown once, keep it safe): {created.secret}",
                  highlight=False, markup=False)


@app.command("list")
@cli_errors
def list_command(
    all_: Annotated[bool, typer.Option("--all", help="Removed subscriptions too")] = False,
    as_json: AsJson = False,
) -> None:
    """Subscriptions (never their secrets)."""
    from medbill_core.services.webhooks import list_subscriptions

    medbill = open_app()
    with medbill.unit_of_work(read_only=True) as work:
        subscriptions = list_subscriptions(work, include_removed=all_)
    if as_json:
        print_json([_subscription_json(s) for s in subscriptions])
        return
    table = data_table("id", "url", "events", "active", "created", "by",
                       title=f"{len(subscriptions)} webhook subscriptions",
                       keys=("id", "url"), numeric=("id",))
    for s in subscriptions:
        table.add_row(str(s.id), escape(s.url), ", ".join(s.event_types),
                      "yes" if s.active else "no", _when(s.created_at) or "",
                      escape(s.created_by))
    print_table(table)


@app.command("remove")
@cli_errors
def remove_command(
    subscription_id: Annotated[int, typer.Argument(help="The subscription's id")],
    as_json: AsJson = False,
) -> None:
    """Stop sending to a subscription (its delivery log stays)."""
    from medbill_core.services.webhooks import remove_subscription

    medbill = open_app()
    with medbill.unit_of_work() as work:
        removed = remove_subscription(work, subscription_id)
    if as_json:
        print_json(_subscription_json(removed))
        return
    console.print(f"subscription {removed.id}: removed", highlight=False, markup=False)


@app.command("deliveries")
@cli_errors
def deliveries_command(
    subscription_id: Annotated[int, typer.Argument(help="The subscription's id")],
    limit: Annotated[int, typer.Option(min=1, max=10000, help="Newest N deliveries")] = 50,
    as_json: AsJson = False,
) -> None:
    """A subscription's delivery log, newest first."""
    from medbill_core.services.webhooks import deliveries

    medbill = open_app()
    with medbill.unit_of_work(read_only=True) as work:
        log = deliveries(work, subscription_id, limit=limit)
    if as_json:
        print_json([{"id": d.id, "event_id": d.event_id, "type": d.event_type,
                     "status": d.status, "attempts": d.attempts,
                     "next_attempt_at": _when(d.next_attempt_at),
                     "last_attempt_at": _when(d.last_attempt_at),
                     "last_status_code": d.last_status_code, "last_error": d.last_error,
                     "delivered_at": _when(d.delivered_at)} for d in log])
        return
    table = data_table("id", "event", "type", "status", "attempts", "last code", "last error",
                       "next attempt", title=f"{len(log)} deliveries of subscription "
                                             f"{subscription_id}",
                       keys=("id", "event"), numeric=("id", "attempts", "last code"))
    for d in log:
        table.add_row(str(d.id), d.event_id, d.event_type, d.status, str(d.attempts),
                      "" if d.last_status_code is None else str(d.last_status_code),
                      escape(d.last_error or ""), _when(d.next_attempt_at) or "")
    print_table(table)


@app.command("deliver")
@cli_errors
def deliver_command(
    limit: Annotated[int, typer.Option(min=1, max=10000, help="Send at most N")] = 100,
    timeout: Annotated[float, typer.Option(min=0.1, max=120, help="Seconds a receiver has "
                                                                  "to answer")] = 10.0,
    as_json: AsJson = False,
) -> None:
    """Deliver every event due now (run it from cron on SQLite; workers do it on
    PostgreSQL)."""
    from medbill_core.services.webhooks import run_due

    outcomes = run_due(open_app(), limit=limit, timeout=timeout)
    if as_json:
        print_json([_outcome_json(o) for o in outcomes])
        return
    delivered = sum(1 for o in outcomes if o.status == "delivered")
    console.print(f"{len(outcomes)} deliveries attempted: {delivered} delivered, "
                  f"{len(outcomes) - delivered} to retry or dead", highlight=False,
                  markup=False)
    for o in outcomes:
        if o.error is not None:
            console.print(f"  delivery {o.delivery_id} (subscription {o.subscription_id}): "
                          f"{o.status}, {o.error}", highlight=False, markup=False)


@app.command("test")
@cli_errors
def test_command(
    subscription_id: Annotated[int, typer.Argument(help="The subscription's id")],
    as_json: AsJson = False,
) -> None:
    """Send a ping event to a subscription now."""
    from medbill_core.services.webhooks import send_test_event

    outcome = send_test_event(open_app(), subscription_id)
    if as_json:
        print_json(_outcome_json(outcome))
    else:
        console.print(f"ping to subscription {subscription_id}: {outcome.status}"
                      + (f" ({outcome.error})" if outcome.error else ""),
                      highlight=False, markup=False)
    if outcome.status != "delivered":
        raise fail(f"the receiver did not accept the ping: {outcome.error}", 1)
