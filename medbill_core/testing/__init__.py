"""Test support for medbill and its plugins.

Installed as a pytest plugin (entry point ``pytest11: medbill``), it gives:

* fixtures: ``medbill_db_url`` (a fresh database per test, on SQLite and on a
  throwaway PostgreSQL server), ``medbill_sqlite_url``, ``medbill_config``,
  ``medbill_extra_plugins`` (override to register in-test plugins) and
  ``medbill_app`` (a started :class:`~medbill_core.app.Medbill` on a migrated database);
* :mod:`medbill_core.testing.factories` - valid domain objects to start from;
* :mod:`medbill_core.testing.contracts` - contract test suites that payer adapter,
  channel and renderer plugins subclass to prove they follow the rules (its docstring lists
  the fixtures a plugin can override);
* :mod:`medbill_core.testing.documents` - the payer documents (999, 277CA, 835 with a
  reversal and a PLB, 271, 277) the payer suite drives through an adapter, and what they say;
* :mod:`medbill_core.testing.contract_practice` - the practice (core services, real
  database) the payer suite applies them in.

``medbill plugins new NAME --kind payer|channel|renderer`` writes a plugin package whose
tests run these suites.

Command-line option: ``--medbill-backends=sqlite,postgres`` (the default) picks
the databases ``medbill_db_url`` runs on. Where no PostgreSQL server can be started (no
``initdb``, or it fails to start) the PostgreSQL runs are skipped with one reason line.
"""
