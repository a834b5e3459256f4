"""The demo's clearinghouse: the clearinghouse_mock simulator, configured for the demo data.

Kept apart from the runner: the simulator (and its web server) loads only when the demo runs.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

from medbill_demo.data import ENCOUNTERS, MEDICARE_ENCOUNTERS

#: allowed amount as a share of the demo practice's charge, for codes the simulator's
#: default fee schedule does not price
ALLOWED_SHARE = Decimal("0.62")
#: A new key for each demo run (never a documented one): the simulator accepts it and the
#: owner-only medbill.toml and clearinghouse.json the demo leaves hold it.
API_KEY = secrets.token_urlsafe(24)


def simulator_config(faults: list[dict[str, Any]] | None = None) -> Any:
    """The simulator's default payers, with fees for every code the demo bills, and the
    given fault rules (see the clearinghouse_mock README)."""
    from medbill_clearinghouse_mock.simulator.config import (
        ApiKey,
        FeeScheduleEntry,
        default_config,
    )

    config = default_config()
    for payer in config.payers:
        priced = {(fee.code, fee.modifier) for fee in payer.fee_schedule}
        for _, procedures in [*ENCOUNTERS, *MEDICARE_ENCOUNTERS]:
            for code, modifiers, _units, charge in procedures:
                for modifier in [None, *modifiers]:
                    if (code, modifier) not in priced and (code, None) not in priced:
                        amount = (Decimal(charge) * ALLOWED_SHARE).quantize(Decimal("0.01"))
                        payer.fee_schedule.append(FeeScheduleEntry(code=code, modifier=modifier,
                                                                   amount=amount))
                        priced.add((code, modifier))
        payer.denials.non_covered_codes = []  # the demo shows denials through rejections
    return config.model_validate({
        **config.model_dump(), "faults": faults or [],
        "api_keys": [*[k.model_dump() for k in config.api_keys],
                     ApiKey(key=API_KEY, account="riverbend").model_dump()],
        "remit_delay_seconds": None})  # 835s come with an explicit payment run


class DemoClearinghouse:
    """The simulator on a free loopback port, with its state file (and log) in the demo folder.

    It runs in a process of its own by default, as a real clearinghouse is another system: its
    work (837 decoding, adjudication, 835 encoding) then runs beside medbill's instead of
    competing with it for one interpreter lock.
    ``in_process=True`` runs it in a thread of this process instead, for a caller that needs
    the simulator object itself (``server.simulator``).
    """

    #: Where the simulator runs when the caller does not say (``run_demo`` does not): a
    #: profiler of the whole cycle sets it (bench/profile_cycle.py) to see the simulator too.
    in_process_default = False

    def __init__(self, out: Path, faults: list[dict[str, Any]] | None = None, *,
                 in_process: bool | None = None) -> None:
        from medbill_clearinghouse_mock.simulator.process import ProcessServer
        from medbill_clearinghouse_mock.simulator.server import BackgroundServer

        if in_process is None:
            in_process = self.in_process_default
        state = out / "clearinghouse-state.db"
        for stale in [*out.glob("clearinghouse-state.db*"), state.with_suffix(".log")]:
            stale.unlink(missing_ok=True)
        self.state = state
        self.config = simulator_config(faults)
        self.server: BackgroundServer | ProcessServer = (
            BackgroundServer(self.config, state) if in_process
            else ProcessServer(self.config, state))  # logs to clearinghouse-state.log

    def config_json(self) -> str:
        """The simulator configuration as ``clearinghouse serve --simulator-config`` reads it."""
        import json

        return json.dumps(self.config.model_dump(mode="json"), indent=2) + "\n"

    def __enter__(self) -> DemoClearinghouse:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    @property
    def base_url(self) -> str:
        url: str = self.server.base_url
        return url

    @property
    def cpu_seconds(self) -> float | None:
        """The simulator process's CPU time once it has stopped (None in a thread: it is
        then part of this process's)."""
        seconds: float | None = getattr(self.server, "cpu_seconds", None)
        return seconds

    def payment_run(self) -> int:
        """Let the payers pay what they adjudicated (the simulator's 'time passes'): the
        number of 835s made."""
        import httpx

        # one attempt, a long read: a large run takes a while to encode its 835s, and a
        # failed one should be seen rather than retried out of sight
        answer = httpx.post(f"{self.base_url}/v1/payment-runs",
                            headers={"Authorization": f"Bearer {API_KEY}"},
                            timeout=httpx.Timeout(10.0, read=600.0))
        if answer.status_code != 200:
            raise RuntimeError(f"the clearinghouse simulator refused a payment run: HTTP "
                               f"{answer.status_code}")
        return len(answer.json()["remittances"])
