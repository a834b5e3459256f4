"""The notify_mock plugin's tests use the core's pytest plugin for nothing: plain tmp paths."""
