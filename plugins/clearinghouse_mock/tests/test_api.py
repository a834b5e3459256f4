"""The simulator's HTTP API, against the real server on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, date
from decimal import Decimal

import httpx
import pytest
from chm_support import (
    BILLING_NPI,
    PARTIES,
    TODAY,
    UNENROLLED_NPI,
    claim,
    claim_acks,
    find,
    fresh_member_id,
    line,
    payer,
    practice,
    prior_from,
    x270,
    x276,
    x837,
)
from medbill_payer_generic_x12.api import GenericX12Adapter, decode_835, encode_270

from medbill_core.api import (
    ClaimStatusCode,
    Coverage,
    CoverageOrder,
    CoverageStatus,
    EligibilityRequest,
    Patient,
    Relationship,
    Sex,
    Subscriber,
)

X12 = {"Content-Type": "application/edi-x12"}


def submit(http: httpx.Client, body: str | bytes, key: str) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    return http.post("/v1/claims/batches", content=content,
                     headers={**X12, "Idempotency-Key": key})


def feed(http: httpx.Client, **params: object) -> dict:
    response = http.get("/v1/responses", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def documents(http: httpx.Client, kind: str | None = None) -> list[dict]:
    found = feed(http, limit=1000)["documents"]
    return [d for d in found if kind is None or d["kind"] == kind]


# -- authentication -------------------------------------------------------------------------------

def test_health_needs_no_key(server) -> None:  # type: ignore[no-untyped-def]
    response = httpx.get(f"{server.base_url}/v1/health", timeout=5)
    assert response.status_code == 200
    assert response.json()["test_mode"] is True


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/v1/claims/batches"), ("GET", "/v1/responses"), ("POST", "/v1/responses/ack"),
    ("POST", "/v1/responses/doc-1/ack"), ("POST", "/v1/eligibility"),
    ("POST", "/v1/claim-status"), ("POST", "/v1/payment-runs"),
    ("GET", "/v1/claims/batches/sub-1"), ("GET", "/v1/test/faults"),
])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-key-123"},
                                     {"X-API-Key": "nope-nope-nope"}])
def test_bad_or_missing_api_key_is_401(server, method: str, path: str,  # type: ignore[no-untyped-def]
                                       headers: dict[str, str]) -> None:
    response = httpx.request(method, f"{server.base_url}{path}", headers={
        **headers, "Idempotency-Key": "k"}, content=b"ISA", timeout=5)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


def test_x_api_key_header_works(server, account: str) -> None:  # type: ignore[no-untyped-def]
    from chm_support import api_key

    response = httpx.get(f"{server.base_url}/v1/responses",
                         headers={"X-API-Key": api_key(account)}, timeout=5)
    assert response.status_code == 200


# -- bad input: TA1/999 rejections, never a 500 ---------------------------------------------------

def _good() -> str:
    return x837([claim("BAD1", member_id=fresh_member_id())])


def _replace_segment(text: str, tag: str, new: str) -> str:
    parts = text.split("~")
    return "~".join(new if p.split("*")[0] == tag else p for p in parts)


def _ta1(body: dict) -> list[str]:
    docs = [a for a in body["acknowledgments"] if a["kind"] == "TA1"]
    assert docs, "no TA1"
    return find(docs[0]["content"], "TA1")[0]


BAD_INTERCHANGES = {
    "empty": (lambda: "", "024"),
    "not x12": (lambda: "hello, this is not a healthcare document", "024"),
    "binary junk": (lambda: "\x00\x01\x02\xff binary", "024"),
    "truncated ISA": (lambda: "ISA*00*", "024"),
    "ISA of stars": (lambda: "ISA" + "*" * 200, "026"),
    "no IEA": (lambda: _good().rsplit("IEA", 1)[0], "023"),
    "IEA count": (lambda: _iea_count(_good()), "021"),
    "IEA control number": (lambda: _replace_segment(_good(), "IEA", "IEA*1*999999999"), "001"),
    "ISA control number not 9 digits": (lambda: _isa13(_good(), "12345678X"), "018"),
    "wrong version": (lambda: _isa_field(_good(), 12, "00401"), "017"),
    "segment outside a group": (lambda: _good().replace("~GS*", "~NTE*X~GS*", 1), "024"),
}


def _iea_count(text: str) -> str:
    control = find(text, "IEA")[0][2]
    return _replace_segment(text, "IEA", f"IEA*2*{control}")


def _isa13(text: str, value: str) -> str:
    return _isa_field(text, 13, value)


def _isa_field(text: str, position: int, value: str) -> str:
    isa, rest = text.split("~", 1)
    elements = isa.split("*")
    elements[position] = value
    return "*".join(elements) + "~" + rest


@pytest.mark.parametrize("case", BAD_INTERCHANGES)
def test_bad_interchanges_get_a_ta1_rejection(http: httpx.Client, case: str) -> None:
    make, note = BAD_INTERCHANGES[case]
    response = submit(http, make(), f"bad-{case}")
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "rejected"
    ta1 = _ta1(body)
    assert ta1[4] == "R" and ta1[5] == note
    assert [a["kind"] for a in body["acknowledgments"]] == ["TA1"]
    assert not documents(http, "277CA")


def _ak(text: str) -> tuple[list[list[str]], list[list[str]]]:
    return find(text, "IK5"), find(text, "AK9")


def _999(body: dict) -> str:
    docs = [a for a in body["acknowledgments"] if a["kind"] == "999"]
    assert len(docs) == 1
    return docs[0]["content"]


BAD_GROUPS = {
    # name: (mutation, expected IK5 codes or None, expected AK9 codes)
    "SE count": (lambda t: _replace_segment(t, "SE", f"SE*3*{_st02(t)}"), ["R", "4"], []),
    "SE control": (lambda t: _replace_segment(t, "SE", f"SE*{_se01(t)}*9999"), ["R", "3"], []),
    "GE count": (lambda t: _replace_segment(t, "GE", f"GE*5*{_gs06(t)}"), None, ["5"]),
    "GE control": (lambda t: _replace_segment(t, "GE", "GE*1*77777"), None, ["4"]),
    "wrong transaction set": (lambda t: t.replace("ST*837*", "ST*835*"), ["R", "1"], []),
    "wrong functional group": (lambda t: t.replace("GS*HC*", "GS*HP*"), None, ["1"]),
    "wrong guide version": (lambda t: t.replace("005010X222A1", "004010X098A1"), None, ["2"]),
    "bad segment ID": (lambda t: t.replace("~CLM*", "~cl$*X~CLM*", 1).replace(
        f"SE*{_se01(t)}*", f"SE*{int(_se01(t)) + 1}*"), ["R", "5"], []),
    "bad date": (lambda t: t.replace("DTP*472*D8*", "DTP*472*D8*2024139", 1), ["R", "5"], []),
    "missing SE": (lambda t: t.replace(f"~SE*{_se01(t)}*{_st02(t)}", ""), ["R", "2"], []),
}


def _st02(t: str) -> str:
    return find(t, "ST")[0][2]


def _se01(t: str) -> str:
    return find(t, "SE")[0][1]


def _gs06(t: str) -> str:
    return find(t, "GS")[0][6]


@pytest.mark.parametrize("case", BAD_GROUPS)
def test_bad_transaction_sets_get_a_999_rejection(http: httpx.Client, case: str) -> None:
    mutate, ik5, ak9_codes = BAD_GROUPS[case]
    response = submit(http, mutate(_good()), f"bad-{case}")
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "rejected"
    ack = _999(body)
    ik5s, ak9s = _ak(ack)
    assert ak9s[0][1] == "R"
    assert ak9s[0][4] == "0"  # accepted count
    assert ak9s[0][5:] == ak9_codes
    if ik5 is not None:
        assert ik5s[0][:len(ik5) + 1] == ["IK5", *ik5]
    assert body["claims"]["received"] == 0
    assert not documents(http, "277CA")


def test_element_error_names_segment_and_element(http: httpx.Client) -> None:
    text = _good().replace("DTP*472*D8*", "DTP*472*D8*2024139", 1)
    ack = _999(submit(http, text, "bad-date-detail").json())
    ik3 = find(ack, "IK3")[0]
    ik4 = find(ack, "IK4")[0]
    assert ik3[1] == "DTP" and ik3[4] == "8"
    segments_before = text.split("~ST*", 1)[1].split("~")
    assert int(ik3[2]) == next(i for i, s in enumerate(segments_before, start=1)
                               if s.startswith("DTP*472"))
    assert ik4[1] == "3" and ik4[3] == "8"


def test_partially_accepted_group(http: httpx.Client) -> None:
    one = x837([claim("P1", member_id=fresh_member_id())])
    two = x837([claim("P2", member_id=fresh_member_id())])
    # Two transaction sets in one group: the second with a wrong SE count.
    st1 = one[one.index("ST*837"):one.index("~GE*") + 1]
    st2 = two[two.index("ST*837"):two.index("~GE*") + 1]
    st2 = st2.replace("ST*837*0001", "ST*837*0002").replace(
        f"SE*{_se01(two)}*0001", "SE*5*0002")
    head = one[:one.index("ST*837")]
    gs06 = _gs06(one)
    control = find(one, "ISA")[0][13]
    text = f"{head}{st1}{st2}GE*2*{gs06}~IEA*1*{control}~"
    body = submit(http, text, "partial").json()
    assert body["status"] == "partially_accepted"
    ik5s, ak9s = _ak(_999(body))
    assert [s[1] for s in ik5s] == ["A", "R"]
    assert ak9s[0][1:5] == ["P", "2", "2", "1"]
    assert claim_acks(documents(http, "277CA")[0]["content"]).keys() == {"P1"}


def test_acknowledgment_requested_gets_a_ta1_too(http: httpx.Client) -> None:
    text = _isa_field(_good(), 14, "1")
    body = submit(http, text, "ta1-requested").json()
    assert [a["kind"] for a in body["acknowledgments"]] == ["TA1", "999"]
    assert _ta1(body)[4:6] == ["A", "000"]


def test_duplicate_interchange_control_number_is_rejected(http: httpx.Client) -> None:
    text = _good()
    assert submit(http, text, "first-key").json()["status"] == "accepted"
    again = submit(http, text.replace("BAD1", "BAD2"), "second-key").json()
    assert again["status"] == "rejected"
    assert _ta1(again)[4:6] == ["R", "025"]


# -- idempotency ----------------------------------------------------------------------------------

def test_same_idempotency_key_returns_the_same_submission_once(http: httpx.Client) -> None:
    text = x837([claim("IDEM1", member_id=fresh_member_id())])
    first = submit(http, text, "idem-key-1")
    again = submit(http, text, "idem-key-1")
    assert first.status_code == again.status_code == 202
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert first.json() == again.json()
    docs = documents(http)
    assert [d["kind"] for d in docs] == ["999", "277CA"]
    assert http.get(f"/v1/claims/batches/{first.json()['submission_id']}").json()[
        "claim_states"][0]["claim_number"] == "IDEM1"


def test_reused_key_with_another_body_is_409_and_missing_key_is_400(
        http: httpx.Client) -> None:
    text = x837([claim("IDEM2", member_id=fresh_member_id())])
    assert submit(http, text, "idem-key-2").status_code == 202
    conflict = submit(http, text.replace("IDEM2", "IDEM3"), "idem-key-2")
    assert conflict.status_code == 409
    assert conflict.json()["error"] == "idempotency_key_reused"
    missing = http.post("/v1/claims/batches", content=text.encode(), headers=X12)
    assert missing.status_code == 400
    assert len(documents(http, "277CA")) == 1


def test_unknown_submission_is_404(http: httpx.Client) -> None:
    assert http.get("/v1/claims/batches/sub-99999999").status_code == 404


# -- 277CA: per-claim acceptance and rejection -----------------------------------------------------

def test_277ca_accepts_and_rejects_claims_with_reasons(http: httpx.Client) -> None:
    claims = [
        claim("OK1", member_id=fresh_member_id()),
        claim("NOMEMBER", member_id="UNKNOWN123"),
        claim("BADDX", member_id=fresh_member_id(), diagnoses=["R69"]),
        claim("HEADERDX", member_id=fresh_member_id(), diagnoses=["I10", "E11"]),
        claim("NPI1", member_id=fresh_member_id(), payer_id="STRICT1",
              rendering=UNENROLLED_NPI),
        claim("NOREND", member_id=fresh_member_id(), payer_id="STRICT1", rendering=None),
        claim("OK2", member_id=fresh_member_id(), payer_id="STRICT1"),
    ]
    body = submit(http, x837(claims), "ca-1").json()
    assert body["claims"] == {"received": 7, "accepted": 2, "rejected": 5}
    ack = documents(http, "277CA")[0]["content"]
    acks = claim_acks(ack)
    assert acks["OK1"]["stc"] == ["A2:20"]
    assert acks["OK2"]["stc"] == ["A2:20"]
    assert acks["NOMEMBER"]["stc"] == ["A3:33:IL"]
    assert acks["BADDX"]["stc"] == ["A7:254"]
    assert acks["HEADERDX"]["stc"] == ["A7:255"]  # E11 is a category, not billable
    assert acks["NPI1"]["stc"] == ["A3:562:82"]
    assert acks["NOREND"]["stc"] == ["A6:562:82"]
    assert acks["NOMEMBER"]["message"] == "subscriber and subscriber ID not found"
    assert all(a["icn"] for a in acks.values())
    stc = {s[1]: s for s in find(ack, "STC")}
    assert stc["A3:33:IL"][3] == "U" and stc["A2:20"][3] == "WQ"


def test_claim_failing_validation_is_rejected_alone(http: httpx.Client) -> None:
    text = x837([claim("GOOD", member_id=fresh_member_id()),
                 claim("BADNPI", member_id=fresh_member_id())])
    # Break the rendering NPI's check digit of the second claim only.
    from chm_support import RENDERING_NPI
    head, tail = text.rsplit(f"XX*{RENDERING_NPI}", 1)
    broken = RENDERING_NPI[:-1] + str((int(RENDERING_NPI[-1]) + 1) % 10)
    body = submit(http, f"{head}XX*{broken}{tail}", "ca-2").json()
    assert body["status"] == "accepted"
    assert body["claims"] == {"received": 2, "accepted": 1, "rejected": 1}
    acks = claim_acks(documents(http, "277CA")[0]["content"])
    assert acks["GOOD"]["stc"] == ["A2:20"]
    assert acks["BADNPI"]["stc"] == ["A3:562:82"]


def test_claim_with_wrong_total_is_rejected(http: httpx.Client) -> None:
    text = x837([claim("TOTAL", member_id=fresh_member_id())])
    text = text.replace("CLM*TOTAL*125*", "CLM*TOTAL*126*")
    body = submit(http, text, "ca-3").json()
    assert body["claims"]["rejected"] == 1
    assert claim_acks(documents(http, "277CA")[0]["content"])["TOTAL"]["stc"] == ["A7:178"]


# -- feed and acknowledgment ----------------------------------------------------------------------

def test_feed_redelivers_until_acknowledged_and_never_after(http: httpx.Client) -> None:
    submit(http, x837([claim("F1", member_id=fresh_member_id())]), "feed-1")
    first = feed(http)["documents"]
    assert [d["kind"] for d in first] == ["999", "277CA"]
    again = feed(http)["documents"]
    assert [d["document_id"] for d in again] == [d["document_id"] for d in first]
    assert again[0]["deliveries"] == 2
    ack = http.post("/v1/responses/ack", json={"document_ids": [first[0]["document_id"]]})
    assert ack.json() == {"acknowledged": [first[0]["document_id"]],
                          "already_acknowledged": [], "unknown": []}
    assert [d["document_id"] for d in feed(http)["documents"]] == [first[1]["document_id"]]
    one = http.post(f"/v1/responses/{first[1]['document_id']}/ack")
    assert one.status_code == 200
    assert feed(http)["documents"] == []
    twice = http.post("/v1/responses/ack", json={"document_ids": [first[0]["document_id"],
                                                                  "doc-nope"]})
    assert twice.json() == {"acknowledged": [], "already_acknowledged": [first[0]["document_id"]],
                            "unknown": ["doc-nope"]}
    assert http.post("/v1/responses/doc-nope/ack").status_code == 404


def test_feed_pages_with_a_cursor(http: httpx.Client) -> None:
    for n in range(3):
        submit(http, x837([claim(f"PG{n}", member_id=fresh_member_id())]), f"page-{n}")
    seen: list[str] = []
    cursor = None
    for _ in range(20):  # bounded
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = feed(http, **params)
        seen += [d["document_id"] for d in page["documents"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert len(seen) == 6 and len(set(seen)) == 6
    sequences = [d["sequence"] for d in feed(http, limit=100)["documents"]]
    assert sequences == sorted(sequences)
    assert feed(http, cursor=cursor)["documents"] == []


def test_feed_rejects_bad_cursor_and_limit(http: httpx.Client) -> None:
    assert http.get("/v1/responses", params={"cursor": "not-a-cursor!"}).status_code == 400
    assert http.get("/v1/responses", params={"limit": "0"}).status_code == 400
    assert http.post("/v1/responses/ack", json={"ids": []}).status_code == 400


def test_accounts_do_not_see_each_others_documents(server, http: httpx.Client) -> None:  # type: ignore[no-untyped-def]
    from chm_support import ACCOUNTS, api_key
    submit(http, x837([claim("MINE", member_id=fresh_member_id())]), "mine")
    other = httpx.get(f"{server.base_url}/v1/responses",  # the last account: no test's own
                      headers={"Authorization": f"Bearer {api_key(ACCOUNTS[-1])}"}, timeout=5)
    assert all(d["kind"] != "277CA" or "MINE" not in d["content"]
               for d in other.json()["documents"])


# -- adjudication through the API: 835s -----------------------------------------------------------

def _remittances(http: httpx.Client) -> list:
    result = []
    for doc in documents(http, "835"):
        result.extend(decode_835(doc["content"]))
    return result


def test_payment_run_sends_835s_per_payer_with_exact_amounts(http: httpx.Client) -> None:
    member = fresh_member_id()
    claims = [claim("PAY1", member_id=member, lines=[line(1, "99213", "125.00"),
                                                     line(2, "36415", "18.50")]),
              claim("PAY2", member_id=fresh_member_id(), lines=[line(1, "93000", "40.00")]),
              claim("PAY3", member_id=fresh_member_id(), payer_id="STRICT1", pos="22",
                    lines=[line(1, "99214", "200.00")])]
    submit(http, x837(claims), "pay-1")
    runs = http.post("/v1/payment-runs").json()["remittances"]
    assert sorted(r["payer_id"] for r in runs) == ["ACME1", "STRICT1"]
    remittances = {r.payer_id: r for r in _remittances(http)}
    acme = remittances["ACME1"]
    by_claim = {c.claim_number: c for c in acme.claims}
    assert (by_claim["PAY1"].paid, by_claim["PAY1"].patient_responsibility) == (
        Decimal("65.00"), Decimal("28.00"))
    assert by_claim["PAY2"].status is ClaimStatusCode.DENIED
    assert by_claim["PAY2"].services[0].adjustments[0].reason_code == "96"
    assert by_claim["PAY2"].services[0].remark_codes == ["N130"]
    strict = remittances["STRICT1"].claims[0]
    # HDHP: deductible 1000 with 950 met -> 50.00, then 20 % of 78.00 = 15.60.
    assert (strict.paid, strict.patient_responsibility) == (Decimal("62.40"), Decimal("65.60"))
    for remittance in remittances.values():
        assert remittance.is_balanced()
        assert all(c.is_balanced() for c in remittance.claims)
        assert remittance.payee_npi == BILLING_NPI
    assert http.post("/v1/payment-runs").json()["remittances"] == []


def test_provider_level_adjustment_every_second_remittance(http: httpx.Client) -> None:
    seen = []
    for n in range(2):
        submit(http, x837([claim(f"PLB{n}", member_id=fresh_member_id())]), f"plb-{n}")
        http.post("/v1/payment-runs")
    for remittance in _remittances(http):
        seen.append([(p.reason_code, p.amount) for p in remittance.provider_adjustments])
        assert remittance.is_balanced()
    assert sorted(seen, key=len) == [[], [("L6", Decimal("-1.25"))]]


def test_duplicate_and_timely_filing_denials_in_the_835(http: httpx.Client) -> None:
    from datetime import timedelta

    from chm_support import SERVICE_DAY
    member = fresh_member_id()
    submit(http, x837([claim("DUP1", member_id=member)]), "dup-1")
    submit(http, x837([claim("DUP2", member_id=member)]), "dup-2")
    old = SERVICE_DAY - timedelta(days=400)
    submit(http, x837([claim("LATE", member_id=fresh_member_id(), lines=[line(1, day=old)])]),
           "late")
    http.post("/v1/payment-runs")
    claims = {c.claim_number: c for r in _remittances(http) for c in r.claims}
    assert claims["DUP1"].paid == Decimal("65.00")
    assert [(a.group.value, a.reason_code) for a in claims["DUP2"].all_adjustments] == [
        ("CO", "18")]
    assert [(a.group.value, a.reason_code) for a in claims["LATE"].all_adjustments] == [
        ("CO", "29")]


def test_replacement_reverses_the_paid_claim(http: httpx.Client) -> None:
    member = fresh_member_id()
    submit(http, x837([claim("RPL", member_id=member)]), "rpl-1")
    http.post("/v1/payment-runs")
    icn = next(c.payer_claim_number for r in _remittances(http) for c in r.claims)
    for doc in documents(http):
        http.post(f"/v1/responses/{doc['document_id']}/ack")
    fixed = claim("RPL", member_id=member, frequency="7", original=icn,
                  lines=[line(1, "99214", "200.00")])
    submit(http, x837([fixed]), "rpl-2")
    assert claim_acks(documents(http, "277CA")[0]["content"])["RPL"]["stc"] == ["A2:20"]
    http.post("/v1/payment-runs")
    (remittance,) = _remittances(http)
    reversal, new = remittance.claims
    assert reversal.status is ClaimStatusCode.REVERSAL
    assert (reversal.paid, reversal.payer_claim_number) == (Decimal("-65.00"), icn)
    # The copay comes back with the reversal, so the replacement owes it again.
    assert (new.paid, new.patient_responsibility) == (Decimal("103.00"), Decimal("25.00"))
    # Second remittance of this account to ACME1: its PLB rule adds 1.25 interest (L6).
    assert [(p.reason_code, p.amount) for p in remittance.provider_adjustments] == [
        ("L6", Decimal("-1.25"))]
    assert remittance.payment_amount == Decimal("39.25")
    assert remittance.is_balanced()


def test_rejected_claim_is_resubmitted_as_an_original_not_replaced(http: httpx.Client) -> None:
    submit(http, x837([claim("FIX", member_id="UNKNOWN555")]), "fix-1")
    icn = claim_acks(documents(http, "277CA")[0]["content"])["FIX"]["icn"]
    # A replacement of a claim rejected up front is refused, as real payers do...
    replacement = claim("FIX", member_id=fresh_member_id(), frequency="7", original=icn)
    submit(http, x837([replacement]), "fix-2")
    assert claim_acks(documents(http, "277CA")[1]["content"])["FIX"]["stc"] == ["A7:21"]
    # ... the fixed claim goes in again as an original.
    submit(http, x837([claim("FIX", member_id=fresh_member_id())]), "fix-3")
    assert claim_acks(documents(http, "277CA")[2]["content"])["FIX"]["stc"] == ["A2:20"]
    bogus = claim("FIX", member_id=fresh_member_id(), frequency="7", original="NOSUCHICN")
    submit(http, x837([bogus]), "fix-4")
    assert claim_acks(documents(http, "277CA")[3]["content"])["FIX"]["stc"] == ["A7:21"]


# -- real time: 270/271 and 276/277 --------------------------------------------------------------

def test_secondary_claim_is_paid_after_the_primary(http: httpx.Client) -> None:
    """Primary STRICT1 (HDHP), then the same services to ACME1 (PPO) as a secondary claim
    carrying STRICT1's adjudication in 2320/2330: CLP02 = 2, OA-23 for what STRICT1 settled."""
    lines = [line(1, "99214", "200.00"), line(2, "36415", "18.50")]
    first_member, second_member = fresh_member_id(), fresh_member_id()
    submit(http, x837([claim("COB1", member_id=first_member, payer_id="STRICT1",
                             lines=lines)]), "cob-1")
    http.post("/v1/payment-runs")
    (primary_remit,) = _remittances(http)
    (primary,) = primary_remit.claims
    # HDHP: line 1 allowed 128.00, deductible 50.00, 20 % of 78.00; line 2 allowed 3.00, 0.60.
    assert (primary.paid, primary.patient_share()) == (Decimal("64.80"), Decimal("66.20"))
    for doc in documents(http):
        http.post(f"/v1/responses/{doc['document_id']}/ack")
    prior = prior_from(primary, payer_id="STRICT1", member_id=first_member,
                       paid_date=primary_remit.payment_date)
    secondary_bill = claim("COB1-S2", member_id=second_member, payer_id="ACME1", lines=lines,
                           order=CoverageOrder.SECONDARY, priors=[prior])
    submit(http, x837([secondary_bill]), "cob-2")
    assert claim_acks(documents(http, "277CA")[0]["content"])["COB1-S2"]["stc"] == ["A2:20"]
    http.post("/v1/payment-runs")
    (doc,) = documents(http, "835")
    (remittance,) = decode_835(doc["content"])
    (secondary,) = remittance.claims
    assert secondary.status is ClaimStatusCode.SECONDARY
    # Open: STRICT1's PR 66.20, spread by charge: 60.59 and 5.61. ACME1 takes its copay (25.00,
    # no deductible on that line) on line 1 and its deductible on line 2.
    assert [[(a.group.value, a.reason_code, a.amount) for a in s.adjustments]
            for s in secondary.services] == [
        [("OA", "23", Decimal("139.41")), ("PR", "3", Decimal("25.00"))],
        [("OA", "23", Decimal("12.89")), ("PR", "1", Decimal("5.61"))]]
    assert (secondary.charge, secondary.paid, secondary.patient_responsibility) == (
        Decimal("218.50"), Decimal("35.59"), Decimal("30.61"))
    prior_contractual = sum((a.amount for a in primary.all_adjustments
                             if a.group.value == "CO"), Decimal("0"))
    assert (primary.paid + secondary.paid + prior_contractual
            + secondary.patient_share()) == Decimal("218.50")
    assert remittance.is_balanced() and secondary.is_balanced()
    assert all(s.is_balanced() for s in secondary.services)
    assert remittance.payment_amount == Decimal("35.59")
    from medbill_payer_generic_x12.api import pyx12_verdict

    ok, errors = pyx12_verdict(doc["content"])
    assert ok, errors


