"""The claim page's documents on the demo's real X12 cycle (the X12 engine's 837P, the
clearinghouse simulator's 999, 277CA and 835): every claim sent shows the file that carried
it and each answer naming it, and each document reads with its loops named by pyx12's maps."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from medbill_demo.runner import run_demo
from medbill_workspace_web.x12_readable import readable
from rich.console import Console
from sqlalchemy import select

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain import ClaimState
from medbill_core.lifecycle import NOT_SENT
from medbill_core.services.claim_documents import claim_documents, document_content
from medbill_core.storage.schema import ClaimRow, SubmissionRow
from medbill_core.x12_envelope import envelope_numbers


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Medbill]:
    out: Path = tmp_path_factory.mktemp("documents") / "demo"
    run_demo(out, 16, console=Console(file=io.StringIO(), width=120))
    medbill = Medbill.open(load_config(out / "medbill.toml"))
    try:
        yield medbill
    finally:
        medbill.close()


def test_every_sent_claim_shows_its_file_and_the_answers_naming_it(demo: Medbill) -> None:
    with demo.unit_of_work(read_only=True) as work:
        claims = list(work.session.execute(
            select(ClaimRow.id, ClaimRow.claim_number, ClaimRow.state)))
        files = {row.id: row for row in work.session.scalars(select(SubmissionRow))}
        checked = 0
        for claim_id, number, state in claims:
            documents = claim_documents(work, claim_id)
            sent = [d for d in documents if d.direction == "sent"]
            # the files that carried it: exactly those whose CLM01s name it
            carried = {f"sent-{file_id}" for file_id, row in files.items()
                       if any(number in claims_ for claims_ in
                              envelope_numbers(row.content).transactions.values())}
            assert {d.key for d in sent} == carried, number
            if ClaimState(state) in NOT_SENT:
                continue
            kinds = [d.kind for d in documents]
            # sent, then acknowledged (999), accepted (277CA); an 835 once it is answered
            assert kinds[0] in ("837P", "837I") and "999" in kinds and "277CA" in kinds, (
                number, kinds)
            if ClaimState(state) in (ClaimState.PAID, ClaimState.DENIED,
                                     ClaimState.PATIENT_BALANCE):
                assert "835" in kinds, (number, kinds)
            # in time order
            assert [d.at for d in documents] == sorted(d.at for d in documents)
            checked += 1
    assert checked >= 10


def test_the_demos_documents_read_with_their_loops_named(demo: Medbill) -> None:
    with demo.unit_of_work() as work:
        claim_id = work.session.scalar(select(ClaimRow.id).where(
            ClaimRow.state == ClaimState.DENIED.value).order_by(ClaimRow.id))
        assert claim_id is not None
        loops: dict[str, set[str]] = {}
        for document in claim_documents(work, claim_id):
            _found, content = document_content(work, claim_id, document.key, via="test")
            shown = readable(content)
            assert shown.walked, document.kind
            loops[document.kind] = {segment.loop for segment in shown.segments}
    assert "2010BA Subscriber Name" in loops["837P"]
    assert "2300 Claim Information" in loops["837P"]
    assert "2000 Transaction Set Response Header" in loops["999"]
    assert "2200D Claim Status Tracking Number" in loops["277CA"]
    assert "2100 Claim Payment Information" in loops["835"]
    assert "2110 Service Payment Information" in loops["835"]
