"""The public API of the X12 5010 engine: what other plugins build on.

Payer plugins that speak X12 (``payer_medicare`` delegates its X12 work to the generic adapter)
and the clearinghouse simulator (``clearinghouse_mock`` reads 837Ps and writes 999, 277CA, 835,
271 and 277 documents) import the engine from here and from nowhere else in
``medbill_payer_generic_x12``; the import contract (``.importlinter``) holds them to it.

* the generic payer adapter and its options (:class:`GenericX12Adapter`,
  :class:`GenericX12Options`) and the engine's plugin module (:data:`plugin`, to register it
  in a test: ``extra_plugins=[("payer_generic_x12", plugin)]``);
* whole documents: :func:`decode_document` (any supported kind: ``(kind, domain objects)``)
  and :func:`read_document` (a :class:`DecodeResult`: objects and positioned :class:`Finding`
  objects; ``strict=True`` raises :class:`X12FindingsError`), :func:`decode_837p_findings`,
  :func:`decode_837i_findings`
  and each transaction's encoder and decoder, as the README's table lists them: 837P, 837I, 835
  (also streamed: :func:`stream_835`), 999, TA1, 277CA, 270/271, 276/277, with
  :class:`Parties` (submitter and receiver) and :class:`PayerContact`;
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
from medbill_payer_generic_x12.codec import decode_document, read_document
from medbill_payer_generic_x12.pyx12check import pyx12_verdict
from medbill_payer_generic_x12.transactions.acknowledgments import (
    decode_277ca,
    decode_999,
    decode_ta1,
    encode_277ca,
    encode_999,
    encode_ta1,
)
from medbill_payer_generic_x12.transactions.claim_837i import (
    decode_837i,
    decode_837i_findings,
    encode_837i,
)
from medbill_payer_generic_x12.transactions.claim_837p import (
    decode_837p,
    decode_837p_findings,
    encode_837p,
)
from medbill_payer_generic_x12.transactions.claim_status import decode_277, encode_276, encode_277
from medbill_payer_generic_x12.transactions.claim_status_inquiry import decode_276
from medbill_payer_generic_x12.transactions.common import Parties
from medbill_payer_generic_x12.transactions.eligibility import decode_271, encode_270, encode_271
from medbill_payer_generic_x12.transactions.eligibility_inquiry import decode_270
from medbill_payer_generic_x12.transactions.remittance_835 import (
    PayerContact,
    decode_835,
    encode_835,
    stream_835,
)
from medbill_payer_generic_x12.x12 import (
    ControlNumberSource,
    Delimiters,
    EnvelopeSettings,
    InterchangeWriter,
    MemoryControlNumbers,
    Segment,
    SegmentBuffer,
    SQLiteControlNumbers,
    TransactionWriter,
    X12Error,
    delimiters_from_isa,
    read_segments,
)
from medbill_payer_generic_x12.x12.findings import (
    DecodeResult,
    Finding,
    FindingSeverity,
    X12FindingsError,
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
    "DecodeResult",
    "Delimiters",
    "EnvelopeSettings",
    "Finding",
    "FindingSeverity",
    "GenericX12Adapter",
    "GenericX12Options",
    "InterchangeWriter",
    "MemoryControlNumbers",
    "Parties",
    "PayerContact",
    "SQLiteControlNumbers",
    "Segment",
    "SegmentBuffer",
    "TransactionWriter",
    "X12Error",
    "X12FindingsError",
    "decode_270",
    "decode_271",
    "decode_276",
    "decode_277",
    "decode_277ca",
    "decode_835",
    "decode_837i",
    "decode_837i_findings",
    "decode_837p",
    "decode_837p_findings",
    "decode_999",
    "decode_document",
    "decode_ta1",
    "delimiters_from_isa",
    "encode_270",
    "encode_271",
    "encode_276",
    "encode_277",
    "encode_277ca",
    "encode_835",
    "encode_837i",
    "encode_837p",
    "encode_999",
    "encode_ta1",
    "format_date",
    "format_decimal",
    "format_money",
    "format_time",
    "parse_ccyymmdd",
    "parse_money",
    "plugin",
    "pyx12_verdict",
    "read_document",
    "read_segments",
    "stream_835",
]
