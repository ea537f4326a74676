"""rlreward: policy optimisation for language models with instant (per-token) rewards."""

__version__ = "0.1.0"
