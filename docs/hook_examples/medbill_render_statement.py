"""Render ``--renderer sms``: a one-line text for a patient's phone."""

from medbill_core.api import RenderedDocument, hookimpl


@hookimpl
def medbill_render_statement(statement, renderer, context):
    if renderer != "sms":
        return None  # other renderers: the core calls the registered renderer
    text = (f"{statement.practice.name}: balance due {statement.balance_due} "
            f"by {statement.due_date:%m/%d/%Y}, account {statement.account_number}")
    return RenderedDocument(renderer="sms", media_type="text/plain",
                            filename=f"{statement.statement_number}.txt",
                            content=text.encode("utf-8"))
