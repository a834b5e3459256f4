"""Plain-language code text (``codesets.explain``), ``medbill codes show CO-45`` as remittances
print it, and ``medbill codes search`` over ICD-10-CM and HCPCS descriptions."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medbill_core.cli import codes
from medbill_core.codesets import CodeSystem, reset_default_codesets
from medbill_core.codesets.explain import (
    explain_aaa_reject,
    explain_adjustment,
    explain_carc,
    explain_claim_status,
    explain_claim_status_category,
    explain_group,
    explain_rarc,
    percent,
)
from medbill_core.codesets.search import search

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDBILL_CODESETS_DIR", str(tmp_path / "codesets"))
    monkeypatch.setenv("MEDBILL_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "medbill-cache"))
    reset_default_codesets()


def codes_json(*args: str) -> dict:
    result = runner.invoke(codes.app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_explanations() -> None:
    assert explain_carc("CO", "45") == (
        "CO-45 Contractual Obligations: Charge exceeds fee schedule/maximum allowable or "
        "contracted/legislated fee arrangement.")
    assert explain_carc("pr", "2") == "PR-2 Patient Responsibility: Coinsurance Amount."
    assert explain_carc(None, "1") == "1 Deductible Amount."
    assert explain_carc("CO", "999").endswith("not in medbill's CARC list.")
    assert explain_group("OA") == "Other Adjustments."
    assert explain_adjustment("CO-45") == explain_carc("CO", "45")
    assert explain_adjustment("PR 2") == explain_carc("PR", "2")
    assert explain_adjustment("253") == explain_carc(None, "253")
    assert explain_rarc("N130").startswith("N130 Consult plan benefit documents")
    assert explain_rarc("N99999") == "N99999: not in medbill's RARC list"
    assert explain_claim_status_category("a7").startswith(
        "A7 Acknowledgement/Rejected for Invalid Information")
    assert explain_claim_status("021").startswith("21 Missing or invalid information")
    assert explain_aaa_reject("75").startswith("75 Subscriber/insured not found.")
    assert explain_aaa_reject("ZZ") == "ZZ: not in medbill's AAA reject reason list"
    assert [percent(Decimal(x)) for x in ("0.2", "0.125", "0", "1", "0.20")] == [
        "20%", "12.5%", "0%", "100%", "20%"]
    assert percent(None) == "-"


def test_a_stopped_carc_says_so() -> None:
    # CARC A7 stopped 2015-07-01 (X12 list)
    assert "(stopped after 2015-07-01)" in explain_carc("CO", "A7", date(2026, 1, 5))


@pytest.mark.parametrize("printed", ["CO-45", "CO45", "co 45"])
def test_codes_show_a_carc_as_remittances_print_it(printed: str) -> None:
    data = codes_json("show", printed, "--date", "2026-03-02")
    [verdict] = data["verdicts"]
    assert (verdict["system"], verdict["code"], verdict["valid"]) == ("carc", "45", True)
    assert data["meanings"][0]["text"].startswith("CO-45 Contractual Obligations: Charge")


def test_codes_show_x12_status_lists() -> None:
    data = codes_json("show", "A7", "--date", "2026-03-02")
    assert {"list": "277CA claim status category", "text": explain_claim_status_category("A7")
            } in data["meanings"]
    # 75: an AAA reject reason (and a CPT modifier number)
    meanings = codes_json("show", "75")["meanings"]
    assert [m["list"] for m in meanings] == ["271 AAA reject reason"]


def test_search_ranks_and_is_date_aware() -> None:
    [best, *_] = search("type 2 diabetes with hyperglycemia", on=date(2026, 5, 1))
    assert (best.system, best.code) == (CodeSystem.ICD10CM, "E11.65")
    by_code = search("E11.6", on=date(2026, 5, 1), limit=50)
    assert by_code and all(h.system is CodeSystem.ICD10CM and h.code.startswith("E11.6")
                           for h in by_code)
    # G0519 became effective 2025-01-01 (HCPCS file): not offered for 2024 dates of service
    assert [h.code for h in search("G0519", on=date(2026, 3, 1))] == ["G0519"]
    assert search("G0519", on=date(2024, 6, 1)) == []
    [later] = search("G0519", on=date(2024, 6, 1), include_unusable=True)
    assert later.status.value == "not_yet_effective"
    # category headers are not billable: left out unless asked for
    assert "E11" not in [h.code for h in search("type 2 diabetes mellitus", on=date(2026, 5, 1),
                                                  limit=500)]


def test_codes_search_command() -> None:
    data = codes_json("search", "wheelchair", "seat", "cushion", "--system", "hcpcs",
                      "--date", "2026-03-02", "--limit", "3")
    assert len(data["hits"]) == 3
    assert all("wheelchair seat cushion" in h["description"].lower() or
               "cushion" in h["description"].lower() for h in data["hits"])
    assert all(h["system"] == "hcpcs" and h["status"] == "ok" for h in data["hits"])
    assert data["note"] is None  # ICD-10-CM not searched
    # FY2027 is packaged: a date after 2027-09-30 is past the newest release
    outside = codes_json("search", "hyperglycemia", "--system", "icd10cm", "--date", "2027-11-01")
    assert outside["note"].startswith("ICD-10-CM searched in the ICD-10-CM FY2027 (2026-10-01..")
    inside = codes_json("search", "hyperglycemia", "--system", "icd10cm", "--date", "2027-02-01")
    assert inside["note"] is None
    none = runner.invoke(codes.app, ["search", "zzzqqq"])
    assert none.exit_code == 1 and none.stderr.strip().startswith("error: no code matches")


@pytest.mark.parametrize(("words", "said"), [
    (["diabetes"] * 3000, "the search text has 26,999 characters; at most 500 are searched"),
    (["e"] * 65, "the search text has 65 words; at most 64 are searched"),
])
def test_codes_search_refuses_a_query_too_long_in_one_line(words: list[str], said: str) -> None:
    """3,000 words took minutes (each word matched against every candidate): such a query
    is refused before anything is loaded, a usage error naming the limit, never the words."""
    result = runner.invoke(codes.app, ["search", *words, "--json"])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert lines[0].startswith(f"error: {said}: give the few words that matter")
    assert "diabetes" not in lines[0]


def test_search_limits_and_repeated_words() -> None:
    from medbill_core.codesets.search import (
        MAX_QUERY_CHARACTERS,
        MAX_QUERY_WORDS,
        QueryTooLong,
        query_problem,
    )

    with pytest.raises(QueryTooLong, match="at most 64"):
        search(" ".join(["pain"] * (MAX_QUERY_WORDS + 1)), on=date(2026, 5, 1))
    with pytest.raises(QueryTooLong, match="501 characters; at most 500"):
        search("x" * (MAX_QUERY_CHARACTERS + 1), on=date(2026, 5, 1))
    assert query_problem(" ".join(["pain"] * MAX_QUERY_WORDS)) is None
    # a word given twice is matched once and still scored twice: the ranking is unchanged
    once = search("diabetes", on=date(2026, 5, 1), systems=(CodeSystem.ICD10CM,), limit=50)
    twice = search("diabetes diabetes", on=date(2026, 5, 1), systems=(CodeSystem.ICD10CM,),
                   limit=50)
    assert [h.code for h in once] == [h.code for h in twice]
    assert {h.score for h in once} == {3 + 4} and {h.score for h in twice} == {3 + 3}
    many = search(" ".join(["diabetes"] * MAX_QUERY_WORDS)[:MAX_QUERY_CHARACTERS],
                  on=date(2026, 5, 1), systems=(CodeSystem.ICD10CM,), limit=50)
    assert [h.code for h in many] == [h.code for h in once]
