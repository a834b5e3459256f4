"""The plugin API as a product: every hook documented and versioned, renamed hooks that keep
working for one minor version, the API version a plugin needs, ``medbill plugins check``,
answers checked where received and every adapter error named by the plugin that owns the
adapter (issue 13)."""

from __future__ import annotations

import inspect
import json
import sys
import textwrap
import warnings
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cli_support import cli, one_line_error
from inproc_plugins import LineAdapter, LoopbackChannel, TextRenderer, make_line_plugin
from stevedore import ExtensionManager
from test_plugins import start

from medbill_core import hookspecs
from medbill_core.domain import (
    ClaimStatusRequest,
    CoverageStatus,
    DocumentKind,
    EligibilityRequest,
    InboundDocument,
    Statement,
)
from medbill_core.errors import PluginError
from medbill_core.hookspecs import hookimpl
from medbill_core.loading import installed_plugins
from medbill_core.plugincheck import (
    api_version_problem,
    hook_arguments,
    parse_api_version,
    problems_of,
    removal_version,
)
from medbill_core.plugins import PluginHooks
from medbill_core.testing import factories

SPECS = hook_arguments()


def _detail(error: PluginError) -> str:
    """The message after "plugin 'name': " (the plugin is asserted on its own)."""
    prefix = f"plugin {error.plugin!r}: "
    assert error.message.startswith(prefix)
    return error.message.removeprefix(prefix)


# -- every hook documented, versioned, and served by one facade method ---------------------------

@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_hook_is_documented(name: str) -> None:
    spec = getattr(hookspecs, name)
    doc = inspect.getdoc(spec) or ""
    assert doc.strip(), f"{name} has no docstring"
    for argument in hook_arguments()[name]:
        assert f":param {argument}:" in doc, f"{name}: no ':param {argument}:'"
    returns = inspect.signature(spec).return_annotation
    if returns not in ("None", None, inspect.Signature.empty):
        assert ":returns:" in doc, f"{name} returns {returns} but has no ':returns:'"
    assert ".. versionadded:: " in doc, f"{name} does not say since when it exists"
    since = doc.split(".. versionadded:: ", 1)[1].split()[0]
    assert parse_api_version(since) is not None
    assert parse_api_version(since) <= parse_api_version(hookspecs.API_VERSION)


def test_the_documentation_check_catches_an_undocumented_hook(
        monkeypatch: pytest.MonkeyPatch) -> None:
    @hookspecs.hookspec
    def medbill_new_thing(claim: object) -> object:
        """Does a new thing."""

    monkeypatch.setattr(hookspecs, "medbill_new_thing", medbill_new_thing, raising=False)
    assert "medbill_new_thing" in hook_arguments()
    with pytest.raises(AssertionError, match=":param claim:"):
        test_every_hook_is_documented("medbill_new_thing")


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_hook_is_called_by_its_facade_method(name: str) -> None:
    method = getattr(PluginHooks, name.removeprefix("medbill_"), None)
    assert callable(method), f"PluginHooks has no method {name.removeprefix('medbill_')}"
    assert f'"{name}"' in inspect.getsource(method)


def test_renamed_hooks_are_dropped_one_minor_version_after_the_rename() -> None:
    current = parse_api_version(hookspecs.API_VERSION)
    for old, (new, since) in hookspecs.RENAMED_HOOKS.items():
        renamed = parse_api_version(since)
        assert new in SPECS and old not in SPECS
        assert renamed is not None and renamed[0] == current[0] and current[1] <= renamed[1], (
            f"{old}: renamed in {since}, so gone in {renamed[0]}.{renamed[1] + 1}")


# -- a renamed hook keeps working, with a warning naming the plugin --------------------------

@pytest.fixture
def renamed_statement_hook(monkeypatch: pytest.MonkeyPatch) -> str:
    """As if ``medbill_render_statement`` had been called ``medbill_render_letter`` before."""
    monkeypatch.setitem(hookspecs.RENAMED_HOOKS, "medbill_render_letter",
                        ("medbill_render_statement", hookspecs.API_VERSION))
    return "medbill_render_letter"


def _old_named_renderer_plugin() -> SimpleNamespace:
    rendered = TextRenderer().render

    @hookimpl(tryfirst=True)
    def medbill_render_letter(statement: Statement, renderer: str, context: object) -> Any:
        return rendered(statement.model_copy(update={"statement_number": "OLD-NAME"}))

    return SimpleNamespace(medbill_render_letter=medbill_render_letter)


