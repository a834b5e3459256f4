"""``python -m medbill_payments_mock serve ...``: the simulator without a medbill config."""

from medbill_payments_mock.cli import app

if __name__ == "__main__":
    app(prog_name="medbill_payments_mock")
