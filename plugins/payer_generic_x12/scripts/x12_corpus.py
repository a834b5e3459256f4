"""Read every X12 file under DIR and print, per transaction set, how many the engine reads
cleanly, reads with findings (top finding kinds) and refuses (with the one-line reason).

    python plugins/payer_generic_x12/scripts/x12_corpus.py plugins/payer_generic_x12/tests/fixtures
    python plugins/payer_generic_x12/scripts/x12_corpus.py DIR --json

The work is done by :mod:`medbill_payer_generic_x12.corpus` (tested there).
"""

from __future__ import annotations

import sys

from medbill_payer_generic_x12.corpus import main

if __name__ == "__main__":
    sys.exit(main())
