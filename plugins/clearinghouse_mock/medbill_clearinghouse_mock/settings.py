"""``[plugins.clearinghouse_mock]`` settings: where the clearinghouse is and how to talk to it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ClearinghouseMockSettings(BaseModel):
    """Validated by medbill at start-up (``medbill_plugin_settings_model``).

    Environment overrides work as for any plugin, e.g.
    ``MEDBILL_PLUGINS__CLEARINGHOUSE_MOCK__BASE_URL=http://127.0.0.1:8035``.
    """

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    base_url: str = "http://127.0.0.1:8035"
    #: The API key file (``medbill init`` writes one, owner-only; relative to medbill.toml).
    api_key_file: str | None = Field(default=None, min_length=1)
    #: The API key itself, instead of a file (e.g. from ``MEDBILL_PLUGINS__..._API_KEY``).
    #: There is no default key.
    api_key: str | None = Field(default=None, min_length=1)
    #: CA certificate(s) to trust for an ``https://`` base_url (e.g. a self-signed
    #: simulator certificate); default: the system's trust store.
    ca_file: str | None = Field(default=None, min_length=1)
    connect_timeout: float = Field(default=2.0, gt=0, le=60)
    read_timeout: float = Field(default=30.0, gt=0, le=600)
    #: Retries after the first attempt, on timeouts, connection errors and 5xx (never on 4xx).
    max_retries: int = Field(default=4, ge=0, le=10)
    #: Backoff before retry n is ``backoff_initial * 2**n`` (capped), times a jitter in [0.5, 1].
    backoff_initial: float = Field(default=0.25, ge=0, le=30)
    backoff_max: float = Field(default=5.0, ge=0, le=120)
    #: Documents per feed page, and a bound on pages read by one ``fetch_responses``.
    page_size: int = Field(default=100, ge=1, le=10000)
    max_pages: int = Field(default=1000, ge=1)

    @field_validator("api_key")
    @classmethod
    def _not_retired(cls, value: str | None) -> str | None:
        from medbill_clearinghouse_mock.secret import RETIRED_KEYS

        if value in RETIRED_KEYS:
            raise ValueError("this is the formerly documented test key, which anyone can "
                             "know: use api_key_file (medbill init writes one)")
        return value

    def resolved_api_key(self) -> str:
        """The key to send: ``api_key``, else the content of ``api_key_file``.

        :raises ConfigurationError: neither is set, or the file is not usable.
        """
        from medbill_clearinghouse_mock.secret import read_key_file
        from medbill_core.api import ConfigurationError

        if self.api_key:
            return self.api_key
        if self.api_key_file:
            return read_key_file(self.api_key_file)
        raise ConfigurationError("[plugins.clearinghouse_mock]: no API key: set api_key_file "
                                 '(e.g. "clearinghouse-mock.key"; medbill init writes one)')

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value.rstrip("/")
