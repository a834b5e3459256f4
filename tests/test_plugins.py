"""Plugin loading (stevedore), start-up checks, and every hook through the typed facade."""

from __future__ import annotations

import sys
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from inproc_plugins import LineAdapter, make_line_plugin
from stevedore import ExtensionManager

from medbill_core.config import MedbillConfig
from medbill_core.domain import (
    ClaimStatusRequest,
    CoverageStatus,
    DocumentKind,
    EligibilityRequest,
    EligibilityResponse,
    InboundDocument,
    RenderedDocument,
    Statement,
)
from medbill_core.errors import (
    AdapterNotAvailable,
    ConfigurationError,
    MedbillError,
    PluginError,
)
from medbill_core.hookspecs import hookimpl
from medbill_core.loading import installed_plugins
from medbill_core.plugins import PluginHooks
from medbill_core.testing import factories


def config(**overrides: object) -> MedbillConfig:
    values: dict[str, object] = {
        "database_url": "sqlite://", "practice": factories.make_practice(),
        "payers": {"linepay": factories.make_payer("linepay", adapter="line_format",
                                                   channel="loopback")},
    }
    values.update(overrides)
    return MedbillConfig(**values)


def start(*plugins: tuple[str, object], **overrides: object) -> PluginHooks:
    return PluginHooks.start(config(**overrides), extra_plugins=plugins, load_installed=False)


# -- discovery and enabling ------------------------------------------------------------------

def test_enabled_but_not_installed_names_the_plugin() -> None:
    with pytest.raises(ConfigurationError, match="not installed: no_such_plugin"):
        PluginHooks.start(config(plugins=["no_such_plugin"]))


@pytest.fixture
def broken_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A real installed distribution (dist-info on sys.path) whose plugin fails to import."""
    package = tmp_path / "medbill_broken_plugin.py"
    package.write_text("raise RuntimeError('boom at import')\n")
    info = tmp_path / "medbill_broken-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: medbill-broken\n"
                                   "Version: 0.0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent("""\
        [medbill.plugins]
        broken = medbill_broken_plugin
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    # stevedore caches each namespace's entry points for the life of the process
    monkeypatch.setattr(ExtensionManager, "ENTRY_POINT_CACHE", {})
    yield "broken"
    sys.modules.pop("medbill_broken_plugin", None)


def test_plugin_failing_to_import_stops_start_up_naming_it(broken_distribution: str) -> None:
    assert broken_distribution in {p.name for p in installed_plugins()}
    with pytest.raises(PluginError) as raised:
        PluginHooks.start(config(plugins=[broken_distribution]))
    assert raised.value.plugin == "broken"
    assert "failed to import medbill_broken_plugin" in str(raised.value)


def test_unknown_hook_stops_start_up_naming_the_plugin() -> None:
    @hookimpl
    def medbill_regster_payer_adapters(context: object) -> list[object]:  # typo on purpose
        return []

    plugin = SimpleNamespace(medbill_regster_payer_adapters=medbill_regster_payer_adapters)
    with pytest.raises(PluginError, match="typo_plugin.*unknown hook 'medbill_regster"):
        start(("typo_plugin", plugin))


def test_duplicate_adapter_identifier_names_both_plugins() -> None:
    with pytest.raises(PluginError) as raised:
        start(("first", make_line_plugin()), ("second", make_line_plugin()))
    message = str(raised.value)
    assert "'second'" in message and "'first'" in message and "line_format" in message


def test_plugin_settings_are_validated_by_the_plugins_model() -> None:
    hooks = start(("lineplug", make_line_plugin()),
                  plugin_settings={"lineplug": {"greeting": "hi", "retries": "5"}})
    settings = hooks.context.settings_for("lineplug")
    assert (settings.greeting, settings.retries) == ("hi", 5)
    with pytest.raises(ConfigurationError, match=r"\[plugins.lineplug\] retries: "):
        start(("lineplug", make_line_plugin()),
              plugin_settings={"lineplug": {"retries": "many"}})


def test_settings_for_a_plugin_without_a_model_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="takes no settings"):
        start(("plain", SimpleNamespace()), plugin_settings={"plain": {"x": 1}})


def test_hooks_of_lists_what_a_plugin_implements() -> None:
    hooks = start(("lineplug", make_line_plugin()))
    assert hooks.hooks_of("lineplug") == [
        "medbill_plugin_settings_model", "medbill_register_channels",
        "medbill_register_payer_adapters", "medbill_register_statement_renderers"]


# -- the hooks, through the facade -------------------------------------------------------------

@pytest.fixture
def hooks() -> PluginHooks:
    return start(("lineplug", make_line_plugin()))


def test_registration_fills_the_registries(hooks: PluginHooks) -> None:
    assert isinstance(hooks.context.adapter("line_format"), LineAdapter)
    assert hooks.context.channel("loopback").identifier == "loopback"
    assert hooks.context.renderer("text").media_type == "text/plain"
    with pytest.raises(AdapterNotAvailable, match="'nope'.*available: line_format"):
        hooks.context.adapter("nope")