def test_eligibility_for_a_roster_member(http: httpx.Client) -> None:
    response = http.post("/v1/eligibility", content=x270("ROSTER0001").encode(), headers=X12)
    assert response.status_code == 200
    assert response.headers["x-document-kind"] == "271"
    text = response.text
    eb = [s[1:] for s in find(text, "EB")]
    assert ["1", "IND", "30", "", "TEST PPO"] in eb
    remaining = next(e[:7] for e in eb if e[0] == "C" and e[5] == "29")
    assert remaining == ["C", "IND", "30", "", "", "29", "300"]  # 500 - 200 met
    assert any(e[0] == "A" and e[7] == "0.2" for e in eb)
    assert any(e[0] == "B" and e[6] == "25" for e in eb)
    assert find(text, "TRN")[0][1:3] == ["2", "TRACE-1"]
    assert find(text, "DMG")[0][2] == "19750403"


def test_eligibility_unknown_member_inactive_plan_and_unknown_payer(http: httpx.Client) -> None:
    unknown = http.post("/v1/eligibility", content=x270("UNKNOWN999").encode(), headers=X12)
    assert find(unknown.text, "AAA")[0][1:5] == ["Y", "", "75", "C"]
    lapsed = http.post("/v1/eligibility", content=x270("LAPSED0001").encode(), headers=X12)
    assert find(lapsed.text, "EB")[0][1] == "6"
    payer = http.post("/v1/eligibility", content=x270("ROSTER0001", payer_id="NOPE1").encode(),
                      headers=X12)
    assert find(payer.text, "AAA")[0][3] == "T4"


