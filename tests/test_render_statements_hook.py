"""``medbill_render_statements``: a plugin renders a group of statements at once; the facade
renders what it leaves one at a time, so a statement's error is its own, after the documents
before it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from inproc_plugins import make_line_plugin

from medbill_core.config import MedbillConfig
from medbill_core.domain import RenderedDocument, Statement
from medbill_core.errors import MedbillError, PluginError
from medbill_core.hookspecs import hookimpl
from medbill_core.plugins import PluginHooks
from medbill_core.testing import factories


def _statement(number: int) -> Statement:
    return Statement(statement_number=f"S-{number}", practice=factories.make_practice(),
                     patient=factories.make_patient(id=number), account_number=f"A{number}",
                     statement_date=date(2026, 1, 1), due_date=date(2026, 1, 31),
                     balance_due=Decimal("10.00") + number)


def _bulk(answer: Any) -> object:
    class Bulk:
        asked: list[list[str]] = []

        @hookimpl
        def medbill_render_statements(self, statements: list[Statement], renderer: str,
                                      context: object) -> Any:
            Bulk.asked.append([s.statement_number for s in statements])
            return answer(statements) if callable(answer) else answer

    return Bulk()


def _start(*plugins: tuple[str, object]) -> PluginHooks:
    config = MedbillConfig(database_url="sqlite://", practice=factories.make_practice())
    return PluginHooks.start(config, extra_plugins=[("lineplug", make_line_plugin()), *plugins],
                             load_installed=False)


def _bulk_document(statement: Statement) -> RenderedDocument:
    return RenderedDocument(renderer="text", media_type="text/plain",
                            filename=f"{statement.statement_number}.bulk",
                            content=f"bulk {statement.statement_number}".encode())


def test_with_no_plugin_answering_each_statement_is_rendered_alone() -> None:
    hooks = _start()
    statements = [_statement(n) for n in (1, 2, 3)]
    documents = list(hooks.render_statements(statements=statements, renderer="text"))
    assert [d.content for d in documents] == [
        f"Statement S-{n}\nBalance due: {10 + n}.00\n".encode() for n in (1, 2, 3)]


def test_the_plugins_documents_come_first_and_the_rest_are_rendered_alone() -> None:
    bulk = _bulk(lambda statements: [_bulk_document(s) for s in statements[:2]])
    hooks = _start(("bulk", bulk))
    statements = [_statement(n) for n in (1, 2, 3, 4)]
    documents = list(hooks.render_statements(statements=statements, renderer="text"))
    assert [d.filename for d in documents] == [
        "S-1.bulk", "S-2.bulk", "statement-S-3.txt", "statement-S-4.txt"]
    assert bulk.asked == [["S-1", "S-2", "S-3", "S-4"]]  # type: ignore[attr-defined]


def test_a_statement_left_by_the_plugin_fails_with_its_own_error_after_those_before(
        monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = _start(("bulk", _bulk(lambda statements: [_bulk_document(statements[0])])))
    render = hooks.render_statement

    def broken_third(*, statement: Statement, renderer: str) -> RenderedDocument:
        if statement.statement_number == "S-3":
            raise MedbillError("statement S-3: cannot be rendered")
        return render(statement=statement, renderer=renderer)

    monkeypatch.setattr(hooks, "render_statement", broken_third)
    documents = hooks.render_statements(statements=[_statement(n) for n in (1, 2, 3, 4)],
                                        renderer="text")
    assert next(documents).filename == "S-1.bulk"
    assert next(documents).filename == "statement-S-2.txt"
    with pytest.raises(MedbillError, match="^statement S-3: cannot be rendered$"):
        next(documents)


@pytest.mark.parametrize(("answer", "message"), [
    (lambda statements: [_bulk_document(s) for s in [*statements, statements[0]]],
     "plugin 'bulk': medbill_render_statements returned 3 documents for 2 statements"),
    (lambda statements: ["not a document"],
     "plugin 'bulk': medbill_render_statements returned a list holding str, not a list of"
     " RenderedDocument"),
])
def test_a_wrong_answer_is_the_plugins_error(answer: Any, message: str) -> None:
    hooks = _start(("bulk", _bulk(answer)))
    with pytest.raises(PluginError) as caught:
        list(hooks.render_statements(statements=[_statement(1), _statement(2)],
                                     renderer="text"))
    assert str(caught.value) == message
