"""``medbill codes``: look codes up for a date of service, and load code-set updates."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from medbill_core.cli.common import (
    cli_errors,
    console,
    data_table,
    fail,
    parse_date_option,
    print_json,
    print_table,
    warn,
)
from medbill_core.cli.help_texts import CODES_HELP
from medbill_core.cli.service_progress import service_progress
from medbill_core.codesets import CodeSets, CodeSystem, Reason, Verdict, load_file
from medbill_core.codesets.explain import (
    explain_aaa_reject,
    explain_carc,
    explain_claim_status,
    explain_claim_status_category,
    explain_claim_status_pair,
    explain_ta1_note,
)
from medbill_core.codesets.formats import CPT_RE, SHAPES, normalize
from medbill_core.codesets.model import CodeSetError
from medbill_core.codesets.releases import (
    NotChecked,
    not_checked,
    release_gap,
    without_gap_note,
)

app = typer.Typer(help=CODES_HELP, no_args_is_help=True)

# Systems tried by `show` without --system (CPT is reached through hcpcs).
_SHOW_ORDER = (CodeSystem.ICD10CM, CodeSystem.ICD10PCS, CodeSystem.HCPCS, CodeSystem.MODIFIER,
               CodeSystem.POS, CodeSystem.CARC, CodeSystem.RARC, CodeSystem.GROUP)

DataDirOption = Annotated[Path | None, typer.Option(
    "--data-dir", envvar="MEDBILL_CODESETS_DIR",
    help="User code-set directory (default: ~/.local/share/medbill/codesets)")]


def _status(verdict: Verdict) -> str:
    if verdict.ok:
        return "[green]valid[/]" + (" (format only)" if verdict.info and verdict.info.format_only
                                    else "")
    return f"[red]{verdict.reason.value.replace('_', ' ')}[/]"


def _print_verdict(verdict: Verdict, gap: str = "") -> None:
    """One code as a small key/value block (readable at 80 columns)."""
    info = verdict.info
    code = info.display_code if info else verdict.code
    console.print(f"[bold]{escape(code)}[/]  {verdict.system.label}  {_status(verdict)}"
                  f" on {verdict.on}", highlight=False)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    if info is not None:
        grid.add_row("description", escape(info.description or "-"))
        if info.short_description:
            grid.add_row("short", escape(info.short_description))
        if verdict.system is CodeSystem.ICD10CM:
            grid.add_row("billable", "yes" if info.billable else "no (category header)")
        grid.add_row("effective", str(info.effective or "-"))
        grid.add_row("terminated", str(info.terminated or "-"))
        grid.add_row("source", escape(info.source or "-"))
    if not verdict.ok or info is None:
        grid.add_row("why", escape(verdict.message))
    if verdict.release:
        grid.add_row("release", escape(verdict.release))
    note = without_gap_note(verdict.note) if gap else verdict.note
    if note:
        grid.add_row("note", escape(note))
    if gap:
        grid.add_row("release gap", escape(gap))
    console.print(grid)


@app.command("load")
@cli_errors
def load(
    system: Annotated[CodeSystem, typer.Argument(case_sensitive=False,
                                                 help="Code set the file belongs to")],
    file: Annotated[Path, typer.Argument(help="CSV in the packaged layout, a CSV export of"
                                         " the CMS HCPCS ANWEB file, or an ICD-10-CM"
                                         " order/codes file")],
    effective: Annotated[str | None, typer.Option(
        "--effective", help="ICD-10-CM: first date of service of the release (YYYY-MM-DD)")] = None,
    through: Annotated[str | None, typer.Option(
        "--through", help="ICD-10-CM: last date of service of the release (YYYY-MM-DD)")] = None,
    data_dir: DataDirOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check FILE and store it as your SYSTEM code set, ahead of the packaged data.

    ICD-10-CM: one release per window --effective..--through (default: from the file name).
    """
    start = parse_date_option(effective, "--effective")
    end = parse_date_option(through, "--through")
    with service_progress(f"loading {system.label} codes") as on_progress:
        result = load_file(system, file, data_dir=data_dir, effective=start, through=end,
                           on_progress=on_progress)
    if as_json:
        print_json({"system": system.value, "rows": result.rows, "file": file.name,
                    "stored_at": str(result.stored_at),
                    "effective": result.effective.isoformat() if result.effective else None,
                    "through": result.through.isoformat() if result.through else None})
        return
    window = (f" for dates of service {result.effective}..{result.through}"
              if result.effective else "")
    console.print(
        f"Loaded {result.rows:,} {system.label} codes from {file.name}{window} into"
        f" {result.stored_at!s}; they take precedence over the packaged data.",
        highlight=False, soft_wrap=True, markup=False)


