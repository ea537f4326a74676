"""Moved to :mod:`rlreward.sandbox`; this module re-exports it for existing imports."""

from rlreward.sandbox import *  # noqa: F403
from rlreward.sandbox import __all__  # noqa: F401
