"""How ``medbill serve`` runs the API: one process, or several worker processes on one port.

One uvicorn process runs Python on one core at a time (the GIL), so under concurrent clients
its requests queue for that core. ``medbill serve --workers N`` starts N uvicorn worker
processes that share the listening socket; each opens its own medbill instance (its own
database pool) from the same configuration. Nothing a request needs lives in one process
only: keys, sessions, idempotency keys, jobs and every record are in the database.

What runs once per server, not once per worker: purging expired idempotency keys and marking
the jobs a stopped server left behind as interrupted (:func:`prepare_server`) -- done by the
parent before any worker starts, since a worker doing it at its start would mark as
interrupted the jobs another worker is running.

The workers find their settings in :data:`SETTINGS_ENV` (the configuration file's path and
the statements folder), which the parent sets for them.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from medbill_core.app import Medbill

#: The environment variable the parent passes the workers their settings in (JSON).
SETTINGS_ENV = "MEDBILL_SERVE_WORKER"
#: uvicorn's import string of the workers' application factory.
WORKER_FACTORY = "medbill_core.http.serving:worker_app"


class PathWithoutQuery(logging.Filter):
    """uvicorn's access log line without the query string: a list's filter may name a
    patient (``GET /v1/patients?last_name=...``), and PHI never goes into a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn logs '%s - "%s %s HTTP/%s" %d' with (client, method, path?query, ...)
        if isinstance(record.args, tuple) and len(record.args) >= 3 \
                and isinstance(record.args[2], str):
            record.args = (*record.args[:2], record.args[2].split("?", 1)[0],
                           *record.args[3:])
        return True


def prepare_server(medbill: Medbill) -> None:
    """A server's start, once whatever the number of workers: expired idempotency keys and
    ended pay-page visits purged, jobs a stopped server left queued or running marked failed
    (they are not run again)."""
    from medbill_core.services.idempotency import purge_expired
    from medbill_core.services.jobs import mark_interrupted
    from medbill_core.services.pay_visits import purge_ended_visits

    purge_expired(medbill)
    purge_ended_visits(medbill)
    mark_interrupted(medbill)


def serving_app(medbill: Medbill, statements_dir: Path) -> FastAPI:
    """The API of ``medbill`` as a server process runs it: statement runs write into
    ``statements_dir``; at a graceful stop (Ctrl-C, SIGTERM) running jobs finish and those
    not started are marked interrupted; access log lines lose their query strings."""
    from medbill_core.http import create_app
    from medbill_core.http.resources.jobs import stop_jobs

    app = create_app(medbill)
    app.state.statements_dir = statements_dir
    access = logging.getLogger("uvicorn.access")
    access.addFilter(PathWithoutQuery())
    # uvicorn set its access logger to the server's level (warning) when it configured its
    # logging: access lines are INFO, so --access-log printed none; at the app's start (in
    # each worker too) the logger takes them again. Without --access-log it has no handler.
    app.router.on_startup.append(lambda: access.setLevel(logging.INFO))
    app.router.on_shutdown.append(lambda: stop_jobs(app))
    return app


def worker_settings(config_path: Path | None, statements_dir: Path) -> str:
    """The value of :data:`SETTINGS_ENV` for the workers (absolute paths: a worker's
    working directory is the parent's, but nothing should depend on it)."""
    return json.dumps({"config": str(config_path.resolve()) if config_path else None,
                       "statements_dir": str(statements_dir.resolve())})


def worker_app() -> FastAPI:
    """uvicorn's application factory in each worker process (:data:`WORKER_FACTORY`): the
    medbill instance of the configuration the parent named, closed when the worker stops."""
    from medbill_core.app import Medbill
    from medbill_core.config import load_config
    from medbill_core.logs import configure_logging

    settings = json.loads(os.environ[SETTINGS_ENV])
    config = load_config(settings["config"])
    configure_logging(config.log_level)
    medbill = Medbill.open(config)
    medbill.database.require_current()
    app = serving_app(medbill, Path(settings["statements_dir"]))
    app.router.on_shutdown.append(medbill.close)
    return app
