"""``python -m medbill_clearinghouse_mock serve ...``: the simulator without a medbill config."""

from medbill_clearinghouse_mock.cli import app

if __name__ == "__main__":
    app(prog_name="medbill_clearinghouse_mock")
