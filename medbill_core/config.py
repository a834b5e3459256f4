"""Configuration: ``medbill.toml`` plus ``MEDBILL_*`` environment overrides.

Layout of the file (``medbill init`` writes a commented starter)::

    [medbill]              database_url, plugins (the enabled ones), actor, log_level,
                           user (the CLI's local user), practice_code, payment_gateway,
                           notifier, financing_provider
    [practice]             the billing provider (name, npi, tax_id, taxonomy, address ...)
    [payers.<key>]         payer_id, name, adapter, channel, claim_filing_indicator ...
    [plugins.<name>]       that plugin's own settings, validated by its own model
    [pay_links]            the patient pay page: public_url, expire_days, the payment
                           plans a patient may choose there (see :class:`PayLinkSettings`)
    [posting_rules.<table>] ERA posting rules overriding the built-in table: ``default``
                           (every payer) or a payer key; ``"CO-50" = "deny"`` (see
                           :mod:`medbill_core.services.posting_rules`)

Environment overrides (applied after the file):

* ``MEDBILL_CONFIG`` - path of the file (default ``./medbill.toml``);
* ``MEDBILL_DATABASE_URL``, ``MEDBILL_PLUGINS`` (comma separated), ``MEDBILL_ACTOR``,
  ``MEDBILL_LOG_LEVEL``, ``MEDBILL_USER``, ``MEDBILL_PRACTICE_CODE``,
  ``MEDBILL_PAYMENT_GATEWAY``, ``MEDBILL_NOTIFIER``, ``MEDBILL_FINANCING_PROVIDER`` - keys of
  ``[medbill]``;
* ``MEDBILL_<SECTION>__<KEY>[__<KEY>...]`` - any nested key, e.g.
  ``MEDBILL_PRACTICE__NAME`` or ``MEDBILL_PLUGINS__CLEARINGHOUSE_MOCK__BASE_URL``
  (``PLUGINS__`` followed by a name addresses ``[plugins.<name>]``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from medbill_core.domain.identity import PRACTICE_CODE_PATTERN, USER_NAME_PATTERN
from medbill_core.domain.parties import Payer, Practice
from medbill_core.errors import ConfigurationError
from medbill_core.money import MAX_AMOUNT, bounded_amount

DEFAULT_CONFIG_NAME = "medbill.toml"
DEFAULT_DATABASE_URL = "sqlite:///medbill.db"
ENV_PREFIX = "MEDBILL_"
_TOP_LEVEL_KEYS = ("database_url", "plugins", "actor", "log_level", "user", "practice_code",
                   "payment_gateway", "notifier", "financing_provider")
#: Plugin setting names that hold a file or folder: a relative value is relative to the
#: configuration file, so ``medbill -c demo-out/medbill.toml ...`` works from any folder.
_PATH_SETTING_SUFFIXES = ("_path", "_dir", "_file")


class PayLinkSettings(BaseModel):
    """``[pay_links]``: where patients pay from a statement's link, and the plans they may
    choose there (:mod:`medbill_core.services.pay_links`)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    #: the address patients reach ``medbill serve`` at (printed on statements): its pay
    #: page is ``<public_url>/pay``
    public_url: str = "http://127.0.0.1:8080"
    #: how long a link works after it is issued (a statement is paid within weeks)
    expire_days: int = Field(default=60, ge=1, le=366)
    #: issue a link for each statement a run produces (needs ``payment_gateway``)
    on_statements: bool = True
    #: a plan chosen on the pay page: each installment at least this much ...
    plan_minimum_installment: Decimal = Field(default=Decimal("25.00"), gt=0, le=MAX_AMOUNT)
    #: ... and over at most this many months
    plan_maximum_months: int = Field(default=12, ge=1, le=120)

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or "?" in value or "#" in value:
            raise ValueError("must be an http:// or https:// address without ? or #")
        return value.rstrip("/")

    @field_validator("plan_minimum_installment")
    @classmethod
    def _cents(cls, value: Decimal) -> Decimal:
        if value != value.quantize(Decimal("0.01")):
            raise ValueError("must be whole cents")
        return value


