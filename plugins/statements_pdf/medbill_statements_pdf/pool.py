"""Statement PDFs rendered in worker processes, so a statement run's PDFs use every core.

A statement run hands its groups (:func:`~medbill_core.hookspecs.medbill_render_statements`)
here. A group is cut into small chunks, rendered by worker processes and by this process
together, with the very renderer object the run would use (sent with its settings), so every
document is byte for byte the one rendered in this process. What they do not bring back -- a
statement that could not be rendered, chunks lost with a worker that died -- the run renders
in its own process, one statement at a time, where a statement that cannot be rendered raises
its own error (safe to show, no PHI): a worker's error text never leaves the worker.

The pool is made the first time a group is big enough, kept for the process's life (a worker
costs half a second of imports to start), and shut down at exit. Workers start by ``spawn``:
a fresh interpreter that imports this plugin's rendering modules, never a copy of a process
holding database connections and threads. Nor does a worker import the program's main module,
as ``spawn`` otherwise does: a script that runs a statement run at import (no ``if __name__
== "__main__"``) would run it again in every worker.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import sys
import threading
import time
import types
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from medbill_core.api import RenderedDocument, Statement, StatementRenderer

log = logging.getLogger(__name__)

#: Fewer statements than this render sooner here than they travel to a worker and back.
MIN_BATCH = 8
#: Chunks a group is cut into: small, so that this process and the workers finish together.
CHUNKS = 10
#: Pools that may break (a worker killed) before this process renders alone from then on.
MAX_FAILURES = 3

#: How often a worker looks whether the process that started it is still there.
PARENT_CHECK_SECONDS = 1.0

#: One thread at a time swaps ``__main__`` (another would put the stand-in back for good).
_MAIN_SWAP = threading.Lock()


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def render_chunk(renderer: StatementRenderer,
                 statements: Sequence[Statement]) -> list[RenderedDocument]:
    """The documents of ``statements`` in order, up to the first that cannot be rendered
    (the caller renders that one again, where its error is raised)."""
    documents = []
    for statement in statements:
        try:
            documents.append(renderer.render(statement))
        except Exception:  # the error is raised again where the statement is re-rendered
            break
    return documents


def render_sent(renderer: StatementRenderer,
                sent: Sequence[dict[str, Any]]) -> list[RenderedDocument]:
    """In a worker: :func:`render_chunk` of statements sent as their fields (see
    :meth:`RenderPool.render`); one that does not read back is not rendered here either."""
    statements = []
    for fields in sent:
        try:
            statements.append(Statement.model_validate(fields))
        except Exception:
            break
    return render_chunk(renderer, statements)


def _exit_with_parent(parent: int) -> None:
    """In a worker, first thing: end when the process that started it is gone. A process
    that dies without shutting its pool down (killed; a server worker that ends by its
    SIGTERM's default action, as uvicorn's does after a graceful stop) would otherwise leave
    its workers waiting for work for ever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(0)  # nothing of the worker's needs saving: it only renders

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


@contextmanager
def _main_module_hidden() -> Iterator[None]:
    """While workers are started (the pool starts them as work is submitted): a ``__main__``
    with neither a file nor a module name, which ``spawn`` gives its workers nothing to
    import from."""
    with _MAIN_SWAP:
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = main


class RenderPool:
    """Worker processes rendering statements; one per process (:data:`POOL`)."""

    def __init__(self) -> None:
        self._executor: ProcessPoolExecutor | None = None
        self._workers = 0
        self._owner_pid = 0
        self._lock = threading.Lock()  # statement runs in two threads share the workers
        self.failures = 0

    def render(self, renderer: StatementRenderer, statements: Sequence[Statement],
               workers: int) -> list[RenderedDocument]:
        """The documents of the first statements, in order, rendered by ``workers`` worker
        processes and this one: all of them, or fewer when a statement could not be rendered
        or a worker died (the caller renders the rest).

        The statements are cut into small chunks: the workers are handed chunks from the
        start, a few at a time, while this process renders chunks from the end, so it works
        rather than waits, and both finish about together however busy the machine is."""
        with self._lock:
            executor = self._executor_for(workers)
        if executor is None:
            return []
        size = -(-len(statements) // CHUNKS)
        chunks = [statements[start:start + size] for start in range(0, len(statements), size)]
        left = deque(range(len(chunks)))
        sent: dict[int, Future[list[RenderedDocument]]] = {}
        here: dict[int, list[RenderedDocument]] = {}

        def hand_out() -> None:
            # a chunk waiting for each worker besides the one it renders, so none idles
            while left and sum(not future.done() for future in sent.values()) < 2 * workers:
                index = left.popleft()
                # as plain fields: pickled four times faster than the models (this process
                # is the busy one), read back by the worker into equal statements
                sent[index] = executor.submit(render_sent, renderer, [
                    statement.model_dump() for statement in chunks[index]])

        documents: list[RenderedDocument] = []
        try:
            with _main_module_hidden():
                hand_out()
            while left:
                index = left.pop()
                here[index] = render_chunk(renderer, chunks[index])
                with _main_module_hidden():
                    hand_out()
            for index, chunk in enumerate(chunks):
                done = here[index] if index in here else sent[index].result()
                documents += done
                if len(done) < len(chunk):
                    break
        except Exception as error:
            # a worker died (BrokenProcessPool) or a statement could not travel to it: the
            # rest is rendered in this process; the error's type only (its text may quote data)
            log.warning("statements_pdf: rendering in worker processes failed (%s); the"
                        " statements left are rendered in this process", type(error).__name__)
            with self._lock:
                self.failures += 1
                if self._executor is executor:
                    self.discard()
        return documents

    def _executor_for(self, workers: int) -> ProcessPoolExecutor | None:
        if self._executor is not None and self._owner_pid != os.getpid():
            # inherited through a fork: the workers belong to the parent
            self._executor = None
        if self._executor is not None and self._workers != workers:
            self.discard()
        if self._executor is None:
            if self.failures >= MAX_FAILURES:
                return None
            self._executor = ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_exit_with_parent, initargs=(os.getpid(),))
            self._workers = workers
            self._owner_pid = os.getpid()
        return self._executor

    def discard(self) -> None:
        """Shut the workers down without waiting (a broken pool's are gone already); the
        next group that wants workers starts new ones (after :data:`MAX_FAILURES` broken
        pools, none)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            # nothing cancelled: a broken pool fails its futures itself (cancelling them
            # meanwhile makes Python 3.11's pool thread fail, CPython gh-107219)
            executor.shutdown(wait=False)

    def close(self) -> None:
        """Shut the workers down and wait for them (at exit)."""
        executor, self._executor = self._executor, None
        if executor is not None and self._owner_pid == os.getpid():
            executor.shutdown(wait=True, cancel_futures=True)


#: This process's pool of render workers.
POOL = RenderPool()
atexit.register(POOL.close)
