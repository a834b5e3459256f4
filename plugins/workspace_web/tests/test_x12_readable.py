"""Readable X12 (medbill_workspace_web.x12_readable): loop ids and names from pyx12's maps,
plain segments when a document cannot be walked."""

from __future__ import annotations

from pathlib import Path

from medbill_workspace_web.x12_readable import readable

FIXTURES = Path(__file__).resolve().parents[2] / "payer_generic_x12" / "tests" / "fixtures"
CLAIM = FIXTURES / "837P-X222A2" / "lfh__demo.cob.2ndary.example4.837"
ERA = FIXTURES / "835" / "lfh__managed-care.835"


def test_an_837_is_shown_with_its_loops_segments_and_elements_named() -> None:
    document = readable(CLAIM.read_text())
    assert document.walked and document.guide == "837.5010.X222.A1.xml"
    subscriber = next(s for s in document.segments
                      if s.segment_id == "NM1" and s.loop_id == "2010BA")
    assert subscriber.loop == "2010BA Subscriber Name"
    assert subscriber.segment_name == "Subscriber Name"
    assert (subscriber.elements[0].ref, subscriber.elements[0].name,
            subscriber.elements[0].value) == ("NM101", "Entity Identifier Code", "IL")
    claim = next(s for s in document.segments if s.segment_id == "CLM")
    assert claim.loop == "2300 Claim Information"
    assert claim.elements[0].name == "Patient Control Number"
    # every segment of the file is shown, in order, the envelope included
    raw = CLAIM.read_text().strip()
    assert [s.segment_id for s in document.segments] == [
        part.strip().split("*")[0] for part in raw.split(raw[105]) if part.strip()]


def test_an_835_names_its_claim_payment_and_service_loops_and_reading_twice_agrees() -> None:
    first, second = readable(ERA.read_text()), readable(ERA.read_text())
    assert first == second  # the cached map keeps no state between documents
    loops = [(s.segment_id, s.loop) for s in first.segments
             if s.segment_id in ("CLP", "SVC")][:2]
    assert loops == [("CLP", "2100 Claim Payment Information"),
                     ("SVC", "2110 Service Payment Information")]
    cas = next(s for s in first.segments if s.segment_id == "CAS")
    assert [(e.ref, e.name, e.value) for e in cas.elements] == [
        ("CAS01", "Claim Adjustment Group Code", "CO"),
        ("CAS02", "Adjustment Reason Code", "A2"), ("CAS03", "Adjustment Amount", "50.00")]


def test_a_document_pyx12_cannot_walk_is_shown_as_plain_segments() -> None:
    text = ERA.read_text().replace("005010X221A1", "005010X999Z9")  # no such guide
    document = readable(text)
    assert not document.walked and document.guide is None
    clp = next(s for s in document.segments if s.segment_id == "CLP")
    assert (clp.loop, clp.segment_name, clp.elements[0].ref, clp.elements[0].value) == (
        "", None, "CLP01", "5554555444")
    line = readable("claim WH1|143.50")
    assert [(s.segment_id, s.elements) for s in line.segments] == [("claim WH1|143.50", ())]
