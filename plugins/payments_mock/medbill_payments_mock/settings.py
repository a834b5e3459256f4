"""``[plugins.payments_mock]`` settings: where the gateway is, and its two secrets."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator


class PaymentsMockSettings(BaseModel):
    """Validated by medbill at start-up (``medbill_plugin_settings_model``).

    Environment overrides work as for any plugin, e.g.
    ``MEDBILL_PLUGINS__PAYMENTS_MOCK__BASE_URL=http://127.0.0.1:8045``.
    """

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    base_url: str = "http://127.0.0.1:8045"
    #: where payers' browsers reach the simulator's card page (default: ``base_url``)
    public_base_url: str | None = None
    #: the secret API key (``sk_test_...``), or a file holding it (relative to medbill.toml)
    api_key: str | None = Field(default=None, min_length=1)
    api_key_file: str | None = Field(default=None, min_length=1)
    #: the webhook signing secret (``whsec_...``), or a file holding it
    webhook_secret: str | None = Field(default=None, min_length=1)
    webhook_secret_file: str | None = Field(default=None, min_length=1)
    connect_timeout: float = Field(default=2.0, gt=0, le=60)
    read_timeout: float = Field(default=20.0, gt=0, le=600)
    #: retries after the first attempt, on timeouts, connection errors and 5xx (the same
    #: Idempotency-Key each time; never on 4xx)
    max_retries: int = Field(default=2, ge=0, le=10)
    backoff_initial: float = Field(default=0.2, ge=0, le=30)
    #: how far a webhook's signed timestamp may be from our clock (seconds)
    webhook_tolerance: int = Field(default=300, ge=1, le=3600)
    #: the mock financing lender (``financing_provider = "mock"``): referrals up to this
    #: amount are approved in full, larger ones declined (see medbill_payments_mock.financing
    #: for the test amounts that stay pending or expire)
    financing_approve_up_to: Decimal = Field(default=Decimal("5000.00"), ge=0,
                                             decimal_places=2)
    #: the lender's merchant fee, percent of the approved amount (0: none reported)
    financing_fee_percent: Decimal = Field(default=Decimal("0"), ge=0, le=100,
                                           decimal_places=2)
    #: the secret the lender signs its callbacks with (none: callbacks are refused)
    financing_callback_secret: str | None = Field(default=None, min_length=1)

    @field_validator("base_url", "public_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value.rstrip("/")

    def resolved_api_key(self) -> str:
        return _secret(self.api_key, self.api_key_file, "api_key")

    def resolved_webhook_secret(self) -> str:
        return _secret(self.webhook_secret, self.webhook_secret_file, "webhook_secret")


def _secret(value: str | None, file: str | None, name: str) -> str:
    """The secret itself, else the first line of its file.

    :raises ConfigurationError: neither is set, or the file cannot be read.
    """
    from medbill_core.api import ConfigurationError

    if value:
        return value
    if file:
        try:
            text = Path(file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigurationError(f"[plugins.payments_mock] {name}_file: cannot be read "
                                     f"({type(exc).__name__})") from None
        if text:
            return text
        raise ConfigurationError(f"[plugins.payments_mock] {name}_file: is empty")
    raise ConfigurationError(f"[plugins.payments_mock]: no {name}: set {name} or {name}_file")
