"""Test support for medbill and its plugins.

Installed as a pytest plugin (entry point ``pytest11: medbill``), it gives:

* fixtures: ``medbill_db_url`` (a fresh database per test, on SQLite and on a
  throwaway PostgreSQL server), ``medbill_sqlite_url``, ``medbill_config``,
  ``medbill_extra_plugins`` (override to register in-test plugins) and
  ``medbill_app`` (a started :class:`~medbill_core.app.Medbill` on a migrated database);
* :mod:`medbill_core.testing.factories` - valid domain objects to start from;
* :mod:`medbill_core.testing.contracts` - contract test suites that payer adapter
  and channel plugins subclass to prove they follow the rules.

Command-line option: ``--medbill-backends=sqlite,postgres`` (the default) picks
the databases ``medbill_db_url`` runs on.
"""