def test_eligibility_for_a_dependent(http: httpx.Client) -> None:
    text = http.post("/v1/eligibility", content=x270("ROSTER0001", dependent=True).encode(),
                     headers=X12).text
    assert [s[3] for s in find(text, "HL")] == ["20", "21", "22", "23"]
    assert find(text, "NM1")[-1][1] == "03"


def _check_271(text: str) -> list:
    """A 271 as the simulator's own front end and medbill's strict reader see it (pyx12 4.0
    has no 005010X279A1 map: it answers "Map not found", the 270/271 samples' NOVALIDATE)."""
    from medbill_clearinghouse_mock.simulator.envelope import check_interchange
    from medbill_payer_generic_x12.api import decode_document, pyx12_verdict

    check = check_interchange(text, functional_id="HB", set_id="271",
                              version_prefix="005010X279")
    assert check.note_code == "000" and all(not g.ak9_codes for g in check.groups)
    assert all(t.accepted and not t.problems for g in check.groups for t in g.transactions)
    with pytest.raises(Exception, match="Map not found"):
        pyx12_verdict(text)
    kind, answers = decode_document(text)
    assert kind.value == "271"
    return answers


@pytest.mark.parametrize("member", ["ROSTER0001", "LAPSED0001"])
def test_eligibility_for_two_service_types_repeats_eb03(http: httpx.Client,
                                                        member: str) -> None:
    """EQ01 repeated (30^98) used to answer 500: the 271 writer refused the repetition
    separator joined into EB03's data. Now EB03 repeats each type asked about once."""
    response = http.post("/v1/eligibility", content=x270(
        member, service_types=("30", "98", "30")).encode(), headers=X12)
    assert response.status_code == 200, response.text
    assert response.headers["x-document-kind"] == "271"
    assert "EB*1*IND*30^98*" in response.text or "EB*6*IND*30^98~" in response.text
    (answer,) = _check_271(response.text)
    assert answer.benefits[0].service_types == ["30", "98"]
    assert answer.status is (CoverageStatus.ACTIVE if member == "ROSTER0001"
                             else CoverageStatus.INACTIVE)


