"""The ATM's world: the retrying client, the lossy network, the bank's server, the engine running them."""