def test_check_eligibility_goes_through_adapter_and_channel(hooks: PluginHooks) -> None:
    payer = hooks.context.payer("linepay")
    request = EligibilityRequest(
        trace_number="T-1", practice=factories.make_practice(),
        patient=factories.make_patient(id=1), coverage=factories.make_coverage(payer_key="linepay"),
        payer=payer, service_date=date.today())
    response = hooks.check_eligibility(request=request)
    assert response == EligibilityResponse(trace_number="T-1", status=CoverageStatus.ACTIVE)


def test_claim_edits_collect_core_and_adapter_findings(hooks: PluginHooks) -> None:
    payer = hooks.context.payer("linepay")
    claim = factories.make_billable_claim(
        payer=payer, coverage=factories.make_coverage(patient_id=1, id=1, payer_key="linepay"),
        claim=factories.make_claim(payer_key="linepay", lines=4,
                                   service_date=date(2020, 1, 2)))
    codes = [f.code for f in hooks.claim_edits(claim=claim)]
    # 4 lines: adapter edit; 2020 date: timely filing; lines 3 and 4 repeat line 2
    assert {"line_format.too_many_lines", "timely_filing.expired"} <= set(codes)
    assert codes.count("line.duplicate") == 2


def test_encode_submit_fetch_decode(hooks: PluginHooks) -> None:
    payer = hooks.context.payer("linepay")
    claims = [factories.make_billable_claim(
        payer=payer, coverage=factories.make_coverage(patient_id=1, id=1, payer_key="linepay"),
        claim=factories.make_claim(payer_key="linepay", number=f"C{i}", lines=2))
        for i in (1, 2)]
    files = hooks.encode_claims(payer=payer, claims=claims)
    assert files[0].content == "C1|143.50\nC2|143.50"
    receipt = hooks.submit_file(submission=files[0], channel="loopback", idempotency_key="k1")
    again = hooks.submit_file(submission=files[0], channel="loopback", idempotency_key="k1")
    assert receipt.submission_id == again.submission_id == "k1"
    channel = hooks.context.channel("loopback")
    assert list(channel.submitted) == ["k1"]
    channel.waiting.append(InboundDocument(channel="loopback", document_id="d1",
                                           kind=DocumentKind.ELIGIBILITY_271,
                                           content="ELIG|inactive|T-9"))
    fetched = hooks.fetch_responses(channel="loopback")
    assert [d.document_id for d in fetched] == ["d1"]
    decoded = hooks.decode_response(document=fetched[0])
    assert decoded.status is CoverageStatus.INACTIVE
    with pytest.raises(AdapterNotAvailable, match="decode document 'junk'"):
        hooks.decode_response(document=InboundDocument(channel="x", document_id="junk",
                                                       content="???"))


def test_check_claim_status(hooks: PluginHooks) -> None:
    payer = hooks.context.payer("linepay")
    claim = factories.make_billable_claim(
        payer=payer, coverage=factories.make_coverage(patient_id=1, id=1, payer_key="linepay"),
        claim=factories.make_claim(payer_key="linepay", number="ST1"))
    response = hooks.check_claim_status(request=ClaimStatusRequest(trace_number="S1", claim=claim))
    assert [c.claim_number for c in response.claims] == ["ST1"]


def test_render_statement(hooks: PluginHooks) -> None:
    statement = Statement(statement_number="S-100", practice=factories.make_practice(),
                          patient=factories.make_patient(id=1), account_number="A00001",
                          statement_date=date(2026, 1, 1), due_date=date(2026, 1, 31),
                          balance_due=Decimal("42.10"))
    rendered = hooks.render_statement(statement=statement, renderer="text")
    assert rendered.content == b"Statement S-100\nBalance due: 42.10\n"


def test_plugin_override_wins_over_core_dispatch(hooks: PluginHooks) -> None:
    override = RenderedDocument(renderer="text", media_type="text/plain",
                                filename="override.txt", content=b"override")

    class Override:
        @hookimpl(tryfirst=True)
        def medbill_render_statement(self, statement: Statement, renderer: str,
                                     context: object) -> RenderedDocument:
            return override

    hooks.manager.register(Override(), name="override")
    statement = Statement(statement_number="S-1", practice=factories.make_practice(),
                          patient=factories.make_patient(id=1), account_number="A1",
                          statement_date=date(2026, 1, 1), due_date=date(2026, 1, 31),
                          balance_due=Decimal("0"))
    assert hooks.render_statement(statement=statement, renderer="text") is override


def test_register_commands_adds_plugin_commands() -> None:
    import typer
    from typer.testing import CliRunner

    @hookimpl
    def medbill_register_commands(app: typer.Typer) -> None:
        @app.command("hello-plugin")
        def hello() -> None:
            typer.echo("hello from a plugin")

    hooks = start(("cmd", SimpleNamespace(medbill_register_commands=medbill_register_commands)))
    app = typer.Typer()

    @app.command("core")
    def core() -> None:
        pass

    hooks.register_commands(app=app)
    result = CliRunner().invoke(app, ["hello-plugin"])
    assert result.exit_code == 0 and result.output == "hello from a plugin\n"


