"""Statement PDFs rendered by worker processes (``medbill_render_statements``, the pool):
byte for byte the documents rendered in-process; a statement that cannot be rendered, or a
worker killed, leaves the rest to the caller, which renders them in its own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from medbill_statements_pdf import plugin
from medbill_statements_pdf.pdf import PdfStatementRenderer, StatementRenderError
from medbill_statements_pdf.pool import MIN_BATCH, POOL, RenderPool, render_sent
from medbill_statements_pdf.samples import sample_statement
from medbill_statements_pdf.settings import StatementsPdfSettings
from pool_renderers import FailsOn, KillsItsWorker, Reporting, SlowHere
from test_statements_family import family_statement

from medbill_core.api import MedbillConfig, Statement
from medbill_core.api.testing import PluginHooks

#: A group of a statement run: short and long statements, pay links, every dunning stage,
#: a family statement.
GROUP_SIZE = 24


def group() -> list[Statement]:
    statements = []
    for index in range(GROUP_SIZE - 1):
        lines = (4, 30, 90)[index % 3] if index % 4 == 3 else None
        statement = sample_statement(lines, dunning_stage=index % 5,
                                     statement_number=f"S24-{index:06d}")
        if index % 2:
            statement = statement.model_copy(update={
                "pay_url": f"https://pay.example.org/pay?code=K7Q2M9X{index:03d}",
                "pay_code": f"K7Q2-M9X{index:03d}"})
        statements.append(statement)
    family = family_statement()
    assert isinstance(family, Statement)
    return [*statements, family.model_copy(update={"statement_number": "S24-FAMILY"})]


@pytest.fixture
def pool() -> Iterator[RenderPool]:
    made = RenderPool()
    yield made
    made.close()


def test_workers_render_the_documents_rendered_in_process_byte_for_byte(
        pool: RenderPool) -> None:
    settings = StatementsPdfSettings(summary_after_lines=40,
                                     dunning_messages={2: "A message from the settings."})
    statements = group()
    documents = pool.render(SlowHere(settings), statements, workers=1)
    alone = [PdfStatementRenderer(settings).render(statement) for statement in statements]
    assert [(d.filename, d.pages, d.media_type) for d in documents] == [
        (d.filename, d.pages, d.media_type) for d in alone]
    assert [d.content for d in documents] == [d.content for d in alone]
    assert pool.failures == 0


def test_a_statement_sent_to_a_worker_reads_back_equal() -> None:
    statements = group()
    renderer = PdfStatementRenderer()
    sent = render_sent(renderer, [statement.model_dump() for statement in statements])
    assert [d.content for d in sent] == [renderer.render(s).content for s in statements]


def test_the_workers_share_the_group_and_import_only_what_rendering_needs(
        pool: RenderPool) -> None:
    documents = pool.render(Reporting(), group(), workers=1)
    reports = [json.loads(document.content) for document in documents]
    assert len(reports) == GROUP_SIZE
    by_worker = [report for report in reports if report["pid"] != os.getpid()]
    here = [report for report in reports if report["pid"] == os.getpid()]
    assert by_worker and here  # both worked: the workers from the start, this one from the end
    assert reports.index(by_worker[0]) == 0 and reports[-1] in here
    assert len({report["pid"] for report in by_worker}) == 1
    # no database, web or service modules, and not the program's main module
    assert all(report["modules"] == [] and report["main"] is None for report in by_worker)


#: A program calling the pool at import, with no ``if __name__ == "__main__"``: a worker
#: started by plain ``spawn`` would import it again and run it again.
UNGUARDED = """
import sys
sys.path[:0] = [{tests!r}]
from pool_renderers import Reporting
from medbill_statements_pdf.pool import RenderPool
from medbill_statements_pdf.samples import sample_statement
with open({runs!r}, "a") as runs:
    runs.write("ran\\n")
pool = RenderPool()
documents = pool.render(Reporting(), [sample_statement(statement_number=f"S{{n}}")
                                      for n in range(40)], 1)