#: A CARC as remittances print it: group code, optional dash or space, reason ("CO-45").
_GROUP_CARC = re.compile(r"^(CO|CR|OA|PI|PR)[-\s]?([A-Z]?[0-9]{1,3})$")


def _may_be(system: CodeSystem, code: str) -> bool:
    """Whether ``code`` is shaped like a code of ``system`` (HCPCS: Level II or CPT), so
    `codes show` reads only the tables that could hold it."""
    norm = normalize(system, code)
    if system is CodeSystem.HCPCS:
        return bool(SHAPES[system].match(norm) or CPT_RE.match(norm))
    return bool(SHAPES[system].match(norm))


def _x12_meanings(code: str) -> list[tuple[str, str]]:
    """What ``code`` means in the X12 lists that are not code sets of their own (277CA
    category and status codes, 271 AAA reject reasons, TA1 note codes)."""
    found = []
    for label, explain in (("277CA claim status category", explain_claim_status_category),
                           ("277CA claim status code", explain_claim_status),
                           ("271 AAA reject reason", explain_aaa_reject),
                           ("TA1 note code", explain_ta1_note)):
        if explain is explain_ta1_note and not (len(code.strip()) == 3
                                                and code.strip().isdigit()):
            continue  # TA1 notes are printed with three digits ("TA1 note 025")
        text = explain(code)
        if "not in medbill's" not in text:
            found.append((label, text))
    return found


def _verdict_json(verdict: Verdict, gap: str = "",
                  unchecked: NotChecked | None = None) -> dict[str, object]:
    """One verdict; ``unchecked``: no loaded release covers the date (``"valid": false,
    "checked": false``, the message and note ``medbill validate --json`` gives)."""
    info = verdict.info
    return {"system": verdict.system.value, "code": info.display_code if info else verdict.code,
            "valid": verdict.ok and unchecked is None, "reason": verdict.reason.value,
            "on": verdict.on.isoformat(),
            "description": info.description if info else None,
            "effective": info.effective.isoformat() if info and info.effective else None,
            "terminated": info.terminated.isoformat() if info and info.terminated else None,
            **({"message": verdict.message, "note": verdict.note or None,
                "release": verdict.release or None} if unchecked is None else
               {"message": unchecked.message, "note": unchecked.to_load, "release": None,
                "checked": False}),
            "release_gap": gap or None}


