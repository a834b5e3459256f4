"""What an adapter, channel or renderer can do is declared on its base class, with working
defaults: the core asks ``supports_*()`` and declared attributes, it never probes."""

from __future__ import annotations

import ast
from pathlib import Path

import medbill_core
from medbill_core.adapters import PayerAdapter, StatementRenderer, SubmissionChannel

CORE = Path(medbill_core.__file__).parent


class Bare(PayerAdapter):
    identifier = "bare"


class Judging(PayerAdapter):
    identifier = "judging"
    requires_rendering_provider = True

    def remittance_findings(self, payment, payer, claim):
        return []


def test_payer_adapter_defaults_and_overrides() -> None:
    bare, judging = Bare(), Judging()
    assert (bare.supports_claims(), bare.supports_eligibility(), bare.supports_claim_status(),
            bare.supports_remittance_findings(), bare.requires_rendering_provider) == (
        False, False, False, False, False)
    assert (judging.supports_remittance_findings(), judging.requires_rendering_provider) == (
        True, True)


def test_channel_and_renderer_defaults() -> None:
    class Quiet(SubmissionChannel):
        identifier = "quiet"

    class Plain(StatementRenderer):
        identifier = "plain"

    assert Quiet().supports_realtime() is False
    assert Plain().supports_estimates() is False


def _probes(path: Path) -> list[str]:
    """``getattr``/``hasattr`` calls whose object is named like an adapter, channel or
    renderer."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("getattr", "hasattr") and node.args:
            target = ast.unparse(node.args[0]).lower()
            if any(word in target for word in ("adapter", "channel", "renderer", "implementation")):
                found.append(f"{path.name}:{node.lineno} {ast.unparse(node)}")
    return found


def test_the_core_never_probes_plugin_objects() -> None:
    assert [hit for path in sorted(CORE.rglob("*.py")) for hit in _probes(path)] == []
