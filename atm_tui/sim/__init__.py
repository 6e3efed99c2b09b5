"""The simulation: virtual clock, lossy network, retrying ATM, run reports. Never imports Textual."""
