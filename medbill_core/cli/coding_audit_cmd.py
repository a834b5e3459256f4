"""``medbill audit-coding``: how each provider codes (E/M levels beside a reference, modifier
rates, NCCI edits bypassed, denials by code) and reproducible samples of claims for internal
review, with the reviewers' findings and the accuracy rate per provider.

The rules live in :mod:`medbill_core.services.coding_audit`; this module reads options,
calls it and prints. A reviewer's note is stored, never printed back or audited.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from medbill_core.cli.common import (
    cli_errors,
    console,
    data_table,
    literal,
    open_app,
    parse_date_option,
    print_json,
    print_table,
)
from medbill_core.services.coding_audit import (
    AuditFilters,
    CodingReport,
    Finding,
    ProviderAccuracy,
    Sample,
)

app = typer.Typer(help="Coding audit: E/M levels, modifiers, NCCI bypasses, denials by code; "
                       "review samples and accuracy.", no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json")]
DateFrom = Annotated[str | None, typer.Option(
    "--from", help="First date of service (YYYY-MM-DD)")]
DateTo = Annotated[str | None, typer.Option("--to", help="Last date of service (YYYY-MM-DD)")]
ProviderNpi = Annotated[str | None, typer.Option(
    "--provider", help="Only this rendering provider (NPI)")]
PayerKey = Annotated[str | None, typer.Option("--payer", help="Only claims to this payer key")]
SampleId = Annotated[int, typer.Argument(help="The sample's id (medbill audit-coding list)")]


def _filters(date_from: str | None, date_to: str | None, provider: str | None,
             payer: str | None) -> AuditFilters:
    return AuditFilters(parse_date_option(date_from, "--from"),
                        parse_date_option(date_to, "--to"),
                        provider.strip() if provider is not None else None,
                        payer.strip() if payer is not None else None)


def _plain(target: Console, text: str) -> None:
    target.print(literal(text), highlight=False)


def _add(table: Table, *cells: str) -> None:
    """A row printed as it is: claim numbers, payer codes and names come from outside and
    are never read as console markup."""
    table.add_row(*(literal(cell) for cell in cells))


def _percent(value: object) -> str:
    return "-" if value is None else f"{value}%"


def print_report(report: CodingReport, target: Console | None = None) -> None:
    """The report as tables: per provider, E/M levels beside the reference, modifier rates
    and NCCI bypasses; then the denial rate by code."""
    out = target or console
    scope = ", ".join(part for part in (
        f"dates of service {report.date_from or 'any'} to {report.date_to or 'any'}",
        f"payer {report.payer_key}" if report.payer_key else "",
        f"provider {report.provider_npi}" if report.provider_npi else "") if part)
    _plain(out, f"coding audit ({scope}); {report.reference}")
    _plain(out, f"outlier rule: {report.outlier_rule}")
    for provider in report.providers:
        heading = f"provider {provider.npi} {provider.name}".rstrip()
        flags = "; ".join(provider.flags) or "no outlier"
        _plain(out, f"{heading}: {provider.claims} claims, {provider.lines} lines; {flags}")
        levels = data_table("family", "code", "count", "%", "reference %", "flag",
                            title=Text("E/M levels"),
                            keys=("code", "count", "%", "reference %", "flag"),
                            numeric=("count", "%", "reference %"))
        for family in provider.families:
            for index, level in enumerate(family.levels):
                first = index == 0  # the family and its flag once, on its first level
                _add(levels, family.family.label if first else "", level.code,
                               str(level.count), _percent(level.percent),
                               _percent(level.reference_percent),
                               (family.flag or "") if first else "")
        if provider.families:
            print_table(levels, out)
        modifiers = data_table("modifier", "over", "lines", "of", "%", "practice %",
                               title=Text("modifier use"),
                               keys=("modifier", "lines", "of", "%", "practice %"),
                               numeric=("lines", "of", "%", "practice %"))
        for rate in provider.modifiers:
            _add(modifiers, rate.modifier, rate.over, str(rate.lines), str(rate.eligible),
                              _percent(rate.percent), _percent(rate.practice_percent))
        print_table(modifiers, out)
        if provider.bypassed:
            pairs = data_table("column 1", "column 2", "modifiers", "times",
                               title=Text("NCCI edits bypassed by modifier: "
                                          f"{provider.bypass_count}"),
                               keys=("column 1", "column 2", "modifiers", "times"),
                               numeric=("times",))
            for pair in provider.bypassed:
                _add(pairs, pair.column_1, pair.column_2, " ".join(pair.modifiers),
                              str(pair.count))
            print_table(pairs, out)
        else:
            _plain(out, "NCCI edits bypassed by modifier: 0")
    if not report.providers:
        _plain(out, "no claims match")
    denials = data_table("code", "adjudicated", "denied", "%", "top CARCs",
                         title=Text("denial rate by procedure code (lines)"),
                         keys=("code", "adjudicated", "denied", "%"),
                         numeric=("adjudicated", "denied", "%"))
    for denial in report.denials:
        _add(denials, denial.code, str(denial.adjudicated), str(denial.denied),
                        _percent(denial.percent),
                        ", ".join(f"{code} ({count})" for code, count in denial.top_carcs))
    if report.denials:
        print_table(denials, out)
    else:
        _plain(out, "denial rate by procedure code: no payer answer on file for these claims")


@app.command("report")
@cli_errors
def report_command(date_from: DateFrom = None, date_to: DateTo = None,
                   provider: ProviderNpi = None, payer: PayerKey = None,
                   as_json: AsJson = False) -> None:
    """E/M levels per provider beside the reference, modifier and NCCI-bypass rates, denials.

    Per provider: E/M levels beside the reference (outliers flagged), modifier 25, 59 and
    X{EPSU} rates, NCCI edits bypassed by modifier; then the denial rate by procedure code.
    """
    from medbill_core.services.coding_audit import coding_report

    filters = _filters(date_from, date_to, provider, payer)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        report = coding_report(work, filters)
    if as_json:
        print_json(report.as_json())
        return
    print_report(report)


def print_sample(sample: Sample, target: Console | None = None) -> None:
    """A sample's claims and their findings (never the notes)."""
    out = target or console
    table = data_table("claim", "provider npi", "date", "codes", "finding", "corrected",
                       "reviewed by",
                       title=Text(f"coding audit sample {sample.id}: {len(sample.claims)} "
                                  f"claims, {sample.reviewed} reviewed (seed {sample.seed}, "
                                  f"{sample.per_provider} per provider)"),
                       keys=("claim", "provider npi", "date", "finding"))
    for claim in sample.claims:
        _add(table, claim.claim_number, claim.provider_npi, claim.service_date.isoformat(),
                      " ".join(claim.codes), claim.finding.value if claim.finding else "",
                      " ".join(claim.corrected_codes), claim.reviewed_by or "")
    print_table(table, out)


