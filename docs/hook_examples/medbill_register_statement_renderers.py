"""Register a statement renderer; ``medbill statements run --renderer csv`` selects it."""

from medbill_core.api import RenderedDocument, StatementRenderer, hookimpl


class CsvRenderer(StatementRenderer):
    identifier = "csv"
    media_type = "text/csv"
    file_extension = "csv"

    def render(self, statement):
        rows = ["date,description,charge,balance"]
        rows += [f"{line.service_date},{line.description},{line.charge},{line.balance}"
                 for line in statement.lines]
        rows.append(f",balance due,,{statement.balance_due}")  # amounts come from the ledger
        return RenderedDocument(renderer=self.identifier, media_type=self.media_type,
                                filename=f"{statement.statement_number}.csv",
                                content="\n".join(rows).encode("utf-8"))


@hookimpl
def medbill_register_statement_renderers(context):
    return [CsvRenderer()]