class MedbillConfig(BaseModel):
    """The validated configuration of one medbill instance."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    database_url: str = DEFAULT_DATABASE_URL
    plugins: list[str] = Field(default_factory=list)
    #: The name audit events record as the actor; ``None``: the OS account running medbill.
    #: Every event also records that OS account on its own (``os_user``), so a name set here
    #: never hides who ran the command.
    actor: str | None = Field(default=None, min_length=1, max_length=80)
    log_level: str = Field(default="WARNING", pattern=r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")
    #: The user the command line acts as (``MEDBILL_USER``): its role in the practice decides
    #: what it may do. While the database has no user at all, the command line acts as a
    #: bootstrap administrator named after the OS account (see docs/users-and-roles.md).
    user: str | None = Field(default=None, pattern=USER_NAME_PATTERN)
    #: The practice the command line acts in, and the code the ``[practice]`` section's row
    #: gets when ``medbill db upgrade`` creates it (default ``default``).
    practice_code: str | None = Field(default=None, pattern=PRACTICE_CODE_PATTERN)
    #: The card payment gateway the practice takes card payments through (the identifier a
    #: plugin registers, e.g. ``mock``; that plugin enabled in ``plugins``); ``None``: no card
    #: payments.
    payment_gateway: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,40}$")
    #: The text-message / e-mail provider statements' links are sent through (a plugin's
    #: identifier, e.g. ``mock``); ``None``: nothing is sent.
    notifier: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,40}$")
    #: The patient financing lender guarantors are referred to (a plugin's identifier);
    #: ``None``: no financing referrals.
    financing_provider: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,40}$")
    practice: Practice | None = None
    payers: dict[str, Payer] = Field(default_factory=dict)
    plugin_settings: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: ``[posting_rules]``: table name (``default`` or a payer key) -> GROUP-CARC -> action
    posting_rules: dict[str, dict[str, str]] = Field(default_factory=dict)
    pay_links: PayLinkSettings = Field(default_factory=PayLinkSettings)
    source: Path | None = None

    @field_validator("plugins")
    @classmethod
    def _unique_plugins(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for name in value:
            if name in seen:
                raise ValueError(f"plugin {name!r} is listed twice")
            seen.add(name)
        return value

    @model_validator(mode="after")
    def _valid_posting_rules(self) -> MedbillConfig:
        from medbill_core.services.posting_rules import check_rules

        problems = check_rules(self.posting_rules, set(self.payers))
        if problems:
            raise ValueError("; ".join(f"{key}: {message}" for key, message in problems))
        return self

    def require_practice(self) -> Practice:
        if self.practice is None:
            raise ConfigurationError("no [practice] section in the configuration")
        return self.practice


def _split_env_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _apply_env(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    section = raw.setdefault("medbill", {})
    for key in _TOP_LEVEL_KEYS:
        value = environ.get(ENV_PREFIX + key.upper())
        if value is not None:
            section[key] = _split_env_list(value) if key == "plugins" else value
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        path = name[len(ENV_PREFIX):].lower().split("__")
        if not all(path):
            raise ConfigurationError(f"environment variable {name}: empty key in the path")
        node = raw
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigurationError(f"environment variable {name}: {part!r} is not a table")
            node = child
        node[path[-1]] = value


def _resolve_sqlite_path(url: str, base: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith("sqlite:////"):
        relative = url[len(prefix):]
        if relative and relative != ":memory:" and not Path(relative).is_absolute():
            return prefix + str((base / relative).resolve())
    return url


def _section_and_key(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as the user sees it in the file: ``("payers", "acme",
    "adapter")`` is ``[payers.acme] adapter``; top-level keys live in ``[medbill]``."""
    parts = [str(part) for part in loc]
    if not parts:
        return "[medbill]"
    head, rest = parts[0], parts[1:]
    if head == "plugin_settings":
        head = "plugins"
    if head in ("payers", "plugins") and rest:
        head, rest = f"{head}.{rest[0]}", rest[1:]
    elif head not in ("practice", "pay_links"):
        return f"[medbill] {'.'.join(parts)}"
    while len(rest) > 1 and head.startswith("practice") and rest[0] in ("address", "contact"):
        head, rest = f"{head}.{rest[0]}", rest[1:]
    return f"[{head}] {'.'.join(rest)}" if rest else f"[{head}]"


