"""medbill plugin ``payments_mock``: a card payment gateway simulator (HTTP, loopback only)
shaped like the common card APIs, and the httpx payment gateway that talks to it. See the
plugin README for the API and the test cards."""
