"""Common corruptions: a registry of corruption functions, suites of them as data, and the corrupt stage."""
