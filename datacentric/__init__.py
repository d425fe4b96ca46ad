"""datacentric: data-centric dataset enhancement for model robustness."""
__version__ = "0.1.0"
