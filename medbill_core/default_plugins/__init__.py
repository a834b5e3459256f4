"""The core's own behaviour, written as hook implementations (the core dogfoods its hooks).

* :mod:`.dispatch` - routes eligibility, encoding, submission, fetching, decoding,
  claim-status and rendering hooks to the adapters, channels and renderers the
  plugins registered (``trylast``: a plugin's own implementation wins);
* :mod:`.core_edits` - claim edits every claim gets;
* :mod:`.institutional_edits` - claim edits institutional claims get besides;
* :mod:`.observability` - timing and logging around submissions and transitions;
* :mod:`.webhook_events` - claim transitions and billing events to the webhook outbox.
* :mod:`.http_routes` - the HTTP API's own routes (``medbill serve``).
"""
