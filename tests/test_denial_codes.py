"""One rule for "which CARCs did the payer not pay for": appeals, ar followup and the coding
audit all read :func:`medbill_core.services.posting_rules.denial_codes`."""

from __future__ import annotations

from medbill_core.services.posting_rules import denial_codes


def adjustment(group: str, code: str, amount: str) -> dict[str, str]:
    return {"group_code": group, "reason_code": code, "amount": amount}


ANSWER = [adjustment("CO", "45", "20.00"), adjustment("CO", "50", "80.00"),
          adjustment("PR", "96", "15.00"), adjustment("PR", "2", "10.00"),
          adjustment("CO", "50", "5.00"), adjustment("OA", "23", "0.00")]
RULES = [{"action": action, "rule": "built-in"} for action in
         ("adjust", "deny", "deny", "patient", "deny", "review")]


def test_the_recorded_posting_decisions_decide() -> None:
    # PR-2 moved to the patient is not the payer refusing, CO-50 is listed once, a zero
    # OA-23 counts for nothing whatever its rule
    assert denial_codes(ANSWER, RULES) == ("CO-45", "CO-50", "PR-96")


def test_kept_open_only_leaves_out_what_was_adjusted_off() -> None:
    assert denial_codes(ANSWER, RULES, kept_open_only=True) == ("CO-50", "PR-96")


def test_answers_posted_before_the_rules_table_count_co_pi_oa() -> None:
    assert denial_codes(ANSWER, None) == ("CO-45", "CO-50")
    assert denial_codes(ANSWER, None, kept_open_only=True) == ("CO-45", "CO-50")


def test_a_slice_of_the_answer_reads_its_own_decisions() -> None:
    rules = [{"action": "deny"}, {"action": "adjust"}, {"action": "patient"}]
    line = [adjustment("CO", "16", "30.00"), adjustment("CO", "97", "12.00")]
    assert denial_codes(line, rules) == ("CO-16", "CO-97")
    assert denial_codes(line, rules, kept_open_only=True) == ("CO-16",)
    # the same entries as the answer's 2nd and 3rd: adjusted, then passed to the patient
    assert denial_codes(line, rules, start=1) == ("CO-16",)
    assert denial_codes(line, rules, start=1, kept_open_only=True) == ()