@app.command("sample")
@cli_errors
def sample_command(
    per_provider: Annotated[int, typer.Option(
        "--per-provider", help="How many claims of each provider (1-1000)")],
    seed: Annotated[int, typer.Option(
        help="Seed of the draw: the same seed and data give the same claims")],
    date_from: DateFrom = None, date_to: DateTo = None, provider: ProviderNpi = None,
    payer: PayerKey = None, as_json: AsJson = False,
) -> None:
    """Draw and keep a reproducible random sample of claims per provider for review."""
    from medbill_core.services.coding_audit import create_sample

    filters = _filters(date_from, date_to, provider, payer)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        sample = create_sample(work, filters, per_provider=per_provider, seed=seed)
    if as_json:
        print_json(sample.as_json())
        return
    print_sample(sample)
    _plain(console, f"next: medbill audit-coding review {sample.id} CLAIM --finding "
                    f"agree|change_code|documentation_missing")


@app.command("list")
@cli_errors
def list_command(as_json: AsJson = False) -> None:
    """Every review sample, newest first."""
    from medbill_core.services.coding_audit import list_samples

    medbill = open_app()
    with medbill.unit_of_work() as work:
        samples = list_samples(work)
    if as_json:
        print_json([{key: value for key, value in sample.as_json().items()
                     if key not in ("claims", "reviewed")} for sample in samples])
        return
    table = data_table("id", "created", "by", "seed", "per provider", "from", "to",
                       "provider npi", "payer", title=Text(f"{len(samples)} coding audit samples"),
                       keys=("id", "created", "seed", "from", "to", "provider npi", "payer"),
                       numeric=("id", "seed", "per provider"))
    for sample in samples:
        filters = sample.filters
        _add(table, str(sample.id), sample.created_on.isoformat(), sample.created_by,
                      str(sample.seed), str(sample.per_provider),
                      str(filters.date_from or ""), str(filters.date_to or ""),
                      filters.provider_npi or "", filters.payer_key or "")
    print_table(table)