def _reason(message: str) -> str:
    message = message.removeprefix("Value error, ")
    if message[1:2].isupper():  # an acronym ("NPI check digit ...") keeps its case
        return message
    return message[:1].lower() + message[1:]


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{_section_and_key(tuple(error['loc']))}: {_reason(error['msg'])}"
                     for error in exc.errors(include_input=False, include_url=False))


def section_problem(config: MedbillConfig, section: str,
                    exc: ValidationError) -> ConfigurationError:
    """A plugin's or an adapter's validation error, as the file's section and keys to fix:
    ``medbill.toml: [payers.acme.options] submitter_id: field required``."""
    where = config.source.name if config.source else "configuration"
    detail = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or '(section)'}: {_reason(error['msg'])}"
        for error in exc.errors(include_input=False, include_url=False))
    return ConfigurationError(f"{where}: [{section}] {detail}")


def _resolve_setting_paths(settings: dict[str, Any], base: Path) -> dict[str, Any]:
    resolved = {}
    for name, value in settings.items():
        if (isinstance(value, str) and value and name.endswith(_PATH_SETTING_SUFFIXES)
                and not Path(value).expanduser().is_absolute()):
            value = str((base / value).resolve())
        resolved[name] = value
    return resolved


def _check_fee_schedules(payers: dict[str, Any], where: str) -> None:
    """``[payers.<key>.fee_schedule]`` amounts are read strictly (never rounded): a typo there
    prices every estimate and underpayment check wrongly. The table is the core's, not the
    adapter's; one written under ``[payers.<key>.options]`` (as before) is checked there and
    moved out of the adapter's options by :class:`~medbill_core.domain.Payer`."""
    for key, table in payers.items():
        options = table.get("options")
        places = [(f"payers.{key}", table.get("fee_schedule")),
                  (f"payers.{key}.options",
                   options.get("fee_schedule") if isinstance(options, dict) else None)]
        for section, schedule in places:
            if schedule is None:
                continue
            if not isinstance(schedule, dict):
                raise ConfigurationError(f"{where}: [{section}] fee_schedule: "
                                         "must be a table of code = amount")
            for code, amount in schedule.items():
                try:
                    bounded_amount(amount, strict=True)
                except (TypeError, ValueError) as exc:
                    raise ConfigurationError(f"{where}: [{section}.fee_schedule] "
                                             f"{code}: {exc}") from None


