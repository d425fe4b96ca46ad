"""The robustness benchmark: test-split-only evaluation sets, per-model metrics, comparison reports."""