# -- error policy ---------------------------------------------------------------------------

def test_foreign_exception_becomes_plugin_error_naming_the_plugin() -> None:
    @hookimpl
    def medbill_claim_edits(claim: object, context: object) -> list[object]:
        raise KeyError("secret-member-id-123")

    hooks = start(("flaky", SimpleNamespace(medbill_claim_edits=medbill_claim_edits)))
    with pytest.raises(PluginError) as raised:
        hooks.claim_edits(claim=factories.make_billable_claim())
    assert raised.value.plugin == "flaky"
    assert "KeyError in medbill_claim_edits" in str(raised.value)
    assert "secret-member-id-123" not in str(raised.value)  # exception text may be PHI


def test_domain_errors_from_plugins_pass_through() -> None:
    @hookimpl
    def medbill_claim_edits(claim: object, context: object) -> list[object]:
        raise MedbillError("payer rules unavailable")

    hooks = start(("strict", SimpleNamespace(medbill_claim_edits=medbill_claim_edits)))
    with pytest.raises(MedbillError, match="^payer rules unavailable$"):
        hooks.claim_edits(claim=factories.make_billable_claim())


def test_registration_errors_name_the_plugin() -> None:
    @hookimpl
    def medbill_register_channels(context: object) -> list[object]:
        raise ValueError("bad")

    with pytest.raises(PluginError, match="plugin 'chan'.*ValueError"):
        start(("chan", SimpleNamespace(medbill_register_channels=medbill_register_channels)))


def test_missing_adapter_for_a_payer_is_a_clear_error() -> None:
    hooks = start()
    payer = hooks.context.payer("linepay")
    with pytest.raises(AdapterNotAvailable, match="payer adapter 'line_format'"):
        hooks.encode_claims(payer=payer, claims=[])


# -- decoded results are checked, and errors named by the plugin that owns the adapter -------

class _TupleAdapter(LineAdapter):
    """Returns the X12 engine's (kind, objects) tuple instead of a decoded response (the bug
    a third-party plugin shipped: the core marked its 835 applied and posted nothing)."""

    identifier = "tuple_format"

    def decode(self, document: InboundDocument) -> object:  # type: ignore[override]
        return ("835", [object()])


class _BrokenAdapter(LineAdapter):
    identifier = "broken_format"

    def decode(self, document: InboundDocument) -> object:  # type: ignore[override]
        raise ValueError("adapter bug")


def _adapter_plugin(adapter: LineAdapter) -> SimpleNamespace:
    @hookimpl
    def medbill_register_payer_adapters(context: object) -> list[LineAdapter]:
        return [adapter]

    return SimpleNamespace(medbill_register_payer_adapters=medbill_register_payer_adapters)


def _document() -> InboundDocument:
    return InboundDocument(document_id="doc-1", channel="loopback", content="ISA*...~",
                           kind=DocumentKind.OTHER)


@pytest.mark.parametrize(("adapter", "message"), [
    (_TupleAdapter(), "plugin 'acme_payer': payer adapter 'tuple_format': decode returned"
                      " tuple, not a decoded response"),
    (_BrokenAdapter(), "plugin 'acme_payer': payer adapter 'broken_format': ValueError in"
                       " decode"),
])
def test_a_wrong_decode_fails_naming_the_plugin_that_owns_the_adapter(
        adapter: LineAdapter, message: str) -> None:
    hooks = start(("line", make_line_plugin()), ("acme_payer", _adapter_plugin(adapter)))
    assert hooks.context.owner_of(adapter.identifier) == "acme_payer"
    with pytest.raises(PluginError) as raised:
        hooks.decode_response(document=_document())
    assert raised.value.message.startswith(message)
    assert raised.value.plugin == "acme_payer"  # not the core's dispatcher


def test_a_decode_hook_answering_what_the_core_cannot_apply_is_named() -> None:
    @hookimpl
    def medbill_decode_response(document: InboundDocument, context: object) -> object:
        return "applied!"

    hooks = start(("line", make_line_plugin()),
                  ("stringy", SimpleNamespace(medbill_decode_response=medbill_decode_response)))
    with pytest.raises(PluginError, match="^plugin 'stringy': medbill_decode_response: decode"
                                          " returned str, not a decoded response"):
        hooks.decode_response(document=_document())


def test_a_good_decode_still_passes_through() -> None:
    hooks = start(("line", make_line_plugin()))
    decoded = hooks.decode_response(document=InboundDocument(
        document_id="doc-2", channel="loopback", content="ELIG|active|T1",
        kind=DocumentKind.OTHER))
    assert isinstance(decoded, EligibilityResponse) and decoded.trace_number == "T1"