def build_config(raw: dict[str, Any], *, source: Path | None = None,
                 environ: Mapping[str, str] | None = None,
                 display_name: str | None = None) -> MedbillConfig:
    """Validate a parsed TOML document (after environment overrides) into a config.

    Relative paths in it (the SQLite database, plugin settings named ``*_path``,
    ``*_dir``, ``*_file``) are relative to the file's folder.

    :param display_name: how errors name the file (default: ``source``).
    :raises ConfigurationError: naming the file, the section and the key that is wrong.
    """
    raw = {key: (dict(value) if isinstance(value, dict) else value) for key, value in raw.items()}
    _apply_env(raw, os.environ if environ is None else environ)
    where = display_name or (str(source) if source else "configuration")
    unknown = set(raw) - {"medbill", "practice", "payers", "plugins", "posting_rules",
                          "pay_links"}
    if unknown:
        raise ConfigurationError(f"{where}: unknown section(s): {', '.join(sorted(unknown))}")
    section = raw.get("medbill", {})
    payers_raw = raw.get("payers", {})
    plugins_raw = raw.get("plugins", {})
    rules_raw = raw.get("posting_rules", {})
    if not isinstance(payers_raw, dict) or not isinstance(plugins_raw, dict) \
            or not isinstance(rules_raw, dict):
        raise ConfigurationError(f"{where}: [payers], [plugins] and [posting_rules] must be "
                                 "tables")
    payers: dict[str, Any] = {}
    for key, table in payers_raw.items():
        if not isinstance(table, dict):
            raise ConfigurationError(f"{where}: payers.{key} must be a table")
        payers[key] = {"key": key, **table}
    from medbill_core.services.posting_rules import check_rules

    rule_problems = check_rules(rules_raw, set(payers))
    if rule_problems:  # named by their key, before pydantic would wrap them
        raise ConfigurationError(f"{where}: " + "; ".join(f"{key}: {message}"
                                                          for key, message in rule_problems))
    _check_fee_schedules(payers, where)
    base = source.parent if source else Path.cwd()
    if any(not isinstance(settings, dict) for settings in plugins_raw.values()):
        bad = next(name for name, settings in plugins_raw.items() if not isinstance(settings, dict))
        raise ConfigurationError(f"{where}: plugins.{bad} must be a table")
    plugins_raw = {name: _resolve_setting_paths(settings, base)
                   for name, settings in plugins_raw.items()}
    data = {
        **section,
        "practice": raw.get("practice"),
        "payers": payers,
        "plugin_settings": plugins_raw,
        "posting_rules": rules_raw,
        **({"pay_links": raw["pay_links"]} if raw.get("pay_links") is not None else {}),
        "source": source,
    }
    try:
        config = MedbillConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigurationError(f"{where}: {_problems(exc)}") from None
    return config.model_copy(update={"database_url": _resolve_sqlite_path(config.database_url,
                                                                           base)})


def config_path(explicit: str | Path | None = None,
                environ: Mapping[str, str] | None = None) -> Path:
    """Where the configuration file is: explicit path, ``MEDBILL_CONFIG``, or ``./medbill.toml``."""
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if env.get("MEDBILL_CONFIG"):
        return Path(env["MEDBILL_CONFIG"])
    return Path.cwd() / DEFAULT_CONFIG_NAME


