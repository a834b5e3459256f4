"""``[plugins.notify_mock]`` settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class NotifyMockSettings(BaseModel):
    """Validated by medbill at start-up (``medbill_plugin_settings_model``); environment
    overrides work as for any plugin (``MEDBILL_PLUGINS__NOTIFY_MOCK__FAIL_FIRST=2``)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    #: where messages are recorded, one JSON object a line, owner-only (``0600``); a relative
    #: path is relative to medbill.toml. ``None``: in memory only.
    messages_file: str | None = Field(default="notify-mock/messages.jsonl", min_length=1)
    #: fail this many sends after start-up (an outage), before sending again
    fail_first: int = Field(default=0, ge=0, le=1000)
    #: recipients (a phone number's ten digits, or an e-mail address) the provider refuses,
    #: as an invalid or opted-out number is refused
    refuse: list[str] = Field(default_factory=list)
