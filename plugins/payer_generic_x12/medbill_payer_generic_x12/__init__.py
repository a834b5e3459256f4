"""medbill plugin ``payer_generic_x12``: a two-way X12 5010 engine and the generic payer adapter.

Transactions: 837P (X222A1), 835 (X221A1), 999 (X231A1), TA1, 277CA (X214), 270/271 (X279A1),
276/277 (X212). The engine is importable as a library; see :mod:`medbill_payer_generic_x12.codec`.
"""
