"""The HTTP API (``medbill serve``, issue 15): a FastAPI application over the same services
the command line calls.

* :mod:`.app` - :func:`create_app`: the app, its error handling, the routes hook;
* :mod:`.problems` - every error as an RFC 9457 problem, never PHI, never a traceback;
* :mod:`.auth` - the bearer key and the principal a route acts as;
* :mod:`.pagination` - keyset pages behind an opaque cursor;
* :mod:`.idempotency` - ``Idempotency-Key`` on POST routes;
* :mod:`.resources` - the core's routes (one module per resource).

Importing it imports FastAPI: the command line does so only for ``medbill serve``.
"""

from medbill_core.http.app import create_app

__all__ = ["create_app"]