def load_config(path: str | Path | None = None, *, required: bool = False,
                environ: Mapping[str, str] | None = None) -> MedbillConfig:
    """Read and validate the configuration.

    A missing ``./medbill.toml`` gives the defaults (plus environment overrides); a
    file named explicitly (``path``, ``MEDBILL_CONFIG``) or ``required`` must exist:
    silently using defaults would create a new empty database somewhere.

    Floats are read as exact decimals (``parse_float=Decimal``): amounts in the file are
    checked as written, never through a binary float.

    :raises ConfigurationError: missing or unreadable file, unknown sections, invalid fields.
    """
    env = os.environ if environ is None else environ
    file = config_path(path, env)
    named = bool(path) or bool(env.get("MEDBILL_CONFIG"))
    raw: dict[str, Any] = {}
    if file.is_dir():
        raise ConfigurationError(f"{file}: is a folder, not a configuration file")
    if file.exists():
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"), parse_float=Decimal)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{file}: not valid TOML ({exc})") from None
        except OSError as exc:
            raise ConfigurationError(f"{file}: cannot be read ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise ConfigurationError(f"{file}: not UTF-8 text") from None
    elif required or named:
        raise ConfigurationError(f"{file}: no such configuration file (create one with "
                                 f"'medbill init {file}')")
    # errors name the file as the user knows it: as given, or plain "medbill.toml"
    shown = str(path) if path else env.get("MEDBILL_CONFIG") or DEFAULT_CONFIG_NAME
    return build_config(raw, source=file.resolve() if file.exists() else None, environ=environ,
                        display_name=shown)


STARTER_TOML = '''\
# medbill configuration. Environment variables MEDBILL_* override these values
# (MEDBILL_DATABASE_URL, MEDBILL_PLUGINS, MEDBILL_PRACTICE__NAME, ...).
# Paths in this file are relative to this file.

[medbill]
# SQLite file (relative to this file) by default; PostgreSQL with
# "postgresql+psycopg://user:password@host:5432/medbill".
database_url = "sqlite:///medbill.db"
# Installed plugins are NOT enabled until they are listed here ('medbill plugins list').
plugins = [{plugins}]
# Who is recorded in the audit trail as the actor: by default the OS account that runs
# medbill. A name set here (a role, a shared login) is recorded as the actor, and the OS
# account is still recorded next to it ('medbill audit' shows both).
{actor_line}
# Once the database has users ('medbill users add'), the user this command line acts as
# (its role decides what it may do; MEDBILL_USER overrides it). Until then it acts as a
# bootstrap administrator named after the OS account. See docs/users-and-roles.md.
# user = "alice"
log_level = "WARNING"

# The billing provider: the organization on the claims and the remittances.
[practice]
name = "Example Family Medicine"
npi = "1234567893"          # 10 digits, Luhn check over 80840 + first nine
tax_id = "12-3456789"       # EIN
taxonomy = "207Q00000X"     # NUCC taxonomy (family medicine)
phone = "5555550100"

[practice.address]
line1 = "100 Main Street"
city = "Springfield"
state = "IL"
postal_code = "627011234"       # ZIP+4: an 837P wants all nine digits

# One table per payer. 'adapter' and 'channel' name what enabled plugins provide
# (generic_x12 and medicare come from payer_generic_x12 and payer_medicare, the
# clearinghouse_mock channel from clearinghouse_mock).
[payers.acme]
payer_id = "ACME1"
name = "Acme Health Plan"
adapter = "generic_x12"
channel = "clearinghouse_mock"
claim_filing_indicator = "CI"   # SBR09: CI commercial, MB Medicare Part B, BL Blue Cross ...
timely_filing_days = 180
appeal_days = 180               # days after a denial (the 835's date) an appeal may be filed
# duplicate_claims = "error"   # a service billed again to this payer on another live claim
                                # blocks the claim at scrub (default "warning": the biller
                                # decides; a service done twice takes modifier 76/77/91)
# program = "commercial"        # medicare | medicaid | commercial: the policies that differ
                                # by program (an MUE of 0 is "not payable" for Medicare and
                                # Medicaid only); unset, claim_filing_indicator decides

# The adapter's own settings for this payer, from the clearinghouse's companion guide.
# The submitter (loop 1000A) is who sends the claims: usually the practice's billing office.
[payers.acme.options]
submitter_id = "EXAMPLESUB01"   # ISA06 / loop 1000A: your ID at the clearinghouse
receiver_id = "MOCKCH"          # ISA08 / loop 1000B: the clearinghouse's ID
submitter_name = "Example Family Medicine"
submitter_contact_name = "Billing Office"
submitter_phone = "5555550100"  # 10 digits
usage = "T"                     # ISA15: T while testing, P in production

# Contracted allowed amounts, for estimates and underpayment checks (exact cents); the
# core's setting, whatever the adapter (medbill fees load keeps dated schedules):
# [payers.acme.fee_schedule]
# "99213" = "92.50"
# "99214" = "131.00"

# A Medicare Part B payer (adapter 'medicare': MBI checks, Medicare edits, MPFS pricing).
# payer_id is your Medicare Administrative Contractor's payer ID (04412 is the simulator's).
[payers.medicare]
payer_id = "04412"
name = "Medicare Part B"
adapter = "medicare"
channel = "clearinghouse_mock"
claim_filing_indicator = "MB"
timely_filing_days = 365        # 12 months from the date of service
appeal_days = 120               # redetermination: 120 days from the initial determination

[payers.medicare.options]
jurisdiction = "J6"             # your A/B MAC jurisdiction (informational)
mac = "06102"                   # MAC carrier number of your payment locality (CMS GPCI file)
locality = "99"                 # MPFS locality within that MAC (99: rest of Illinois)

# How the medicare adapter writes its X12 (the generic X12 adapter's options).
[payers.medicare.options.x12]
submitter_id = "EXAMPLESUB01"
receiver_id = "MOCKCH"
submitter_name = "Example Family Medicine"
submitter_contact_name = "Billing Office"
submitter_phone = "5555550100"
usage = "T"

# ERA posting rules: what posting an 835 does with each adjustment, by group code and CARC:
# adjust | deny (kept open, to work) | patient (PR only) | review. Built-in defaults apply
# (CO-45 adjust, PR-1/2/3 patient, CO-50 deny ...); override them for every payer or one:
# [posting_rules.default]
# "CO-97" = "adjust"
# [posting_rules.acme]
# "CO-*" = "deny"

# Per-plugin settings, validated by each plugin.
{clearinghouse}'''

#: The API key file ``medbill init`` creates next to the configuration when the
#: clearinghouse_mock plugin is enabled (a new random key, owner-only).
CLEARINGHOUSE_KEY_FILE = "clearinghouse-mock.key"

_CLEARINGHOUSE_ENABLED = f'''\
# Where claims go: the clearinghouse simulator ('medbill clearinghouse serve', port 8035).
# The API key is in a file only you can read: 'medbill init' wrote a new random key there,
# and 'medbill clearinghouse serve' (run with this configuration) accepts it. In production:
# your clearinghouse's https:// URL and a file holding its API key.
[plugins.clearinghouse_mock]
base_url = "http://127.0.0.1:8035"
api_key_file = "{CLEARINGHOUSE_KEY_FILE}"
'''

_CLEARINGHOUSE_DISABLED = f'''\
# [plugins.clearinghouse_mock]      (when the clearinghouse_mock plugin is enabled)
# base_url = "http://127.0.0.1:8035"
# api_key_file = "{CLEARINGHOUSE_KEY_FILE}"
'''


_X12_CONTROL_NUMBERS = '''\
# Interchange (ISA13) and group (GS06) control numbers are remembered in this file, so a
# later run never reuses one (payers reject a repeated control number as a duplicate).
[plugins.payer_generic_x12]
control_numbers_path = "control-numbers.db"

'''


def starter_config(plugins: list[str], actor: str | None = None) -> str:
    """The text ``medbill init`` writes, enabling ``plugins``: ready to submit claims to
    the clearinghouse simulator once the practice's own values are filled in."""
    quoted = ", ".join(f'"{name}"' for name in plugins)
    clearinghouse = (_CLEARINGHOUSE_ENABLED if "clearinghouse_mock" in plugins
                     else _CLEARINGHOUSE_DISABLED)
    if "payer_generic_x12" in plugins:
        clearinghouse = _X12_CONTROL_NUMBERS + clearinghouse
    actor_line = f'actor = "{actor}"' if actor else '# actor = "front-desk"'
    return STARTER_TOML.format(plugins=quoted, actor_line=actor_line,
                               clearinghouse=clearinghouse)


def config_toml(config: MedbillConfig) -> str:
    """``config`` as a ``medbill.toml`` that :func:`load_config` reads back to the same values."""
    import tomli_w

    document: dict[str, Any] = {
        "medbill": {"database_url": config.database_url, "plugins": list(config.plugins),
                    "log_level": config.log_level,
                    **({"actor": config.actor} if config.actor else {}),
                    **({"user": config.user} if config.user else {}),
                    **({"practice_code": config.practice_code} if config.practice_code else {}),
                    **({"payment_gateway": config.payment_gateway}
                       if config.payment_gateway else {}),
                    **({"notifier": config.notifier} if config.notifier else {}),
                    **({"financing_provider": config.financing_provider}
                       if config.financing_provider else {})},
        "payers": {key: payer.model_dump(mode="json", exclude={"key"}, exclude_none=True)
                   for key, payer in config.payers.items()},
        "plugins": {name: dict(settings) for name, settings in config.plugin_settings.items()},
    }
    if config.pay_links != PayLinkSettings():
        document["pay_links"] = config.pay_links.model_dump(mode="json")
    if config.posting_rules:
        document["posting_rules"] = {name: dict(table)
                                     for name, table in config.posting_rules.items()}
    if config.practice is not None:
        document["practice"] = config.practice.model_dump(mode="json", exclude_none=True)
    return tomli_w.dumps(document)
