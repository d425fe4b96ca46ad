"""Small shared helpers every layer may use: errors, paths, typed config reading, atomic I/O and digests,
per-sample randomness, device, progress, parallel work and ranks, registries, image grids."""
