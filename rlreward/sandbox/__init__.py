"""Run untrusted Python programs (generated code, its unit tests) in a throw-away sandbox.

Two ways in:

* :func:`run_program` / :func:`run_many`: run one program and report what it did
  (:class:`SandboxResult`: status, output, CPU, the isolation it got);
* :func:`run_judged` (``run_many(..., specs=...)``): run a *solution* in the sandbox and its tests in a
  separate **judge** process that never runs the solution's code. The tests call the solution's
  functions through a proxy that sends and receives plain values only (:mod:`rlreward.sandbox.wire`),
  so nothing the solution does inside its own interpreter (frames, ``gc``, patched modules, objects
  equal to everything) can reach the code that decides a pass. This is what
  :class:`~rlreward.rewards.code.UnitTestReward` uses.

Nothing the program does raises in the caller: every outcome is a :class:`SandboxResult`.

What a run gets, best first, each used when this machine allows it (``SandboxResult.isolation``
records what a run actually got; ``docs/sandbox.md`` has the full table):

1. **Namespaces** (``unshare --mount --net --pid --ipc --fork --kill-child --mount-proc``; a non-root
   caller adds ``--user --map-root-user``): a launcher (:mod:`rlreward.sandbox.launcher`) is process 1
   of a new PID namespace, so every process the run leaves behind dies with it; only a loopback
   interface, down; System V IPC objects that die with the run; and a **minimal root**: a fresh tmpfs
   holding read-only bind mounts of just the interpreter, its standard library (site-packages
   masked) and the shared libraries it loads, five ``/dev`` nodes, a fresh ``/proc`` and a private
   size-limited ``/tmp``. Nothing else of the host has a path: no checkout, no answer keys, no home,
   no caches, no Unix sockets or FIFOs.
2. **Users**: as root, the program runs as a fresh uid/gid drawn for each run (``user="per-run"``),
   and the judge as another, so runs cannot signal, trace or share files, keyrings or a process
   budget with each other or with the judge. A fresh session keyring; an empty capability bounding
   set and ``no_new_privs``.
3. **Limits**: rlimits (CPU seconds, address space, file size, open files, processes of the run's
   user, no core dumps); with cgroups (v1 or v2, root), a memory cgroup bounding the run's total
   memory, memfd and tmpfs pages included, at ``memory_mb + disk_mb``, and a pids cgroup at
   ``processes``.
4. **A wall clock**, then a ``/proc`` scan for this run's marker variable; **bounded output**.

What is **not** provided: no seccomp filter (every system call the kernel allows an unprivileged
user is open; a kernel bug is an escape), no CPU share bound, and without namespaces, root or
cgroups, the protections that need them (see ``docs/sandbox.md``). Treat it as containment for
code a policy writes during RL, on a machine you could afford to lose.

Example:
    >>> result = run_program("print(sum(range(10)))", timeout_s=2)
    >>> result.status, result.stdout
    ('ok', '45\\n')
"""

from rlreward.sandbox.runner import (
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
