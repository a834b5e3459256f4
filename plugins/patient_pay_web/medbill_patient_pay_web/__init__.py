"""The patient pay page (``/pay`` in ``medbill serve``): see the README."""
