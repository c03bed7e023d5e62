"""Replay of alert history under a proposed `for` / `keep_firing_for` (README "Replay")."""
