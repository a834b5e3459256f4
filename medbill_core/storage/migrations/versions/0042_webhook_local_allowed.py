"""webhook subscriptions remember whether they may reach the server's own network
(``webhook_subscriptions.local_allowed``): one made over the API may not, and its deliveries
are refused when its host resolves to a loopback, private or reserved address.

Filled here for the subscriptions there are: allowed for those whose host is written as a
non-public address or ``localhost`` -- which the API always refused, so only the command line
made them -- and not for the others (a name on the local network subscribed from the command
line is added again with ``medbill webhooks add``).

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-08
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None


def _made_locally(url: str) -> bool:
    """What the API's check refused before this revision: only the command line made it."""
    try:
        host = (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global or address.is_multicast


def upgrade() -> None:
    op.add_column("webhook_subscriptions",
                  sa.Column("local_allowed", sa.Boolean(), server_default=sa.false(),
                            nullable=False))
    subscriptions = sa.table("webhook_subscriptions", sa.column("id", sa.Integer()),
                             sa.column("url", sa.String()),
                             sa.column("local_allowed", sa.Boolean()))
    connection = op.get_bind()
    local = [row.id for row in connection.execute(
        sa.select(subscriptions.c.id, subscriptions.c.url)) if _made_locally(row.url)]
    if local:
        connection.execute(sa.update(subscriptions).where(subscriptions.c.id.in_(local))
                           .values(local_allowed=True))


def downgrade() -> None:
    op.drop_column("webhook_subscriptions", "local_allowed")