@app.command("show")
@cli_errors
def show(
    code: Annotated[str, typer.Argument(
        help="The code, e.g. E11.9, 0DTJ4ZZ, G0519, 25, 11, CO-45, N130, A7 or A7:21 (277CA), "
             "75 (AAA), 025 (TA1)")],
    system: Annotated[CodeSystem | None, typer.Option(
        "--system", "-s", case_sensitive=False,
        help="Only this code set (default: every code set the code is found in)")] = None,
    on: Annotated[str | None, typer.Option(
        "--date", "-d", help="Date of service (YYYY-MM-DD; default today)")] = None,
    data_dir: DataDirOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show CODE as of a date of service: what it is, whether it is valid and why not.

    On a date no loaded release of the code set covers it is "not checked" (exit 1), naming
    the loaded releases' windows and the release to load, as `medbill validate` says it.

    A CARC may be given with its group as remittances print it (CO-45, PR 2, OA23).

    Without --system every code set the code is shaped for is asked, and each that knows it
    answers: an ICD-10-PCS code (7 characters, no I or O, e.g. 0DTJ4ZZ) cannot be an ICD-10-CM
    code written with its dot, but written without one a 7-character diagnosis (S72001A) and
    a procedure could share a spelling, so both answers are shown; --system icd10pcs (or
    icd10cm) asks only one.
    """
    when = parse_date_option(on) or date.today()
    codesets = CodeSets(data_dir)
    group_carc = _GROUP_CARC.match(code.strip().upper()) \
        if system in (None, CodeSystem.CARC) else None
    extra: list[tuple[str, str]] = []
    status_pair = explain_claim_status_pair(code) if system is None else None
    if status_pair is not None:
        # "A7:21" as a claim's history records a 277CA answer: category and status code
        if status_pair.count("not in medbill's") == 2:
            raise fail(f"{code.strip()}: neither part is a 277CA category or status code", 1)
        verdicts = []
        extra = [("277CA claim status", status_pair)]
    elif group_carc is not None:
        group, reason = group_carc.groups()
        verdicts = [codesets.check(CodeSystem.CARC, reason, when)]
        extra = [("adjustment", explain_carc(group, reason, when))]
    elif system is not None:
        verdicts = [codesets.check(system, code, when)]
    else:
        verdicts = [v for v in (codesets.check(s, code, when) for s in _SHOW_ORDER
                                if _may_be(s, code))
                    if v.reason not in (Reason.FORMAT, Reason.UNKNOWN)]
        extra = _x12_meanings(code)
        if not verdicts and not extra:
            raise fail(f"{code.strip()}: not found in any code set on {when}", 1)
    gaps = [release_gap(v.system.value, v.code, when, codesets.data_dir) for v in verdicts]
    # a code valid in the nearest release on a date no loaded release covers is not a pass:
    # "not checked", as `medbill validate` says it
    unchecked = [not_checked(v, codesets.data_dir) for v in verdicts]
    lines = [f"not checked: {u.message}; {u.to_load}" for u in unchecked if u is not None]
    if as_json:
        print_json({"code": code.strip().upper(), "on": when.isoformat(),
                    "verdicts": [_verdict_json(v, gaps[index], unchecked[index])
                                 for index, v in enumerate(verdicts)],
                    "meanings": [{"list": label, "text": text} for label, text in extra]})
    elif verdicts and len(lines) == len(verdicts) and not extra:
        raise fail("; ".join(lines), 1)
    else:
        for label, text in extra:
            console.print(f"[bold]{escape(label)}[/]  {escape(text)}", highlight=False)
        for verdict, gap, not_passed in zip(verdicts, gaps, unchecked, strict=True):
            if not_passed is None:
                _print_verdict(verdict, gap)
            else:
                console.print(f"[bold red]not checked:[/] {escape(not_passed.message)}; "
                              f"{escape(not_passed.to_load)}", highlight=False, soft_wrap=True)
    passed = [v for v, u in zip(verdicts, unchecked, strict=True) if v.ok and u is None]
    if verdicts and not passed and not (extra and group_carc is None):
        raise typer.Exit(1)


@app.command("search")
@cli_errors
def search_command(
    text: Annotated[list[str], typer.Argument(
        help="Words of the description (all must match; 'diab' matches 'diabetes'; at most"
             " 64 words, 500 characters) or the "
             "start of a code (E11.6)")],
    system: Annotated[list[CodeSystem] | None, typer.Option(
        "--system", "-s", case_sensitive=False,
        help="Only these code sets (default: icd10cm, icd10pcs, hcpcs, and cpt when loaded);"
             " repeat")
    ] = None,
    on: Annotated[str | None, typer.Option(
        "--date", "-d", help="Date of service (YYYY-MM-DD; default today)")] = None,
    include_all: Annotated[bool, typer.Option(
        "--all", help="Also codes not usable on the date (terminated, not yet effective, "
                      "category headers), marked why")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    data_dir: DataDirOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Find ICD-10-CM, ICD-10-PCS and HCPCS codes by description, best match first, as of a
    date (ICD-10-CM and PCS in the fiscal year's release governing it)."""
    from medbill_core.codesets.search import SEARCHABLE, query_problem, search

    query = " ".join(text)
    problem = query_problem(query)
    if problem is not None:  # before anything is loaded: a usage error, one line
        raise fail(problem, 2)
    when = parse_date_option(on) or date.today()
    systems = tuple(system or SEARCHABLE)
    codesets = CodeSets(data_dir)
    hits = search(query, on=when, systems=systems, limit=limit, include_unusable=include_all,
                  codesets=codesets)
    note = None
    if CodeSystem.ICD10CM in systems:
        release = codesets.icd10cm_release(when)
        if not release.covers(when):
            note = (f"ICD-10-CM searched in the {release.label} ({release.effective}.."
                    f"{release.through}), the loaded release nearest to {when}")
    if as_json:
        print_json({"query": query, "on": when.isoformat(), "note": note,
                    "hits": [hit.as_json() for hit in hits]})
        return
    if not hits:
        raise fail(f"no code matches {query!r} on {when}", 1)  # one line, no warning
    if note:
        warn(note)  # stderr: the table on stdout stays the search's answer alone
    table = data_table("code", "set", "description", "status",
                       title=f"{len(hits)} codes matching {escape(repr(query))} on {when}",
                       keys=("code", "set", "status"))
    for hit in hits:
        table.add_row(hit.code, hit.system.label, escape(hit.description),
                      "valid" if hit.usable else hit.status.value.replace("_", " "))
    print_table(table)


@app.command("load-ncci")
@cli_errors
def load_ncci(
    table: Annotated[str, typer.Argument(help="ptp (procedure-to-procedure pairs) or mue")],
    files: Annotated[list[Path], typer.Argument(
        help="The quarterly CMS practitioner files (PTP: all parts of one quarter)")],
    data_dir: DataDirOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Store a quarter's NCCI practitioner edits ahead of the packaged ones."""
    from medbill_core.codesets import ncci

    if table not in ("ptp", "mue"):
        raise CodeSetError(f"unknown NCCI table {table!r}: use ptp or mue")
    if table == "mue" and len(files) != 1:
        raise CodeSetError("the MUE table is one file")
    with service_progress(f"loading NCCI {table.upper()}") as on_progress:
        result = (ncci.load_ptp(files, data_dir=data_dir, on_progress=on_progress)
                  if table == "ptp"
                  else ncci.load_mue(files[0], data_dir=data_dir, on_progress=on_progress))
    if as_json:
        print_json({"table": table, "rows": result.rows,
                    "files": [path.name for path in result.sources],
                    "stored_at": str(result.stored_at)})
        return
    console.print(f"Loaded {result.rows:,} NCCI {table.upper()} rows into "
                  f"{result.stored_at!s}; they replace the packaged table.",
                  highlight=False, soft_wrap=True, markup=False)


@app.command("update")
@cli_errors
def update_command(
    files: Annotated[list[Path], typer.Argument(
        help="Official release files or the zips they come in: CMS/CDC ICD-10-CM and PCS, the"
             " quarterly HCPCS file, NCCI PTP/MUE files, the MPFS RVU zip, X12 CARC/RARC lists")],
    data_dir: DataDirOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Recognise official code-set releases by their content; load them with their dates.

    Every file is checked before anything is stored: a malformed file changes
    nothing, a release already loaded stays as it is, and earlier releases
    stay for earlier dates of service.

    Files it reads, plain or in the zips CMS ships:
    - ICD-10-CM and ICD-10-PCS order or codes files (icd10cm_order_2027.txt)
    - the quarterly HCPCS zip, or its ANWEB xlsx or CSV (HCPC2026_OCT_ANWEB.xlsx)
    - the four NCCI PTP files of a quarter (ccipra-v323r0-f1 .. f4)
    - the NCCI MUE table (MCR_MUE_PractitionerServices_Eff_10-01-2026.csv)
    - the MPFS relative value zip (rvu26d.zip: PPRRVU, GPCI, OPPSCAP)
    - the X12 CARC and RARC lists saved as CSV, named with their date
    - the CMS place of service list saved as CSV
    """
    from medbill_core.codesets.update import update

    with service_progress("loading code-set releases") as on_progress:
        outcomes = update(files, data_dir=data_dir, on_progress=on_progress)
    if as_json:
        print_json({"releases": [
            {"code_set": o.prepared.code_set, "release": o.prepared.release,
             "effective": o.prepared.effective.isoformat(),
             "through": o.prepared.through.isoformat() if o.prepared.through else None,
             "rows": o.prepared.rows, "action": o.action,
             "files": [s.label for s in o.prepared.sources], "stored_at": str(o.stored_at)}
            for o in outcomes]})
        return
    for outcome in outcomes:
        release = outcome.prepared
        window = f"{release.effective}..{release.through or ''}"
        verb = ("Loaded" if outcome.action == "loaded"
                else "Unchanged (already loaded):")
        console.print(f"{verb} {release.release}, {release.rows:,} rows, for dates of service"
                      f" {window}", highlight=False, soft_wrap=True, markup=False)


@app.command("status")
@cli_errors
def status_command(
    on: Annotated[str | None, typer.Option(
        "--date", "-d", help="Date of service to check coverage for (YYYY-MM-DD; default"
                             " today)")] = None,
    data_dir: DataDirOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Each code set, the releases loaded, the dates they cover, and what is missing.

    Exits 0 even when a release is missing (the table says so); scripts read --json.
    """
    from medbill_core.codesets.loaders import user_data_dir
    from medbill_core.codesets.releases import status

    when = parse_date_option(on) or date.today()
    rows = status(when, user_data_dir(data_dir))
    if as_json:
        print_json({"on": when.isoformat(), "code_sets": [
            {"code_set": spec.key, "name": spec.name, "covered": cov.covered,
             "release_used": cov.release_label or None, "missing": cov.missing or None,
             "releases": [{"release": r.label, "effective": r.effective.isoformat(),
                           "through": r.through.isoformat() if r.through else None,
                           "origin": r.origin, "source": r.source, "rows": r.rows,
                           "note": r.note or None} for r in releases]}
            for spec, releases, cov in rows]})
        return
    table = data_table("code set", "releases (dates of service they govern)", f"for {when}",
                       title=f"Code-set releases, and the one for dates of service on {when}",
                       keys=("code set",))
    gaps = []
    for spec, releases, cov in rows:
        listed = "\n".join(
            f"{escape(r.label)}: {r.effective}..{r.through or '(until replaced)'}"
            + (" [loaded]" if r.origin == "loaded" else "") for r in releases) or "-"
        state = ("[green]covered[/]" if cov.covered
                 else "[red]missing[/] " + escape(cov.wanted_period))
        table.add_row(escape(spec.name), listed, state)
        if not cov.covered:
            gaps.append(f"{cov.wanted} is not loaded: {cov.how_to_load}")
    print_table(table)
    for gap in gaps:
        warn(escape(gap))
