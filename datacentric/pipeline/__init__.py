"""The pipeline runner: every stage in order, resumable, from one TOML config."""
