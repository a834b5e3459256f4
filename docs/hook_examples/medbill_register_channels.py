"""Register a submission channel; payers select it with ``channel = "sftp_drop"``."""

from pathlib import Path

from medbill_core.api import SubmissionChannel, SubmissionReceipt, hookimpl


class DropFolderChannel(SubmissionChannel):
    """Writes each batch into a folder another program uploads from."""

    identifier = "sftp_drop"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def submit(self, submission, *, idempotency_key):
        target = self.folder / f"{idempotency_key}.x12"
        if not target.exists():  # a retry of the same batch writes nothing new
            target.write_text(submission.content, encoding="utf-8")
        return SubmissionReceipt(channel=self.identifier, submission_id=idempotency_key,
                                 accepted=True, idempotency_key=idempotency_key)

    def fetch_responses(self):
        return []  # this channel only sends


@hookimpl
def medbill_register_channels(context):
    settings = context.settings_for("acme_payer")  # see medbill_plugin_settings_model
    return [DropFolderChannel(Path(settings.drop_folder))]