print(len(documents), len({{d.content for d in documents}}), pool.failures)
pool.close()
"""


def test_a_worker_does_not_run_the_programs_main_module_again(tmp_path: Path) -> None:
    runs = tmp_path / "runs.txt"
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED.format(tests=str(Path(__file__).parent), runs=str(runs)))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split() == ["40", "2", "0"]  # all rendered, here and in a worker
    assert runs.read_text() == "ran\n"


def test_a_statement_that_cannot_be_rendered_ends_the_documents_before_it(
        pool: RenderPool) -> None:
    statements = group()
    documents = pool.render(FailsOn("S24-000005"), statements, workers=1)
    assert [d.filename for d in documents] == [
        f"statement-S24-{index:06d}.pdf" for index in range(5)]
    assert pool.failures == 0  # the workers are fine: the pool is kept


def test_a_worker_killed_leaves_the_rest_to_the_caller_and_a_new_pool_serves_later(
        pool: RenderPool, caplog: pytest.LogCaptureFixture) -> None:
    statements = group()
    documents = pool.render(KillsItsWorker("S24-000001"), statements, workers=1)
    assert [d.filename for d in documents] == ["statement-S24-000000.pdf"][:len(documents)]
    assert pool.failures == 1
    assert "rendering in worker processes failed (BrokenProcessPool)" in caplog.text
    assert "Sample" not in caplog.text and "S24-" not in caplog.text
    again = pool.render(SlowHere(), statements, workers=1)
    assert [d.content for d in again] == [PdfStatementRenderer().render(s).content
                                          for s in statements]


def test_after_pools_keep_breaking_the_caller_renders_alone(pool: RenderPool) -> None:
    pool.failures = 3
    assert pool.render(SlowHere(), group(), workers=1) == []


def _start(**settings: object) -> PluginHooks:
    return PluginHooks.start(MedbillConfig(plugins=["statements_pdf"],
                                           plugin_settings={"statements_pdf": settings}))


@pytest.fixture
def global_pool() -> Iterator[RenderPool]:
    yield POOL
    POOL.close()


def test_a_run_group_goes_through_the_pool_and_comes_back_as_rendered_alone(
        global_pool: RenderPool) -> None:
    hooks = _start(render_processes=1)
    statements = group()
    for renderer in ("pdf", "pdf-summary"):
        answered = plugin.medbill_render_statements(statements=statements, renderer=renderer,
                                                    context=hooks.context)
        documents = list(hooks.render_statements(statements=statements, renderer=renderer))
        alone = [hooks.render_statement(statement=s, renderer=renderer) for s in statements]
        assert answered is not None and len(answered) == GROUP_SIZE
        assert [d.content for d in answered] == [d.content for d in alone]
        assert [d.content for d in documents] == [d.content for d in alone]


def test_the_pool_is_for_the_plugins_pdf_renderers_and_groups_big_enough(
        global_pool: RenderPool, monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = _start(render_processes=1)
    statements = group()

    def answer(renderer: str, how_many: int, context: object = hooks.context) -> object:
        return plugin.medbill_render_statements(statements=statements[:how_many],
                                                renderer=renderer, context=context)

    assert answer("text", GROUP_SIZE) is None and answer("html", GROUP_SIZE) is None
    assert answer("pdf", MIN_BATCH - 1) is None
    assert answer("pdf", MIN_BATCH) is not None
    assert answer("pdf", GROUP_SIZE, _start(render_processes=0).context) is None
    # unset: one worker per core beyond this process's
    monkeypatch.setattr(plugin, "available_cores", lambda: 1)
    assert answer("pdf", GROUP_SIZE, _start().context) is None
    monkeypatch.setattr(plugin, "available_cores", lambda: 2)
    assert answer("pdf", GROUP_SIZE, _start().context) is not None


def test_a_statement_the_workers_cannot_render_fails_with_the_error_it_has_alone(
        global_pool: RenderPool, tmp_path: Path) -> None:
    bogus = tmp_path / "font.ttf"
    bogus.write_bytes(b"not a font")
    hooks = _start(render_processes=1, font_path=str(bogus))
    statements = group()
    assert plugin.medbill_render_statements(statements=statements, renderer="pdf",
                                            context=hooks.context) == []
    with pytest.raises(StatementRenderError) as alone:
        hooks.render_statement(statement=statements[0], renderer="pdf")
    with pytest.raises(StatementRenderError) as together:
        next(hooks.render_statements(statements=statements, renderer="pdf"))
    assert str(together.value) == str(alone.value) == (
        "statement S24-000000: the PDF could not be rendered (TTLibError)")


#: A program that renders through the pool, says its workers' pids, and dies by SIGKILL
#: (no exit handler runs: nothing shuts its pool down).
DIES_ABRUPTLY = """
import os, signal, sys
sys.path.insert(0, {tests!r})
from medbill_statements_pdf.pool import POOL
from medbill_statements_pdf.samples import sample_statement
from pool_renderers import Reporting
if __name__ == "__main__":
    POOL.render(Reporting(), [sample_statement(statement_number=f"K-{{n}}") for n in range(40)], 1)
    print(*POOL._executor._processes, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _running(pid: int) -> bool:
    """``pid`` is a live process (a zombie waiting for its reaper is not)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    return fields[0] != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_workers_end_when_the_process_that_started_them_dies(tmp_path: Path) -> None:
    script = tmp_path / "dies.py"
    script.write_text(DIES_ABRUPTLY.format(tests=str(Path(__file__).parent)))
    said = tmp_path / "said.txt"
    with said.open("w") as out:  # a file: a worker left behind would hold a pipe open
        died = subprocess.run([sys.executable, str(script)], stdout=out,
                              stderr=subprocess.DEVNULL, timeout=120, check=False)
    assert died.returncode == -9
    workers = [int(pid) for pid in said.read_text().split()]
    assert len(workers) == 1
    deadline = time.monotonic() + 15
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_running(pid) for pid in workers)