def _statement() -> Statement:
    return Statement(statement_number="S-1", practice=factories.make_practice(),
                     patient=factories.make_patient(id=1), account_number="A1",
                     statement_date=date(2026, 1, 1), due_date=date(2026, 1, 31),
                     balance_due=Decimal("12.50"))


def test_a_renamed_hook_works_under_its_old_name_with_a_warning(
        renamed_statement_hook: str, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.warns(hookspecs.HookDeprecationWarning) as caught:
        hooks = start(("line", make_line_plugin()), ("oldie", _old_named_renderer_plugin()))
    [warning] = caught
    assert str(warning.message) == (
        "plugin 'oldie' implements 'medbill_render_letter', renamed 'medbill_render_statement'"
        f" in plugin API {hookspecs.API_VERSION}; the old name stops working in"
        f" {removal_version(hookspecs.API_VERSION)}")
    assert str(warning.message) in caplog.text
    rendered = hooks.render_statement(statement=_statement(), renderer="text")
    assert rendered.content == b"Statement OLD-NAME\nBalance due: 12.50\n"
    assert hooks.hooks_of("oldie") == ["medbill_render_statement"]


def test_without_the_rename_the_old_name_is_an_unknown_hook() -> None:
    with pytest.raises(PluginError, match="'oldie'.*unknown hook 'medbill_render_letter'"):
        start(("oldie", _old_named_renderer_plugin()))


# -- the API version a plugin needs ------------------------------------------------------------

@pytest.mark.parametrize("needed", ["1.11", "2.0", "0.9", "one"])
def test_a_plugin_needing_another_api_stops_start_up_naming_both_versions(needed: str) -> None:
    plugin = make_line_plugin()
    plugin.MEDBILL_API = needed
    with pytest.raises(PluginError) as raised:
        start(("future", plugin))
    message = str(raised.value)
    assert message.startswith("plugin 'future': ") and "\n" not in message
    assert needed in message and f"provides plugin API {hookspecs.API_VERSION}" in message


@pytest.mark.parametrize("needed", ["1.0", " 1.0", "1.1", "1.9", None])  # 1.9 < 1.10
def test_a_plugin_needing_this_api_or_saying_nothing_starts(needed: str | None) -> None:
    plugin = make_line_plugin()
    if needed is not None:
        plugin.MEDBILL_API = needed
    assert start(("current", plugin)).enabled == ["current"]
    assert api_version_problem(plugin) is None


# -- plugins check: every problem of a plugin -------------------------------------------------

class _SloppyPlugin:
    MEDBILL_API = "1.99"  # a minor version this core is far from

    @hookimpl
    def medbill_regster_payer_adapters(self, context: object) -> list[object]:  # typo
        return []

    @hookimpl
    def medbill_claim_edits(self, claim: object, ctx: object) -> list[object]:  # wrong arg
        return []

    @hookimpl
    def medbill_render_letter(self, statement: object) -> None:
        return None

    @hookimpl
    def medbill_encode_claims(self, payer: object, claims: object) -> None:  # a subset: fine
        return None


def test_problems_of_a_plugin_are_all_reported(renamed_statement_hook: str) -> None:
    problems = {(p.kind, p.hook): p.message for p in problems_of(_SloppyPlugin())}
    assert problems == {
        ("api_version", None):
            f"needs plugin API 1.99, this medbill provides plugin API {hookspecs.API_VERSION}",
        ("unknown_hook", "medbill_regster_payer_adapters"):
            "implements unknown hook 'medbill_regster_payer_adapters' (did you mean"
            " medbill_register_payer_adapters?)",
        ("unknown_argument", "medbill_claim_edits"):
            "medbill_claim_edits takes 'ctx', which the hook does not pass (it passes:"
            " claim, context)",
        ("deprecated_hook", "medbill_render_letter"):
            "implements 'medbill_render_letter', renamed 'medbill_render_statement' in plugin"
            f" API {hookspecs.API_VERSION}; the old name stops working in"
            f" {removal_version(hookspecs.API_VERSION)}",
    }


def test_a_clean_plugin_has_no_problems() -> None:
    assert problems_of(make_line_plugin()) == []
    import medbill_core.default_plugins.dispatch as dispatch

    assert problems_of(dispatch) == []


@pytest.fixture
def vendor_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """An installed distribution (dist-info on sys.path) with a clean plugin, a sloppy one
    and one that fails to import."""
    (tmp_path / "vendor_clean.py").write_text(textwrap.dedent("""\
        from medbill_core.hookspecs import hookimpl
        MEDBILL_API = "1.0"

        @hookimpl
        def medbill_register_channels(context):
            return []
        """))
    (tmp_path / "vendor_sloppy.py").write_text(textwrap.dedent("""\
        from medbill_core.hookspecs import hookimpl

        @hookimpl
        def medbill_encode_claim(payer, claims, context):
            return None
        """))
    (tmp_path / "vendor_broken.py").write_text("raise RuntimeError('boom at import')\n")
    info = tmp_path / "medbill_vendor-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: medbill-vendor\n"
                                   "Version: 0.0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent("""\
        [medbill.plugins]
        vendor_clean = vendor_clean
        vendor_sloppy = vendor_sloppy
        vendor_broken = vendor_broken
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(ExtensionManager, "ENTRY_POINT_CACHE", {})
    yield ["vendor_clean", "vendor_sloppy", "vendor_broken"]
    for module in ("vendor_clean", "vendor_sloppy", "vendor_broken"):
        sys.modules.pop(module, None)


def test_plugins_check_reports_every_plugin_and_exits_1(vendor_plugins: list[str]) -> None:
    result = cli(None, "plugins", "check")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    shipped = [p.name for p in installed_plugins() if not p.name.startswith("vendor_")]
    assert "vendor_clean: ok" in lines
    assert all(f"{name}: ok" in lines for name in shipped), lines  # none with only the core
    assert ("vendor_sloppy: implements unknown hook 'medbill_encode_claim' (did you mean"
            " medbill_encode_claims?)") in lines
    assert ("vendor_broken: failed to import vendor_broken: RuntimeError: boom at import"
            in lines)
    installed = len(installed_plugins())  # the shipped ones and these three
    assert one_line_error(result) == (
        f"error: plugin API {hookspecs.API_VERSION}: problems in 2 of {installed} plugin(s)")


def test_plugins_check_named_plugins_as_json(vendor_plugins: list[str]) -> None:
    clean = cli(None, "plugins", "check", "vendor_clean")
    assert clean.exit_code == 0, clean.output
    assert clean.stdout.splitlines() == [
        "vendor_clean: ok", f"plugin API {hookspecs.API_VERSION}: 1 plugin(s) ok"]
    result = cli(None, "plugins", "check", "vendor_sloppy", "nope", "--json")
    assert one_line_error(result) == (f"error: plugin API {hookspecs.API_VERSION}: problems in"
                                      " 1 of 1 plugin(s); not installed: nope")
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["not_installed"] == ["nope"]
    [report] = data["plugins"]
    assert report["name"] == "vendor_sloppy" and report["ok"] is False
    assert [(p["kind"], p["hook"]) for p in report["problems"]] == [
        ("unknown_hook", "medbill_encode_claim")]


# -- answers checked where received, named by the plugin that gave them --------------------------

def _request(hooks: PluginHooks) -> EligibilityRequest:
    return EligibilityRequest(
        trace_number="T-1", practice=factories.make_practice(),
        patient=factories.make_patient(id=1), coverage=factories.make_coverage(payer_key="linepay"),
        payer=hooks.context.payer("linepay"), service_date=date.today())


def _billable(hooks: PluginHooks) -> Any:
    payer = hooks.context.payer("linepay")
    return factories.make_billable_claim(
        payer=payer, coverage=factories.make_coverage(patient_id=1, id=1, payer_key="linepay"),
        claim=factories.make_claim(payer_key="linepay", number="C1"))


#: Each facade method with its arguments: (method, kwargs(hooks), hook name, what it wants).
CALLS: list[tuple[str, Any, str, str]] = [
    ("check_eligibility", lambda h: {"request": _request(h)}, "medbill_check_eligibility",
     "an EligibilityResponse"),
    ("encode_claims", lambda h: {"payer": h.context.payer("linepay"), "claims": [_billable(h)]},
     "medbill_encode_claims", "a list of SubmissionFile"),
    ("fetch_responses", lambda h: {"channel": "loopback"}, "medbill_fetch_responses",
     "a list of InboundDocument"),
    ("check_claim_status",
     lambda h: {"request": ClaimStatusRequest(trace_number="S1", claim=_billable(h))},
     "medbill_check_claim_status", "a ClaimStatusResponse"),
    ("render_statement", lambda h: {"statement": _statement(), "renderer": "text"},
     "medbill_render_statement", "a RenderedDocument"),
    ("claim_edits", lambda h: {"claim": _billable(h)}, "medbill_claim_edits",
     "a list of ClaimFinding"),
]


@pytest.mark.parametrize(("method", "arguments", "hook", "wanted"), CALLS,
                         ids=[c[0] for c in CALLS])
def test_a_hook_answering_the_wrong_type_names_plugin_hook_and_type(
        method: str, arguments: Any, hook: str, wanted: str) -> None:
    # takes no arguments (pluggy passes none); a dict: the value may be PHI, never printed
    impl = hookimpl(tryfirst=True)(lambda: {"member_id": "SECRET-123"})
    hooks = start(("line", make_line_plugin()), ("wrong", SimpleNamespace(**{hook: impl})))
    with pytest.raises(PluginError) as raised:
        getattr(hooks, method)(**arguments(hooks))
    assert raised.value.plugin == "wrong"
    assert _detail(raised.value) == f"{hook} returned dict, not {wanted}"
    assert "SECRET" not in str(raised.value)


class _WrongAdapter(LineAdapter):
    """Answers every call with the wrong type."""

    identifier = "wrong_format"

    def check_eligibility(self, request: Any, channel: Any) -> Any:
        return [CoverageStatus.ACTIVE]

    def encode_claims(self, payer: Any, claims: Any) -> Any:
        return "ISA*00*...~"

    def check_claim_status(self, request: Any, channel: Any) -> Any:
        return None

    def claim_edits(self, claim: Any) -> Any:
        return ["looks fine"]


class _WrongChannel(LoopbackChannel):
    identifier = "wrong_channel"

    def submit(self, submission: Any, *, idempotency_key: str) -> Any:
        return {"accepted": True}

    def fetch_responses(self) -> Any:
        return ("not", "documents")


class _WrongRenderer(TextRenderer):
    identifier = "wrong_text"

    def render(self, statement: Any) -> Any:
        return b"%PDF"


def _vendor_plugin(adapter: Any = None, channel: Any = None, renderer: Any = None,
                   ) -> SimpleNamespace:
    @hookimpl
    def medbill_register_payer_adapters(context: object) -> list[Any]:
        return [adapter] if adapter else []

    @hookimpl
    def medbill_register_channels(context: object) -> list[Any]:
        return [channel] if channel else []

    @hookimpl
    def medbill_register_statement_renderers(context: object) -> list[Any]:
        return [renderer] if renderer else []

    return SimpleNamespace(
        medbill_register_payer_adapters=medbill_register_payer_adapters,
        medbill_register_channels=medbill_register_channels,
        medbill_register_statement_renderers=medbill_register_statement_renderers)


@pytest.fixture
def vendor_hooks() -> PluginHooks:
    payers = {"linepay": factories.make_payer("linepay", adapter="wrong_format",
                                              channel="wrong_channel")}
    return start(("line", make_line_plugin()),
                 ("vendor", _vendor_plugin(_WrongAdapter(), _WrongChannel(), _WrongRenderer())),
                 payers=payers)


ADAPTER_CALLS = [
    (lambda h: h.check_eligibility(request=_request(h)),
     "payer adapter 'wrong_format': check_eligibility returned list, not an"
     " EligibilityResponse"),
    (lambda h: h.encode_claims(payer=h.context.payer("linepay"), claims=[_billable(h)]),
     "payer adapter 'wrong_format': encode_claims returned str, not a list of SubmissionFile"),
    (lambda h: h.check_claim_status(
        request=ClaimStatusRequest(trace_number="S1", claim=_billable(h))),
     "payer adapter 'wrong_format': check_claim_status returned None, not a"
     " ClaimStatusResponse"),
    (lambda h: h.claim_edits(claim=_billable(h)),
     "payer adapter 'wrong_format': claim_edits returned a list holding str, not a list of"
     " ClaimFinding"),
    (lambda h: h.submit_file(submission=_file(), channel="wrong_channel", idempotency_key="k"),
     "submission channel 'wrong_channel': submit returned dict, not a SubmissionReceipt"),
    (lambda h: h.fetch_responses(channel="wrong_channel"),
     "submission channel 'wrong_channel': fetch_responses returned a tuple holding str, not"
     " a list of InboundDocument"),
    (lambda h: h.render_statement(statement=_statement(), renderer="wrong_text"),
     "statement renderer 'wrong_text': render returned bytes, not a RenderedDocument"),
]


def _file() -> Any:
    from medbill_core.domain import SubmissionFile

    return SubmissionFile(payer_key="linepay", kind=DocumentKind.OTHER, content="x",
                          claim_numbers=["C1"], control_number="1", filename="b.txt")


@pytest.mark.parametrize(("call", "message"), ADAPTER_CALLS,
                         ids=[m.split(":")[0] + m.split(":")[1].split()[0]
                              for _, m in ADAPTER_CALLS])
def test_a_wrong_answer_of_an_adapter_is_its_plugins_not_the_dispatchers(
        vendor_hooks: PluginHooks, call: Any, message: str) -> None:
    with pytest.raises(PluginError) as raised:
        call(vendor_hooks)
    assert raised.value.plugin == "vendor"
    assert _detail(raised.value) == message


@pytest.mark.parametrize("amount", [92.5, 92, "92.50"])
def test_expected_allowed_must_be_decimal_never_float(amount: object) -> None:
    @hookimpl(tryfirst=True)
    def medbill_expected_allowed(payer: Any, procedure_code: str, modifiers: Any,
                                 place_of_service: str, service_date: date,
                                 context: Any) -> object:
        return amount

    hooks = start(("fees", SimpleNamespace(medbill_expected_allowed=medbill_expected_allowed)))
    with pytest.raises(PluginError, match=(
            rf"^plugin 'fees': medbill_expected_allowed returned {type(amount).__name__}, not"
            r" a Decimal amount or None \(money is never a float\)$")):
        hooks.expected_allowed(payer=hooks.context.payer("linepay"), procedure_code="99213",
                               modifiers=[], place_of_service="11", service_date=date.today())


def test_expected_allowed_decimal_or_nothing_passes() -> None:
    hooks = start()
    payer = factories.make_payer("fee", options={"fee_schedule": {"99213": "92.50"}})
    assert hooks.expected_allowed(payer=payer, procedure_code="99213", modifiers=[],
                                  place_of_service="11", service_date=date.today()) == \
        Decimal("92.50")
    assert hooks.expected_allowed(payer=payer, procedure_code="99214", modifiers=[],
                                  place_of_service="11", service_date=date.today()) is None


@pytest.mark.parametrize(("hook", "wanted"), [
    ("medbill_register_payer_adapters", "a list of PayerAdapter (payer adapters)"),
    ("medbill_register_channels", "a list of SubmissionChannel (submission channels)"),
    ("medbill_register_statement_renderers",
     "a list of StatementRenderer (statement renderers)"),
])
def test_registering_something_else_stops_start_up_naming_plugin_and_hook(
        hook: str, wanted: str) -> None:
    impl = hookimpl(lambda context: [LineAdapter()] if "channels" in hook or "renderers" in hook
                    else [LoopbackChannel()])
    with pytest.raises(PluginError) as raised:
        start(("mixed", SimpleNamespace(**{hook: impl})))
    assert raised.value.plugin == "mixed"
    assert _detail(raised.value).startswith(f"{hook} returned a list holding ")
    assert _detail(raised.value).endswith(f", not {wanted}")


def test_a_settings_model_that_is_no_model_is_named() -> None:
    impl = hookimpl(lambda: dict)
    with pytest.raises(PluginError, match="^plugin 'conf': medbill_plugin_settings_model"
                                          " returned type, not a pydantic model class$"):
        start(("conf", SimpleNamespace(medbill_plugin_settings_model=impl)))


def test_an_answer_through_a_wrapped_hook_is_still_checked() -> None:
    """submit_file is wrapped by the core's timing: the answer is checked after pluggy."""
    @hookimpl(tryfirst=True)
    def medbill_submit_file(submission: Any, channel: str, idempotency_key: str,
                            context: Any) -> object:
        return "sent"

    hooks = start(("line", make_line_plugin()),
                  ("sender", SimpleNamespace(medbill_submit_file=medbill_submit_file)))
    with pytest.raises(PluginError, match="^plugin 'sender': medbill_submit_file returned str,"
                                          " not a SubmissionReceipt$"):
        hooks.submit_file(submission=_file(), channel="loopback", idempotency_key="k")


# -- an adapter's error is its plugin's ---------------------------------------------------------

class _RaisingAdapter(LineAdapter):
    identifier = "raising_format"

    def check_eligibility(self, request: Any, channel: Any) -> Any:
        raise KeyError("member SECRET-123")


def test_an_adapter_error_in_a_dispatched_hook_names_the_owning_plugin(
        caplog: pytest.LogCaptureFixture) -> None:
    payers = {"linepay": factories.make_payer("linepay", adapter="raising_format",
                                              channel="loopback")}
    hooks = start(("line", make_line_plugin()), ("acme_payer", _vendor_plugin(_RaisingAdapter())),
                  payers=payers)
    with pytest.raises(PluginError) as raised:
        hooks.check_eligibility(request=_request(hooks))
    assert raised.value.plugin == "acme_payer"
    assert _detail(raised.value) == ("payer adapter 'raising_format': KeyError in"
                                    " check_eligibility")
    assert "SECRET" not in str(raised.value) and "SECRET" not in caplog.text
    assert "plugin acme_payer raised KeyError" in caplog.text


def test_the_adapter_call_policy_passes_domain_errors_and_names_the_owner() -> None:
    hooks = start(("line", make_line_plugin()))
    adapter = hooks.context.adapter("line_format")
    with pytest.raises(PluginError, match="^plugin 'line': payer adapter 'line_format':"
                                          " AttributeError in decode$"):
        hooks.context.call(adapter, "decode", None)
    findings = hooks.context.call(adapter, "claim_edits", _billable(hooks))
    assert findings == []


def test_a_channel_whose_acknowledge_raises_is_named(
        monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = start(("line", make_line_plugin()))
    channel = hooks.context.channel("loopback")

    def acknowledge(document: InboundDocument) -> None:
        raise OSError("connection reset")

    monkeypatch.setattr(channel, "acknowledge", acknowledge)
    with pytest.raises(PluginError, match="^plugin 'line': submission channel 'loopback':"
                                          " OSError in acknowledge$"):
        hooks.acknowledge(channel, InboundDocument(channel="loopback", document_id="d1",
                                                   content="x"))


def test_no_warning_for_plugins_without_renamed_hooks() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        start(("line", make_line_plugin()))


class _StreamingAdapter(LineAdapter):
    """Streams one payment whose claims cannot be read past the first (an adapter bug)."""

    identifier = "stream_format"

    def stream_remittances(self, document: InboundDocument) -> Any:
        def claims() -> Any:
            yield "first claim payment"
            raise IndexError("segment 7 of member SECRET-123")

        return iter([SimpleNamespace(claims=claims, header="header",
                                     provider_adjustments=[])])


def test_a_streamed_remittance_is_read_under_the_owning_plugins_error_policy() -> None:
    hooks = start(("line", make_line_plugin()),
                  ("streamer", _vendor_plugin(_StreamingAdapter())))
    adapter = hooks.context.adapter("stream_format")
    streams = hooks.stream_remittances(adapter, InboundDocument(
        channel="x", document_id="835-1", content="ISA*", kind=DocumentKind.REMITTANCE_835))
    assert streams is not None
    [parts] = list(streams)
    assert (parts.header, parts.provider_adjustments) == ("header", [])
    claims = parts.claims()
    assert next(claims) == "first claim payment"
    with pytest.raises(PluginError) as raised:
        next(claims)
    assert str(raised.value) == ("plugin 'streamer': payer adapter 'stream_format': IndexError"
                                 " in stream_remittances")
    assert hooks.stream_remittances(hooks.context.adapter("line_format"), InboundDocument(
        channel="x", document_id="835-2", content="ISA*")) is None


def test_start_up_refuses_a_misspelt_hook_or_argument_in_one_line() -> None:
    @hookimpl
    def medbill_claim_edit(claim: object, context: object) -> list[object]:
        return []

    with pytest.raises(PluginError) as raised:
        start(("typo", SimpleNamespace(medbill_claim_edit=medbill_claim_edit)))
    assert str(raised.value) == ("plugin 'typo': implements unknown hook 'medbill_claim_edit'"
                                 " (did you mean medbill_claim_edits? see"
                                 " medbill_core/hookspecs.py)")

    @hookimpl
    def medbill_claim_edits(claim: object, ctx: object) -> list[object]:
        return []

    with pytest.raises(PluginError) as raised:
        start(("args", SimpleNamespace(medbill_claim_edits=medbill_claim_edits)))
    assert str(raised.value) == (
        "plugin 'args': invalid hook implementation: medbill_claim_edits takes 'ctx', which"
        " the hook does not pass (it passes: claim, context)")
