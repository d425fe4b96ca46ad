"""Part generators: the registry, the shared transform loop, and one module per method."""
