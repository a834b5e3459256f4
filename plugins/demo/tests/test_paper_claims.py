"""Paper claims end to end with the shipped plugins: the demo's county program is billed on
paper (one batch PDF, owner-only, read back; UB-04s beside it); ``claims form`` prints one
claim; ``claims reprint`` prints a batch again only with a reason; mistakes are one-line
errors. The demo's own cycle is untouched (the county program has a database of its own)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from medbill_demo.paper import FOLDER, PAPER_PAYER, paper_config, print_paper_claims
from medbill_demo.runner import demo_payers
from pypdf import PdfReader
from typer.testing import CliRunner, Result

from medbill_core.cli.main import application
from medbill_core.config import config_toml


def _pdf_text(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def test_the_county_program_is_billed_on_paper(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    payer = demo_payers()[PAPER_PAYER.key]
    printed = print_paper_claims(tmp_path, payer)
    assert printed["claims"] == 2, printed
    [batch] = printed["batches"]
    assert batch["status"] == "sent" and batch["error"] is None
    folder = tmp_path / FOLDER
    kept = folder / batch["file"]
    assert kept.stat().st_mode & 0o777 == 0o600 and folder.stat().st_mode & 0o777 == 0o700
    pages = _pdf_text(kept.read_bytes())
    assert len(pages) == 2
    assert "MAIL0001" in pages[0] and "MAIL0002" in pages[1]
    assert "SANGAMON COUNTY CARE PROGRAM" in pages[0]  # the carrier block: where it is mailed
    assert printed["ub04_forms"] == ["claim_forms-MAIL0003-form.pdf",
                                     "claim_forms-MAIL0004-form.pdf"]
    inpatient = _pdf_text((folder / printed["ub04_forms"][1]).read_bytes())[0]
    assert "0111" in inpatient and "0DTJ4ZZ" in inpatient  # type of bill, FL74

    config = tmp_path / "medbill.toml"
    config.write_text(config_toml(paper_config(folder, payer)), encoding="utf-8")
    app = application(["-c", str(config)])

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(app, ["-c", str(config), *args])

    result = invoke("claims", "form", "MAIL0001", "--layout", "data", "-o", "one.pdf",
                    "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert (shown["renderer"], shown["layout"], shown["pages"], shown["findings"]) == (
        "claim_forms", "data", 1, [])
    one = tmp_path / "one.pdf"
    assert one.stat().st_mode & 0o777 == 0o600
    assert "MAIL0001" in _pdf_text(one.read_bytes())[0]

    result = invoke("claims", "form", "MAIL0001", "--renderer", "ub04")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "the ub04 form is not for professional claims" in result.output

    result = invoke("claims", "reprint", "1", "--reason", " ")
    assert result.exit_code != 0 and "say why the batch is printed again" in result.output
    assert not list(tmp_path.glob("paper-batch-*"))
    result = invoke("claims", "reprint", "1", "--reason", "toner ran out", "--json")
    assert result.exit_code == 0, result.output
    again = json.loads(result.stdout)
    assert (again["pages"], again["claims"]) == (2, 2)
    assert Path(again["file"]).read_bytes().startswith(b"%PDF")
