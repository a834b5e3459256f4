"""medbill's workspace for billers: server-rendered pages (Jinja2, htmx) in ``medbill serve``,
with the users, roles and practices of the API. Enabled by naming ``workspace_web`` in
``medbill.toml``'s plugins; its pages are under ``/workspace/``."""
