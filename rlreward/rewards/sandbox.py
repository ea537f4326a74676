"""Moved to :mod:`rlreward.sandbox`; this module re-exports it for existing imports."""

from rlreward.sandbox import (
    MARKER_VAR,
    PER_RUN_USER,
    REPORT_FD,
    STATUSES,
    JudgeSpec,
    SandboxConfig,
    SandboxResult,
    run_judged,
    run_many,
    run_program,
    sandbox_processes,
)

__all__ = [
    "MARKER_VAR",
    "PER_RUN_USER",
    "REPORT_FD",
    "STATUSES",
    "JudgeSpec",
    "SandboxConfig",
    "SandboxResult",
    "run_judged",
    "run_many",
    "run_program",
    "sandbox_processes",
]
