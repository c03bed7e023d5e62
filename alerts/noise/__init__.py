"""Noise evaluation: weekly statistics, co-firing pairs and flags per rule (README "Noise
evaluation").

`alerts.noise.evaluation.week_evaluate` is the entry point; the other modules each compute one
part set-based, with a fixed number of queries whatever the number of rules.
"""
