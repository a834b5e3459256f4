"""The public API of the X12 5010 engine: what other plugins build on.

Payer plugins that speak X12 (``payer_medicare`` delegates its X12 work to the generic adapter)
and the clearinghouse simulator (``clearinghouse_mock`` reads 837Ps and writes 999, 277CA, 835,
271 and 277 documents) import the engine from here and from nowhere else in
``medbill_payer_generic_x12``; the import contract (``.importlinter``) holds them to it.

* the generic payer adapter and its options (:class:`GenericX12Adapter`,
  :class:`GenericX12Options`) and the engine's plugin module (:data:`plugin`, to register it
  in a test: ``extra_plugins=[("payer_generic_x12", plugin)]``);
* whole documents: :func:`decode_document` (any supported kind: ``(kind, domain objects)``),
  837P (:func:`encode_837p`, :func:`decode_837p`, with :class:`Parties`) and 835
  (:func:`encode_835`, :func:`decode_835`, with :class:`PayerContact`);
* the syntax layer to write and read other transactions: delimiters, segments, the
  interchange / transaction writers, control-number sources and :class:`X12Error`;
* X12 element values (dates, times, money, decimals) written and read as 5010 wants them;
* :func:`pyx12_verdict`: an independent validation of a document by pyx12 (needs the
  ``[test]`` extra: for tests).

Stability: the names in ``__all__`` keep their meaning within the engine's major version; the
rest of the package is internal and may change in any release.
"""

from __future__ import annotations

from medbill_payer_generic_x12 import plugin
from medbill_payer_generic_x12.adapter import GenericX12Adapter, GenericX12Options
from medbill_payer_generic_x12.codec import decode_document
from medbill_payer_generic_x12.pyx12check import pyx12_verdict
from medbill_payer_generic_x12.transactions.claim_837p import decode_837p, encode_837p
from medbill_payer_generic_x12.transactions.common import Parties
from medbill_payer_generic_x12.transactions.remittance_835 import (
    PayerContact,
    decode_835,
    encode_835,
)
from medbill_payer_generic_x12.x12 import (
    ControlNumberSource,
    Delimiters,
    EnvelopeSettings,
    InterchangeWriter,
    MemoryControlNumbers,
    Segment,
    SegmentBuffer,
    TransactionWriter,
    X12Error,
    delimiters_from_isa,
    read_segments,
)
from medbill_payer_generic_x12.x12.values import (
    format_date,
    format_decimal,
    format_money,
    format_time,
    parse_ccyymmdd,
    parse_money,
)

__all__ = [
    "ControlNumberSource",
    "Delimiters",
    "EnvelopeSettings",
    "GenericX12Adapter",
    "GenericX12Options",
    "InterchangeWriter",
    "MemoryControlNumbers",
    "Parties",
    "PayerContact",
    "Segment",
    "SegmentBuffer",
    "TransactionWriter",
    "X12Error",
    "decode_835",
    "decode_837p",
    "decode_document",
    "delimiters_from_isa",
    "encode_835",
    "encode_837p",
    "format_date",
    "format_decimal",
    "format_money",
    "format_time",
    "parse_ccyymmdd",
    "parse_money",
    "plugin",
    "pyx12_verdict",
    "read_segments",
]