@app.command("show")
@cli_errors
def show_command(sample_id: SampleId, as_json: AsJson = False) -> None:
    """A sample's claims with their findings, and the accuracy rate per provider."""
    from medbill_core.services.coding_audit import accuracy, get_sample

    medbill = open_app()
    with medbill.unit_of_work() as work:
        sample = get_sample(work, sample_id)
        rates = accuracy(work, sample_id)
    if as_json:
        print_json({**sample.as_json(), "accuracy": [rate.as_json() for rate in rates]})
        return
    print_sample(sample)
    _print_accuracy(sample_id, rates)


def _print_accuracy(sample_id: int, rates: list[ProviderAccuracy]) -> None:
    table = data_table("provider npi", "sampled", "reviewed", "agree", "change code",
                       "documentation missing", "accuracy %",
                       title=Text(f"accuracy of sample {sample_id} (agree / reviewed)"),
                       keys=("provider npi",),
                       numeric=("sampled", "reviewed", "agree", "change code",
                                "documentation missing", "accuracy %"))
    for rate in rates:
        _add(table, rate.npi, str(rate.sampled), str(rate.reviewed), str(rate.agree),
                      str(rate.change_code), str(rate.documentation_missing),
                      _percent(rate.percent))
    print_table(table)


@app.command("review")
@cli_errors
def review_command(
    sample_id: SampleId,
    claim: Annotated[str, typer.Argument(help="The sampled claim's number")],
    finding: Annotated[Finding, typer.Option(
        help="agree, change_code (give --code) or documentation_missing")],
    code: Annotated[list[str] | None, typer.Option(
        "--code", help="A corrected procedure code, valid on the claim's date of service "
                       "(repeat for several; change_code only)")
    ] = None,
    note: Annotated[str | None, typer.Option(help="The reviewer's note (max 500)")] = None,
    as_json: AsJson = False,
) -> None:
    """Record the reviewer's finding on a sampled claim (a later one replaces it; audited)."""
    from medbill_core.services.coding_audit import record_finding

    medbill = open_app()
    with medbill.unit_of_work() as work:
        item = record_finding(work, sample_id, claim, finding, corrected_codes=code or [],
                              note=note)
    if as_json:
        print_json(item.as_json())
        return
    corrected = f" ({' '.join(item.corrected_codes)})" if item.corrected_codes else ""
    _plain(console, f"sample {sample_id}: claim {item.claim_number} reviewed: "
                    f"{item.finding.value if item.finding else ''}{corrected}")


@app.command("accuracy")
@cli_errors
def accuracy_command(sample_id: SampleId, as_json: AsJson = False) -> None:
    """The accuracy rate per provider of a sample: agreed / reviewed."""
    from medbill_core.services.coding_audit import accuracy

    medbill = open_app()
    with medbill.unit_of_work() as work:
        rates = accuracy(work, sample_id)
    if as_json:
        print_json([rate.as_json() for rate in rates])
        return
    _print_accuracy(sample_id, rates)
