"""medbill plugin `clearinghouse_mock`: A real HTTP clearinghouse simulator on loopback and the httpx submission channel that talks to it."""
