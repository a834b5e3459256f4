"""The X12 5010 engine's syntax layer: delimiters, reader, writer, control numbers, errors."""

from medbill_payer_generic_x12.x12.control import (
    ControlNumberSource,
    MemoryControlNumbers,
    SQLiteControlNumbers,
)
from medbill_payer_generic_x12.x12.delimiters import (
    DEFAULT_DELIMITERS,
    Delimiters,
    delimiters_from_isa,
    detect_delimiters,
)
from medbill_payer_generic_x12.x12.errors import (
    X12DelimiterInData,
    X12EncodeError,
    X12EnvelopeError,
    X12Error,
    X12StructureError,
    X12SyntaxError,
    X12UnsupportedError,
    X12ValueError,
)
from medbill_payer_generic_x12.x12.reader import (
    FunctionalGroup,
    Interchange,
    Segment,
    Transaction,
    X12Reader,
    read_segments,
)
from medbill_payer_generic_x12.x12.writer import (
    EnvelopeSettings,
    GroupHandle,
    InterchangeWriter,
    SegmentBuffer,
    TransactionWriter,
)

__all__ = [
    "DEFAULT_DELIMITERS", "ControlNumberSource", "Delimiters", "EnvelopeSettings",
    "FunctionalGroup", "GroupHandle", "Interchange", "InterchangeWriter", "MemoryControlNumbers",
    "SQLiteControlNumbers", "Segment", "SegmentBuffer", "Transaction", "TransactionWriter",
    "X12DelimiterInData", "X12EncodeError", "X12EnvelopeError", "X12Error", "X12Reader",
    "X12StructureError", "X12SyntaxError", "X12UnsupportedError", "X12ValueError",
    "delimiters_from_isa", "detect_delimiters", "read_segments",
]
