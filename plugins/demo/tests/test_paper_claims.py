"""Paper claims end to end with the shipped plugins: the demo's county program is billed on
paper (one batch PDF, owner-only, read back); ``claims form`` prints one claim's CMS-1500;
``claims reprint`` prints a batch again only with a reason; mistakes are one-line errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from medbill_demo.paper import print_paper_claims
from medbill_demo.runner import saved_demo_config
from pypdf import PdfReader
from typer.testing import CliRunner, Result

from medbill_core.app import Medbill
from medbill_core.cli.main import application
from medbill_core.config import config_toml


class Space:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = root / "medbill.toml"
        config = saved_demo_config("a-key-of-this-test-only").model_copy(update={
            "database_url": f"sqlite:///{root / 'medbill.db'}", "actor": "clerk",
            "plugin_settings": {"claim_forms_pdf": {"paper_dir": str(root / "paper")},
                                "clearinghouse_mock": {"base_url": "http://127.0.0.1:9"}}})
        self.config.write_text(config_toml(config), encoding="utf-8")
        self.medbill = Medbill.open(config, upgrade=True)
        self.app = application(["-c", str(self.config)])

    def invoke(self, *args: str) -> Result:
        return CliRunner().invoke(self.app, ["-c", str(self.config), *args])


@pytest.fixture
def space(tmp_path: Path) -> Space:
    made = Space(tmp_path)
    yield made
    made.medbill.close()


def _pdf_text(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def test_the_county_program_is_billed_on_paper(space: Space, monkeypatch) -> None:
    monkeypatch.chdir(space.root)
    printed = print_paper_claims(space.medbill)
    # the office visits print; the hospital claims wait for the scrubber's institutional
    # edits (lines without diagnosis pointers are refused by the professional ones)
    assert printed["claims"] == 2, printed
    [batch] = printed["batches"]
    assert batch["status"] == "sent" and batch["error"] is None
    [kept] = (space.root / "paper").iterdir()
    assert kept.name == batch["file"] and kept.stat().st_mode & 0o777 == 0o600
    pages = _pdf_text(kept.read_bytes())
    assert len(pages) == 2
    assert "MAIL0001" in pages[0] and "MAIL0002" in pages[1]
    assert "SANGAMON COUNTY CARE PROGRAM" in pages[0]  # the carrier block: where it is mailed

    result = space.invoke("claims", "form", "MAIL0001", "--layout", "data", "-o", "one.pdf",
                          "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert (shown["renderer"], shown["layout"], shown["pages"], shown["findings"]) == (
        "claim_forms", "data", 1, [])
    one = space.root / "one.pdf"
    assert one.stat().st_mode & 0o777 == 0o600
    assert "MAIL0001" in _pdf_text(one.read_bytes())[0]

    result = space.invoke("claims", "form", "MAIL0001", "--renderer", "ub04")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "the ub04 form is not for professional claims" in result.output

    batch_id = "1"
    result = space.invoke("claims", "reprint", batch_id, "--reason", " ")
    assert result.exit_code != 0 and "say why the batch is printed again" in result.output
    assert not list(space.root.glob("paper-batch-*"))
    result = space.invoke("claims", "reprint", batch_id, "--reason", "toner ran out",
                          "--json")
    assert result.exit_code == 0, result.output
    again = json.loads(result.stdout)
    assert (again["pages"], again["claims"]) == (2, 2)
    assert Path(again["file"]).read_bytes().startswith(b"%PDF")
