"""``among``: rows whose id is one of many, the ids sent as one value (SQLite: a JSON array
read by json_each; PostgreSQL: an integer array), on both databases."""

from __future__ import annotations

from sqlalchemy import event, select

from medbill_core.storage.id_list_sql import among
from medbill_core.storage.schema import PatientRow
from medbill_core.testing.factories import make_patient


def test_among_finds_exactly_the_ids_given_in_one_statement(medbill_app) -> None:
    with medbill_app.unit_of_work() as work:
        ids = [work.patients.register(make_patient(n)).id for n in range(1, 8)]
    sent: list[object] = []

    def count(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if statement.lstrip().startswith("SELECT"):
            sent.append(parameters)

    with medbill_app.unit_of_work(read_only=True) as work:
        def found(wanted) -> list[int]:
            return list(work.session.scalars(select(PatientRow.id).where(
                among(work.session, PatientRow.id, wanted)).order_by(PatientRow.id)))

        event.listen(medbill_app.database.engine, "before_cursor_execute", count)
        try:
            # more ids than SQLite allows bound parameters (32,766): still one statement
            many = found([ids[1], ids[3], *range(10**6, 10**6 + 40_000)])
        finally:
            event.remove(medbill_app.database.engine, "before_cursor_execute", count)
        assert many == [ids[1], ids[3]]
        assert len(sent) == 1 and len(sent[0]) <= 3  # the ids (and the practice) only
        assert found([]) == []
        assert found({ids[0], ids[6], ids[0]}) == [ids[0], ids[6]]
