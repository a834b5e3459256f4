"""Also read acknowledgments dropped into a folder by another program."""

from pathlib import Path

from medbill_core.api import DocumentKind, InboundDocument, hookimpl

INBOX = Path("inbox")


@hookimpl(tryfirst=True)
def medbill_fetch_responses(channel, context):
    if channel != "folder_inbox":
        return None  # other channels: the core asks the registered channel
    return [InboundDocument(channel=channel, document_id=path.name, kind=DocumentKind.OTHER,
                            content=path.read_text(encoding="utf-8"))
            for path in sorted(INBOX.glob("*.x12"))]  # oldest first: names carry a timestamp
