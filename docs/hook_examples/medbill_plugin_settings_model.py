"""Declare the settings of ``[plugins.acme_payer]`` in medbill.toml."""

from pydantic import BaseModel, ConfigDict, Field

from medbill_core.api import hookimpl


class AcmeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a typo in medbill.toml is an error, not ignored

    trading_partner_id: str = Field(min_length=1)
    batch_size: int = Field(default=500, ge=1, le=5000)
    drop_folder: str = "outgoing"


@hookimpl
def medbill_plugin_settings_model() -> type[BaseModel]:
    return AcmeSettings

# medbill.toml:
#   [plugins.acme_payer]
#   trading_partner_id = "ACME-TP-01"
# in the plugin's other hooks: context.settings_for("acme_payer").trading_partner_id
