"""Application services: the operations billing staff perform, each audited and transactional.

One convention for every service here (the command line and tests call them the same way):

* **One transaction: a free function taking ``work: UnitOfWork`` first.** The caller opens
  the unit of work, and so decides the transaction: ``app.unit_of_work(read_only=True)`` for
  what only reads (lists, reports), ``app.unit_of_work()`` for what writes. Everything the
  function writes commits together with its audit events, or not at all. Examples:
  :func:`.payments.record_payment`, :func:`.appeals.open_appeal`,
  :func:`.receivables.aging`, :func:`.submission.list_outbox`.
* **Several transactions, or a call out: a function taking ``app: Medbill``.** It opens
  its own units of work and never holds one open across a call to a payer or a channel (a
  network round trip would hold SQLite's write lock and a PostgreSQL snapshot meanwhile):
  read, close, call out, then write in a new unit of work, written so that it is right even
  if the records changed in between. Examples: :func:`.estimates.estimate_for_patient`,
  :func:`.eligibility.check_patient_eligibility`, :func:`.submission.send_pending`,
  :func:`.responses.fetch_and_apply`, :func:`.statements.run_statements`.
* **The record owners hang off the unit of work**: ``work.patients``
  (:class:`.patients.PatientService`), ``work.claims`` (:class:`.claims.ClaimService`) and
  ``work.ledger`` (:class:`~medbill_core.ledger.Ledger`) keep their tables' invariants
  (lifecycle transitions, double entry) in one place. New operations are free functions in
  the module of the table they own, not new attributes of the unit of work.
* **Rules without a database are plain functions of values**, shared rather than copied:
  :func:`.eligibility.primary_coverage`, :mod:`.aging`, :func:`.posting_rules.denial_codes`,
  :func:`~medbill_core.lifecycle.advance_path`.
* **Across modules, domain objects or small frozen dataclasses, never ORM rows**
  (:class:`.remittance.PayerAnswer`): a row belongs to the module that writes its table, and
  a status column's values are a ``StrEnum`` beside its table model
  (:class:`~medbill_core.storage.schema.SubmissionStatus`).
"""
