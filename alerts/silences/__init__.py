"""The silence ledger: every Alertmanager silence, what it covers, the policy governing it."""
