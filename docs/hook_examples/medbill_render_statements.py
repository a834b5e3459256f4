"""Render a run's ``--renderer sms`` statements in one go: the texts of a whole group; a
statement this cannot word is left, with those after it, to ``medbill_render_statement``."""

from medbill_core.api import RenderedDocument, hookimpl


@hookimpl
def medbill_render_statements(statements, renderer, context):
    if renderer != "sms":
        return None  # other renderers: each statement rendered one at a time
    documents = []
    for statement in statements:
        if statement.balance_due <= 0:
            break  # this one and those after it: rendered alone, where its error is raised
        text = (f"{statement.practice.name}: balance due {statement.balance_due} "
                f"by {statement.due_date:%m/%d/%Y}, account {statement.account_number}")
        documents.append(RenderedDocument(renderer="sms", media_type="text/plain",
                                          filename=f"{statement.statement_number}.txt",
                                          content=text.encode("utf-8")))
    return documents
