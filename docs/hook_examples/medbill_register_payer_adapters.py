"""Register a payer adapter; payers select it with ``adapter = "acme"``."""

from medbill_core.api import PayerAdapter, hookimpl


class AcmeAdapter(PayerAdapter):
    identifier = "acme"
    verbose_name = "Acme Health Plan"


@hookimpl
def medbill_register_payer_adapters(context):
    # one instance per start-up; its settings: context.settings_for("acme_payer")
    return [AcmeAdapter()]
