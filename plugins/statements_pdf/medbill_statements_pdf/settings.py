"""Settings of the plugin: the ``[plugins.statements_pdf]`` table of ``medbill.toml``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator


class StatementsPdfSettings(BaseModel):
    """``[plugins.statements_pdf]``; every key is optional.

    :ivar font_path: a TrueType font embedded in PDFs instead of the built-in Helvetica, for
        names and descriptions outside Latin-1 (with Helvetica, such characters are
        transliterated: "Łukasz" prints as "Lukasz").
    :ivar bold_font_path: its bold face (default: ``font_path`` itself).
    :ivar dunning_messages: replaces the default message of a dunning stage (keys 0..4; at most
        400 characters, which fill the notice's four lines).
    :ivar summary_after_lines: the ``pdf`` renderer switches to summary mode (one row per claim)
        when a statement has more lines than this; unset, only ``pdf-summary`` summarises.
    :ivar render_processes: worker processes rendering a statement run's PDFs beside the
        running process (see :mod:`~medbill_statements_pdf.pool`); ``0``: none, all in the
        running process; unset: one per core beyond the first.
    """

    model_config = ConfigDict(extra="forbid")

    font_path: Path | None = None
    bold_font_path: Path | None = None
    dunning_messages: dict[int, Annotated[str, Field(max_length=400)]] = Field(
        default_factory=dict)
    summary_after_lines: int | None = Field(default=None, ge=1)
    render_processes: int | None = Field(default=None, ge=0, le=64)

    @field_validator("font_path", "bold_font_path")
    @classmethod
    def _font_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("font file does not exist")
        return value

    @field_validator("dunning_messages")
    @classmethod
    def _stages(cls, value: dict[int, str]) -> dict[int, str]:
        for stage, text in value.items():
            if not 0 <= stage <= 4:
                raise ValueError("dunning stages are 0 to 4")
            if not text.strip():
                raise ValueError("a dunning message must not be empty")
        return value
