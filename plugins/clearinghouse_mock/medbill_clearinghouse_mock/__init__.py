"""medbill plugin ``clearinghouse_mock``: a clearinghouse simulator (HTTP, loopback only) and the
httpx submission channel that talks to it. See the plugin README for the API."""
