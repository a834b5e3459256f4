"""The demo's synthetic practice grows with the number of claims (issue 14)."""

from __future__ import annotations

from medbill_demo.data import PROVIDERS, demo_patients, practice_size


def test_the_default_demo_keeps_its_practice() -> None:
    size = practice_size(40)
    assert (size.patients, size.providers, size.service_days) == (25, PROVIDERS, (3, 60))


def test_ten_thousand_claims_see_as_many_claims_per_patient_as_forty() -> None:
    size = practice_size(10_000)
    assert size.patients == 6_250  # 1.6 claims per patient, as 40 claims over 25 patients
    assert len(size.providers) == 20 and size.providers[:2] == PROVIDERS
    assert len({p.npi for p in size.providers}) == 20
    assert size.service_days == (3, 100)
    assert practice_size(1_000_000).service_days == (3, 150)  # inside timely filing


def test_many_patients_stay_distinct_and_well_formed() -> None:
    patients = demo_patients(practice_size(20_000).patients)
    assert len({d.patient.account_number for d in patients}) == 12_500
    assert len({(d.patient.first_name, d.patient.last_name) for d in patients}) == 625
    assert {len(d.patient.phone or "") for d in patients} == {10}
