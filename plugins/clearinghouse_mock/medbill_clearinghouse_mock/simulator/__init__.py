"""The clearinghouse simulator: an HTTP service (Starlette + uvicorn) with its own SQLite state.

Entry points: :func:`~.server.serve` (foreground), :class:`~.server.BackgroundServer` (thread),
:class:`~.process.ProcessServer` (child process), :func:`~.app.create_app` (the ASGI app),
:func:`~.adjudication.adjudicate` (pure adjudication).
"""
