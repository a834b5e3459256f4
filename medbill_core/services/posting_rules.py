"""The ERA posting rules table: what posting an 835 does with each adjustment (CAS).

Each adjustment of a claim payment is looked up by its group code and CARC (``CO-45``) and
gets one of four actions:

* ``adjust``: posted as a contractual adjustment (the practice agreed not to collect it);
* ``deny``: kept open in the insurance bucket as a denial, "denied - to work", until a person
  decides (:mod:`medbill_core.services.denials`): correct and resend, appeal, transfer to
  the patient (only amounts the payer assigned as PR) or write off with a reason;
* ``patient``: moved to the patient, or to the next payer when the patient has a further
  coverage (only for PR: the payer assigned it to the patient);
* ``review``: kept open like a denial and listed as a work item for a person to look at.

The table is data: :data:`BUILT_IN_RULES` ships with the core; ``[posting_rules.default]``
(every payer) and ``[posting_rules.<payer key>]`` in ``medbill.toml`` override it::

    [posting_rules.default]
    "CO-97" = "adjust"          # we accept NCCI bundling without review

    [posting_rules.acme]
    "CO-*" = "deny"             # every CO code of Acme not listed anywhere is a denial

Lookup: an exact code beats a group catch-all (``CO-*``) whatever layer it is in; within
each kind the payer's table wins over ``default``, which wins over the built-in one. So
``CO-45`` stays an adjustment even when a payer's table says ``"CO-*" = "deny"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any


class PostingAction(StrEnum):
    ADJUST = "adjust"
    DENY = "deny"
    PATIENT = "patient"
    REVIEW = "review"


#: the actions that leave the amount open in the insurance bucket (a denial work item)
KEPT_OPEN = frozenset({PostingAction.DENY, PostingAction.REVIEW})

#: adjustment groups that reduced the payment of an answer posted before the rules were
#: recorded (PR is the patient's share)
LEGACY_DENIAL_GROUPS = frozenset({"CO", "PI", "OA"})


#: the recorded actions :func:`denial_codes` counts (computed once: follow-up asks per denial)
_KEPT_OPEN_VALUES = frozenset(action.value for action in KEPT_OPEN)
_NOT_THE_PATIENTS = frozenset(action.value for action in PostingAction
                              if action is not PostingAction.PATIENT)


def denial_codes(adjustments: Sequence[Mapping[str, Any]],
                 recorded_rules: Sequence[Mapping[str, str]] | None, *, start: int = 0,
                 kept_open_only: bool = False) -> tuple[str, ...]:
    """``GROUP-CARC`` of the payer's reasons for not paying what was billed, in order, each
    once: the one rule for appeals, ``ar followup`` and the coding audit.

    An adjustment counts when its amount is not zero and posting did not pass it to the
    patient (their deductible, coinsurance, copay is not the payer refusing to pay): by the
    decision recorded with the answer when its 835 was posted (``recorded_rules``, per entry
    of the answer's adjustments), not today's table, so that editing the rules does not
    rewrite the past. With ``kept_open_only`` only the adjustments posting kept open as
    denials or review items count (``deny``, ``review``): "was this denied", where a
    contractual reduction that was adjusted off (``CO-45``) is not. An answer posted before
    the rules were recorded counts its CO, PI and OA adjustments (what posting kept open
    then).

    :param adjustments: the answer's adjustment entries (``group_code``, ``reason_code``,
        ``amount``), or a slice of them starting at position ``start`` (a service line's).
    """
    wanted = _KEPT_OPEN_VALUES if kept_open_only else _NOT_THE_PATIENTS
    codes = []
    for offset, item in enumerate(adjustments):
        if not Decimal(str(item.get("amount") or 0)):
            continue
        index = start + offset
        if recorded_rules is not None and index < len(recorded_rules):
            counts = recorded_rules[index].get("action") in wanted
        else:
            counts = item.get("group_code") in LEGACY_DENIAL_GROUPS
        if counts:
            codes.append(f"{item['group_code']}-{item['reason_code']}")
    return tuple(dict.fromkeys(codes))


#: CARCs that mean the payer did not pay for a reason a person must work (fix, appeal, bill
#: the patient or write off). Kept open as denials under CO, PI, OA and PR.
DENIAL_CARCS = (
    "4",    # procedure code inconsistent with the modifier, or a modifier is missing
    "5",    # procedure code / bill type inconsistent with the place of service
    "6", "7",  # procedure inconsistent with the patient's age / gender
    "8",    # procedure inconsistent with the provider type or specialty
    "9", "10",  # diagnosis inconsistent with the patient's age / gender
    "11",   # diagnosis inconsistent with the procedure
    "15",   # authorization number missing, invalid or not for this service
    "16",   # claim lacks information or has billing errors (resend corrected)
    "18",   # exact duplicate claim/service (check the original was paid, then write off)
    "19", "20", "21",  # work-related injury / liability / no-fault: another payer
    "22",   # care may be covered by another payer per coordination of benefits
    "26",   # expenses incurred before coverage
    "27",   # expenses incurred after coverage terminated
    "29",   # the time limit for filing has expired
    "31",   # patient cannot be identified as the payer's insured
    "49",   # routine / preventive care not covered
    "50",   # not deemed a medical necessity
    "56",   # procedure not deemed proven to be effective
    "58",   # treatment rendered in an inappropriate place of service
    "96",   # non-covered charges
    "107",  # the related or qualifying claim/service was not identified or paid
    "109",  # claim not covered by this payer: send it to the correct payer
    "111",  # not covered unless the provider accepts assignment
    "119",  # benefit maximum for this period has been reached
    "140",  # patient/insured health ID number and name do not match
    "146",  # diagnosis invalid for the date(s) of service
    "149",  # lifetime benefit maximum has been reached
    "151",  # the information does not support this many or this frequency of services
    "167",  # the diagnosis is not covered
    "170",  # payment denied when performed/billed by this type of provider
    "177",  # patient has not met the required eligibility requirements
    "181",  # procedure code invalid on the date of service
    "183",  # referring provider not eligible to refer the service
    "185",  # rendering provider not eligible to perform the service
    "189",  # "not otherwise classified" code billed when a specific code exists
    "197",  # precertification / authorization / notification absent
    "198",  # precertification / authorization exceeded
    "204",  # service not covered under the patient's current benefit plan
    "208",  # national provider identifier not matched
    "226", "227",  # information requested from the provider / patient not provided
    "236",  # procedure not compatible with another billed that day (NCCI): correct it
    "242",  # services not provided by network / primary care providers
    "252",  # an attachment or other documentation is required
    "A1",   # claim/service denied
    "B7",   # provider not certified for this procedure on this date
    "B9",   # patient is enrolled in a hospice
)
#: CARCs that are the contract working as agreed: posted as contractual adjustments.
ADJUST_CARCS = (
    "24",   # charges covered under a capitation agreement
    "42",   # charges exceed the fee schedule / maximum allowable (older form of 45)
    "44",   # prompt-pay discount
    "45",   # charge exceeds the fee schedule / maximum allowable or contracted fee
    "59",   # processed under multiple / concurrent procedure rules
    "94",   # processed in excess of charges
    "131",  # claim-specific negotiated discount
    "253",  # sequestration (the federal 2% reduction)
    "B10",  # allowed amount reduced: a component of the basic procedure was paid before
)
#: CARCs that may be right or wrong: bundling a coder should look at (a modifier may unbundle).
REVIEW_CARCS = (
    "97",   # payment included in the allowance for another service (bundled)
    "234",  # this procedure is not paid separately
)
#: group catch-alls: an unknown CO/PI/OA/CR code is held for review, never written off unseen;
#: PR is what the payer assigned to the patient
GROUP_DEFAULTS = {"CO": PostingAction.REVIEW, "PI": PostingAction.REVIEW,
                  "OA": PostingAction.REVIEW, "CR": PostingAction.REVIEW,
                  "PR": PostingAction.PATIENT}
#: patient cost share: deductible, coinsurance, copay, blood deductible
PATIENT_CARCS = ("1", "2", "3", "66")


def _built_in() -> dict[str, PostingAction]:
    rules: dict[str, PostingAction] = {f"{group}-*": action
                                       for group, action in GROUP_DEFAULTS.items()}
    for group in ("CO", "PI", "OA", "PR"):
        rules.update({f"{group}-{carc}": PostingAction.DENY for carc in DENIAL_CARCS})
    for group in ("CO", "PI", "OA"):
        rules.update({f"{group}-{carc}": PostingAction.ADJUST for carc in ADJUST_CARCS})
        rules.update({f"{group}-{carc}": PostingAction.REVIEW for carc in REVIEW_CARCS})
    rules.update({f"PR-{carc}": PostingAction.PATIENT for carc in PATIENT_CARCS})
    # the impact of prior payers' adjudication: settled by them, nothing left to collect
    rules["OA-23"] = PostingAction.ADJUST
    return rules


BUILT_IN_RULES: Mapping[str, PostingAction] = _built_in()
#: the table name that applies to every payer
DEFAULT_TABLE = "default"
_KEY = re.compile(r"^(CO|CR|OA|PI|PR)-([A-Z0-9]{1,5}|\*)$")


def check_rules(tables: Mapping[str, object], payer_keys: set[str]) -> list[tuple[str, str]]:
    """Problems of a ``[posting_rules]`` section as (key path, message); empty when valid."""
    problems: list[tuple[str, str]] = []
    choices = ", ".join(action.value for action in PostingAction)
    for name, table in tables.items():
        where = f"posting_rules.{name}"
        if name != DEFAULT_TABLE and name not in payer_keys:
            problems.append((where, f"no payer {name!r} in [payers] (or use "
                                    f"[posting_rules.{DEFAULT_TABLE}])"))
            continue
        if not isinstance(table, Mapping):
            problems.append((where, "must be a table of \"GROUP-CARC\" = action"))
            continue
        for key, value in table.items():
            if not isinstance(key, str) or not _KEY.match(key):
                problems.append((f"{where}.{key}", "must be GROUP-CARC (e.g. \"CO-50\") or "
                                                  "GROUP-* with group CO, CR, OA, PI or PR"))
            elif value not in {action.value for action in PostingAction}:
                problems.append((f"{where}.{key}", f"must be one of {choices}"))
            elif value == PostingAction.PATIENT and not key.startswith("PR-"):
                problems.append((f"{where}.{key}", "'patient' only for PR: the patient owes "
                                                   "only what the payer assigned to them"))
    return problems


@dataclass(frozen=True)
class RuleDecision:
    """What the table says for one adjustment, and which entry said it."""

    action: PostingAction
    #: the entry that matched, e.g. ``CO-45 (built-in)`` or ``CO-* (acme)``
    rule: str


class PostingRules:
    """The built-in table with the configured overrides; :meth:`decide` per adjustment."""

    def __init__(self, configured: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self._configured = {name: {key: PostingAction(value) for key, value in table.items()}
                            for name, table in (configured or {}).items()}

    def _layers(self, payer_key: str | None) -> list[tuple[str, Mapping[str, PostingAction]]]:
        layers: list[tuple[str, Mapping[str, PostingAction]]] = []
        if payer_key and payer_key in self._configured:
            layers.append((payer_key, self._configured[payer_key]))
        if DEFAULT_TABLE in self._configured:
            layers.append((f"{DEFAULT_TABLE}", self._configured[DEFAULT_TABLE]))
        layers.append(("built-in", BUILT_IN_RULES))
        return layers

    def decide(self, payer_key: str | None, group: str, carc: str) -> RuleDecision:
        layers = self._layers(payer_key)
        for key in (f"{group}-{carc}", f"{group}-*"):  # exact codes first, in every layer
            for name, table in layers:
                if key in table:
                    return RuleDecision(table[key], f"{key} ({name})")
        return RuleDecision(PostingAction.REVIEW, f"{group}-* (built-in)")  # an unknown group