@pytest.mark.parametrize("active", [True, False])
def test_encode_271_writes_two_service_types_as_eb03_repeats(active: bool) -> None:
    """encode_271 itself, on the 270 a client sends asking service types 30 and 1: EB03 is
    their repeats (30^1), written by the X12 writer's list support with the interchange's
    repetition separator (ISA11), each type once; the strict reader reads both back."""
    from datetime import datetime

    from medbill_clearinghouse_mock.simulator.acks import Envelope
    from medbill_clearinghouse_mock.simulator.config import Member
    from medbill_clearinghouse_mock.simulator.realtime import (
        EligibilityAnswer,
        decode_270,
        encode_271,
    )
    from medbill_payer_generic_x12.api import MemoryControlNumbers, read_segments

    delimiters, request = read_segments(x270("ROSTER0001", service_types=("30", "1", "30")))
    inquiry = decode_270(request, delimiters.repetition)
    assert inquiry.service_types == ["30", "1", "30"]
    member = Member(payer_id="ACME1", member_id="ROSTER0001", last_name="RIVERA",
                    first_name="MARIA")
    text = encode_271(inquiry, EligibilityAnswer("ACME HEALTH", member, active),
                      Envelope(sender_id="CHMOCK", receiver_id="MEDBILL"),
                      MemoryControlNumbers(), datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    answer_delimiters, segments = read_segments(text)
    assert answer_delimiters.repetition == "^"
    [eb] = [segment for segment in segments if segment[0] == "EB" and segment[1] in "16"]
    assert eb[1:4] == ["1" if active else "6", "IND", "30^1"]
    (answer,) = _check_271(text)
    assert answer.benefits[0].service_types == ["30", "1"]


def test_eligibility_for_two_service_types_through_the_adapter(
        make_channel) -> None:  # type: ignore[no-untyped-def]
    """medbill's 270 asks each service type in its own EQ segment; the simulator answers all
    of them in one EB03, which the 271 decoder splits back."""
    request = _eligibility_requests()[0].model_copy(update={"service_types": ["30", "98"]})
    channel = make_channel()
    text = encode_270([request], parties=GenericX12Adapter().options(request.payer).parties())
    assert [s[1] for s in find(text, "EQ")] == ["30", "98"]
    reply = channel.exchange("270", text)
    assert reply.kind.value == "271"
    _check_271(reply.content)
    answer = GenericX12Adapter().check_eligibility(request, channel)
    assert answer.status is CoverageStatus.ACTIVE
    assert answer.benefits[0].service_types == ["30", "98"]
    assert answer.summary("98").copay == Decimal("25")


@pytest.mark.parametrize(("types", "ik4"), [(("30", "ABC"), "7"),
                                            (tuple(f"{n:02d}" for n in range(100)), "12")])
def test_eligibility_with_a_bad_or_too_many_service_types_gets_a_999(
        http: httpx.Client, types: tuple[str, ...], ik4: str) -> None:
    response = http.post("/v1/eligibility", content=x270("ROSTER0001", service_types=types)
                         .encode(), headers=X12)
    assert response.status_code == 422
    assert response.headers["x-document-kind"] == "999"
    assert find(response.text, "IK3")[0][1] == "EQ"
    assert find(response.text, "IK4")[0][3] == ik4


@pytest.mark.parametrize("body", ["", "not x12", "ISA*00*"])
def test_bad_realtime_request_gets_a_ta1(http: httpx.Client, body: str) -> None:
    for path in ("/v1/eligibility", "/v1/claim-status"):
        response = http.post(path, content=body.encode(), headers=X12)
        assert response.status_code == 422
        assert response.headers["x-document-kind"] == "TA1"
        assert find(response.text, "TA1")[0][4] == "R"


def test_270_without_subscriber_gets_a_999(http: httpx.Client) -> None:
    text = x270("ROSTER0001")
    nm1 = next(p for p in text.split("~") if p.startswith("NM1*IL"))
    text = text.replace(nm1 + "~", "").replace("SE*13*", "SE*12*")
    response = http.post("/v1/eligibility", content=text.encode(), headers=X12)
    assert response.status_code == 422
    assert response.headers["x-document-kind"] == "999"
    assert find(response.text, "IK5")[0][1] == "R"
    wrong = http.post("/v1/eligibility", content=x837([claim("X", member_id="M9")]).encode(),
                      headers=X12)
    assert wrong.status_code == 422 and find(wrong.text, "AK9")[0][5] == "1"


def test_claim_status_through_the_cycle(http: httpx.Client) -> None:
    member = fresh_member_id()
    missing = http.post("/v1/claim-status", content=x276(claim_number="NOCLAIM").encode(),
                        headers=X12)
    assert missing.status_code == 200 and missing.headers["x-document-kind"] == "277"
    assert find(missing.text, "STC")[0][1] == "A4:35"
    submit(http, x837([claim("ST1", member_id=member), claim("ST2", member_id="UNKNOWN1")]),
           "status-1")
    pending = http.post("/v1/claim-status", content=x276(claim_number="ST1").encode(),
                        headers=X12).text
    assert find(pending, "STC")[0][1] == "F0:3"
    rejected = http.post("/v1/claim-status", content=x276(claim_number="ST2").encode(),
                         headers=X12).text
    assert find(rejected, "STC")[0][1] == "A3:33:IL"
    http.post("/v1/payment-runs")
    icn = claim_acks(documents(http, "277CA")[0]["content"])["ST1"]["icn"]
    paid = http.post("/v1/claim-status", content=x276(payer_claim_number=icn).encode(),
                     headers=X12).text
    stc = find(paid, "STC")[0]
    assert stc[1] == "F1:65" and stc[4] == "125" and stc[5] == "65" and stc[7] == "ACH"
    assert stc[9].startswith("EFT")
    assert find(paid, "REF")[0][1:] == ["1K", icn]


def test_every_response_document_is_valid_x12(http: httpx.Client) -> None:
    from medbill_payer_generic_x12.api import pyx12_verdict

    submit(http, x837([claim("V1", member_id=fresh_member_id()),
                       claim("V2", member_id="UNKNOWN2", diagnoses=["R69"])]), "valid-1")
    submit(http, _isa_field(x837([claim("V3", member_id=fresh_member_id())]), 14, "1"),
           "valid-2")
    submit(http, _good().replace("SE*", "SE*1", 1), "valid-3")
    http.post("/v1/payment-runs")
    texts = [(d["kind"], d["content"]) for d in documents(http)]
    # pyx12 indexes no 5010 map for the 271 (X279A1) or the 277 (X212): those two are checked
    # segment by segment in the tests above.
    kinds = {kind for kind, _ in texts}
    assert kinds >= {"TA1", "999", "277CA", "835"}
    for kind, text in texts:
        ok, errors = pyx12_verdict(text)
        assert ok, f"{kind}: {errors}"
    assert PARTIES.submitter_id in texts[0][1]


def test_every_response_decodes_with_the_x12_engine(http: httpx.Client) -> None:
    """What the simulator sends is what medbill's generic X12 adapter reads."""
    from medbill_payer_generic_x12.api import decode_document
    submit(http, x837([claim("DEC1", member_id=fresh_member_id()),
                       claim("DEC2", member_id="UNKNOWN7", diagnoses=["R69"])]), "decode-1")
    submit(http, b"garbage", "decode-2")
    http.post("/v1/payment-runs")
    texts = [(d["kind"], d["content"]) for d in documents(http)]
    texts += [("271", http.post("/v1/eligibility", content=x270(member).encode(),
                                headers=X12).text) for member in ("ROSTER0001", "UNKNOWN8")]
    texts.append(("277", http.post("/v1/claim-status", content=x276(claim_number="DEC1")
                                   .encode(), headers=X12).text))
    decoded = {}
    for kind, text in texts:
        found_kind, items = decode_document(text)
        assert found_kind.value == kind
        decoded.setdefault(kind, []).extend(items)
    assert set(decoded) == {"TA1", "999", "277CA", "835", "271", "277"}
    (batch,) = decoded["277CA"]
    states = {c.claim_number: (c.status.value, [(s.category, s.code, s.entity)
                                                for s in c.status_codes]) for c in batch.claims}
    assert states == {"DEC1": ("accepted", [("A2", "20", None)]),
                      "DEC2": ("rejected", [("A3", "33", "IL"), ("A7", "254", None)])}
    assert decoded["835"][0].claims[0].paid == Decimal("65.00")
    assert [r.status.value for r in decoded["271"]] == ["active", "error"]
    assert decoded["277"][0].claims[0].status_codes[0].category == "F1"


# -- batch eligibility: one 270 with many subscriber loops, one 271 answering each ---------------

def _eligibility_requests() -> list[EligibilityRequest]:
    the_payer = payer().model_copy(update={"options": {"submitter_id": "MEDBILLTEST",
                                                      "receiver_id": "MOCKCH"}})
    patient = Patient(account_number="A-1", last_name="RIVERA", first_name="SAM",
                      birth_date=date(1975, 4, 3), sex=Sex.MALE)
    kid = Patient(account_number="A-2", last_name="RIVERA", first_name="KID",
                  birth_date=date(2010, 1, 1), sex=Sex.FEMALE)
    parent = Subscriber(last_name="RIVERA", first_name="SAM", birth_date=date(1975, 4, 3),
                        sex=Sex.MALE)

    def request(trace: str, member_id: str, who: Patient = patient,
                relationship: Relationship = Relationship.SELF) -> EligibilityRequest:
        coverage = Coverage(payer_key=the_payer.key, member_id=member_id,
                            relationship=relationship,
                            subscriber=parent if relationship is not Relationship.SELF else None)
        return EligibilityRequest(trace_number=trace, practice=practice(), patient=who,
                                  coverage=coverage, payer=the_payer, service_date=TODAY)

    return [request("T-ACTIVE", "ROSTER0001"), request("T-UNKNOWN", "UNKNOWN999"),
            request("T-LAPSED", "LAPSED0001"),
            request("T-CHILD", "ROSTER0001", kid, Relationship.CHILD)]


def test_a_270_of_many_subscribers_gets_a_271_answering_each_by_trace(
        make_channel) -> None:  # type: ignore[no-untyped-def]
    requests = _eligibility_requests()
    channel = make_channel()
    text = encode_270(requests, parties=GenericX12Adapter().options(requests[0].payer).parties(),
                      subscribers_per_transaction=500)
    assert [s[1] for s in find(text, "ST")] == ["270"]  # one transaction set ...
    assert [s[3] for s in find(text, "HL")] == ["20", "21", "22", "22", "22", "22", "23"]
    # pyx12 ships no 005010X279A1 map: the simulator's front end (TA1/999 checks of the
    # envelope and segments) and the strict reader (SE counts, HL parents) check them instead
    reply = channel.exchange("270", text)
    assert reply.kind.value == "271"
    assert [s[1] for s in find(reply.content, "ST")] == ["271"]  # ... answered by one
    assert [s[3] for s in find(reply.content, "HL")] == [
        "20", "21", "22", "22", "22", "22", "23"]
    assert [s[1:3] for s in find(reply.content, "HL")] == [
        ["1", ""], ["2", "1"], ["3", "2"], ["4", "2"], ["5", "2"], ["6", "2"], ["7", "6"]]

    answers = GenericX12Adapter().check_eligibility_many(requests, channel)
    assert set(answers) == {r.trace_number for r in requests}
    assert answers["T-ACTIVE"].status is CoverageStatus.ACTIVE
    assert answers["T-CHILD"].status is CoverageStatus.ACTIVE
    assert answers["T-LAPSED"].status is CoverageStatus.INACTIVE
    unknown = answers["T-UNKNOWN"]
    assert unknown.status is CoverageStatus.ERROR
    assert [i.reject_reason for i in unknown.issues] == ["75"]
    assert answers["T-ACTIVE"].plan_name == "TEST PPO"
    # the single request is the same exchange with one subscriber loop
    alone = GenericX12Adapter().check_eligibility(requests[0], channel)
    assert alone == answers["T-ACTIVE"]


def test_a_batch_270_to_an_unknown_payer_is_refused_for_every_request(
        make_channel) -> None:  # type: ignore[no-untyped-def]
    nobody = payer("NOPE1").model_copy(update={"options": {"submitter_id": "MEDBILLTEST",
                                                          "receiver_id": "MOCKCH"}})
    requests = [r.model_copy(update={"payer": nobody}) for r in _eligibility_requests()]
    answers = GenericX12Adapter().check_eligibility_many(requests, make_channel())
    assert set(answers) == {r.trace_number for r in requests}
    for answer in answers.values():
        assert answer.status is CoverageStatus.ERROR
        assert [i.reject_reason for i in answer.issues] == ["T4"]
