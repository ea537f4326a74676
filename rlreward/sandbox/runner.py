"""The caller's side of the sandbox: probe what this machine allows, launch runs, read their outcome.

See :mod:`rlreward.sandbox` for what a run gets and what it does not, and
:mod:`rlreward.sandbox.launcher` for what happens inside the namespaces.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import pwd
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

#: Environment variable set, with a unique value per run, in every sandboxed process.
MARKER_VAR = "RLREWARD_SANDBOX"
#: The file descriptor a sandboxed program may write a side report to (see ``SandboxResult.report``).
REPORT_FD = 3
#: The only ``PATH`` a sandboxed program sees.
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
#: ``SandboxConfig.user`` value for a fresh user id per run (the default).
PER_RUN_USER = "per-run"
#: Where per-run user and group ids are drawn from: far above any real account's.
PER_RUN_IDS = (0x4000_0000, 0x7FFF_0000)

STATUSES = ("ok", "failed", "timeout", "killed", "error")
_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class SandboxConfig:
    """Limits and isolation options for one sandboxed run."""

    timeout_s: float = 5.0
    """CPU seconds the program may use (each process; rounded up to whole seconds)."""
    wall_timeout_s: float | None = None
    """Wall-clock seconds before the whole run is killed; ``None`` means ``max(2 * timeout_s, timeout_s + 1)``."""
    memory_mb: int = 512
    """Address-space limit per process, MiB; with a memory cgroup also the run's total (plus ``disk_mb``)."""
    output_bytes: int = 64 * 1024
    """How much of stdout, stderr and the report is read back (the rest is dropped)."""
    file_mb: int = 16
    """Largest file the program may write, stdout and stderr included, MiB."""
    disk_mb: int = 64
    """Size of the private tmpfs holding ``/tmp`` and the working directory (with a mount namespace)."""
    open_files: int = 64
    """Open file descriptors per process."""
    processes: int = 16
    """Processes and threads of the run (``RLIMIT_NPROC`` of its own user, and a pids cgroup when there is one)."""
    user: str | None = PER_RUN_USER
    """When the caller is root: ``"per-run"`` (a fresh uid and gid for every run), a user name, or ``None`` (root)."""
    network: bool = False
    """Allow network access (skip the network namespace)."""
    site_packages: bool = False
    """Let the program import the interpreter's site-packages (drops ``-S``, and exposes them in the minimal root)."""
    python: str | None = None
    """Interpreter for the program; ``None`` tries ``sys.executable``, then ``python3`` on ``PATH``."""
    cgroup: bool = True
    """Put each run in its own memory and pids cgroups when this machine lets the caller create them."""

    def __post_init__(self):
        if not self.timeout_s > 0:
            raise ValueError(f"SandboxConfig.timeout_s must be > 0 seconds, got {self.timeout_s}.")
        if self.wall_timeout_s is not None and not self.wall_timeout_s > 0:
            raise ValueError(f"SandboxConfig.wall_timeout_s must be > 0 or None, got {self.wall_timeout_s}.")
        if self.memory_mb < 32:
            raise ValueError(f"SandboxConfig.memory_mb={self.memory_mb} is too small for Python; use >= 32.")
        if self.open_files < 16:
            raise ValueError(
                f"SandboxConfig.open_files={self.open_files} is too small for Python; use >= 16."
            )
        if self.processes < 1 or self.file_mb < 1 or self.disk_mb < 1 or self.output_bytes < 0:
            raise ValueError("SandboxConfig.processes, file_mb and disk_mb must be >= 1, output_bytes >= 0.")

    @property
    def cpu_limit_s(self) -> int:
        return max(1, math.ceil(self.timeout_s))

    @property
    def wall_limit_s(self) -> float:
        if self.wall_timeout_s is not None:
            return self.wall_timeout_s
        return max(2.0 * self.timeout_s, self.timeout_s + 1.0)


@dataclass
class SandboxResult:
    """The outcome of one sandboxed run.

    Attributes:
        status: ``ok`` (exit status 0, or a judged run whose judge finished), ``failed`` (non-zero exit),
            ``timeout`` (CPU or wall limit), ``killed`` (died from a signal: segfault, out of memory, ...),
            ``error`` (the sandbox itself could not run it).
        returncode: the program's exit status, negative for a signal (``subprocess`` convention); when
            the program's own status is unknown (killed at the wall clock, never started), the launcher's.
        stdout, stderr: the first ``output_bytes`` of each, decoded as UTF-8 with replacement.
        wall_s: wall-clock seconds from start to reaping.
        cpu_s: CPU seconds (user + system) of the program and the children it waited for.
        reason: one sentence on why the status is what it is.
        report: unjudged runs: what the program wrote to file descriptor 3; judged runs: the judge's verdict line.
        isolation: which mechanisms this run got (see :mod:`rlreward.sandbox`).
        verdict: judged runs only: the judge's verdict (``passed``, ``n`` and one of ``done``, ``error``,
            ``lost``), or ``None`` when the judge gave none.
    """

    status: str
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    wall_s: float = 0.0
    cpu_s: float = 0.0
    reason: str = ""
    report: str = ""
    isolation: dict[str, bool] = field(default_factory=dict)
    verdict: dict | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class JudgeSpec:
    """What the judge runs against a solution (see :mod:`rlreward.sandbox.judge`)."""

    steps: tuple[tuple[str, int | None], ...]
    """Test statements in order, each with its test number, or ``None`` for setup."""
    entry_point: str = ""
    """The function under test ("" when the tests name the solution's functions themselves)."""
    candidate: str = "candidate"
    """The name ``check(candidate)`` binds the function under test to."""
    prompt: str = ""
    """Source whose top-level helpers (all but the entry point's definition) the judge defines for the tests."""

    @property
    def n(self) -> int:
        return sum(index is not None for _, index in self.steps)


@dataclass(frozen=True)
class _Plan:
    """How runs are launched on this machine, decided once by probing (see :func:`_plan_for`)."""

    prefix: tuple[str, ...] = ()
    namespaces: bool = False
    user_namespace: bool = False
    root: str | None = None  # "minimal", "readonly" or None (no mount namespace)
    user: str | None = None  # PER_RUN_USER, or a fixed uid:gid, or None (the caller's)
    uid: int | None = None
    gid: int | None = None
    python: str = ""
    binds: tuple[str, ...] = ()
    masks: tuple[str, ...] = ()
    error: str = ""


_PLANS: dict[tuple, _Plan] = {}
_PLAN_LOCK = threading.Lock()


def run_program(
    source: str,
    config: SandboxConfig | None = None,
    *,
    stdin: bytes | str = b"",
    **limits,
) -> SandboxResult:
    """Run one Python program in the sandbox and return what happened; never raises for the program's sake.

    Args:
        source: the program (a ``main.py``).
        config: limits and options; keyword ``limits`` override its fields
            (``run_program(src, timeout_s=1, memory_mb=256)``).
        stdin: bytes fed to the program's standard input.
    """
    return _guarded(source, None, config, stdin, limits)


def run_judged(
    solution: str, spec: JudgeSpec, config: SandboxConfig | None = None, **limits
) -> SandboxResult:
    """Judge ``solution`` against ``spec``'s tests: the solution runs sandboxed, the tests in a judge process.

    The verdict (``SandboxResult.verdict``) comes from the judge, which never runs the solution's
    code and takes only plain values from it (see :mod:`rlreward.sandbox.judge`). Never raises for
    the solution's sake.
    """
    return _guarded(solution, spec, config, b"", limits)


def run_many(
    sources: Sequence[str],
    config: SandboxConfig | None = None,
    *,
    stdins: Sequence[bytes | str] | None = None,
    specs: Sequence[JudgeSpec] | None = None,
    workers: int | None = None,
    **limits,
) -> list[SandboxResult]:
    """Run programs in parallel, at most one per CPU (fewer with ``workers``), results in input order.

    With ``specs``, each source is a solution judged against its spec (as :func:`run_judged`).
    """
    for name, given in (("stdins", stdins), ("specs", specs)):
        if given is not None and len(given) != len(sources):
            raise ValueError(f"Got {len(given)} {name} for {len(sources)} programs; give one per program.")
    if not sources:
        return []
    config = replace(config or SandboxConfig(), **limits)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = max(1, min(workers or cpus, cpus, len(sources)))
    inputs = stdins if stdins is not None else [b""] * len(sources)
    judges = specs if specs is not None else [None] * len(sources)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandbox") as pool:
        jobs = zip(sources, judges, inputs)
        return list(pool.map(lambda job: _guarded(job[0], job[1], config, job[2], {}), jobs))


def _guarded(source: str, spec: JudgeSpec | None, config, stdin, limits: dict) -> SandboxResult:
    config = replace(config or SandboxConfig(), **limits)
    plan = _plan_for(config)
    if plan.error:
        return SandboxResult(status="error", reason=plan.error)
    try:
        return _run(source, config, plan, stdin.encode() if isinstance(stdin, str) else stdin, spec)
    except Exception as err:  # the sandbox's own failure is a result, never the caller's crash
        return SandboxResult(status="error", reason=f"The sandbox failed: {type(err).__name__}: {err}")


def sandbox_processes(marker: str = "") -> list[int]:
    """Pids of live processes whose environment has ``RLREWARD_SANDBOX=<marker>...`` (prefix match).

    With ``marker=""`` every sandboxed process this user can inspect. Markers start with the
    launching process's pid and a colon, so ``f"{os.getpid()}:"`` selects one's own.
    """
    needle = f"{MARKER_VAR}={marker}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as f:
                environ = f.read()
        except OSError:  # gone, or not ours to read
            continue
        if any(item.startswith(needle) for item in environ.split(b"\0")):
            found.append(int(entry.name))
    return found


def _ids(plan: _Plan) -> tuple[int | None, int | None, int | None, int | None]:
    """(program uid, gid, judge uid, gid) for one run."""
    if plan.user is None:
        return None, None, None, None
    low, high = PER_RUN_IDS
    judge = low + secrets.randbelow(high - low)
    if plan.user == PER_RUN_USER:
        program = low + secrets.randbelow(high - low)
        while program == judge:
            program = low + secrets.randbelow(high - low)
        return program, program, judge, judge
    return plan.uid, plan.gid, judge, judge


def _run(
    source: str, config: SandboxConfig, plan: _Plan, stdin: bytes, spec: JudgeSpec | None
) -> SandboxResult:
    marker = f"{os.getpid()}:{secrets.token_hex(8)}"
    env = {"PATH": SAFE_PATH, "LANG": "C.UTF-8", MARKER_VAR: marker}
    hostdir = tempfile.mkdtemp(prefix="rlreward-sbx-")
    os.chmod(hostdir, 0o711)  # the sandbox user may pass through to its working directory, not list
    uid, gid, judge_uid, judge_gid = _ids(plan)
    isolation = {
        "pid_namespace": plan.namespaces,
        "network": plan.namespaces and not config.network,
        "mount_namespace": plan.namespaces,
        "ipc_namespace": plan.namespaces,
        "user_namespace": plan.user_namespace,
        "per_run_user": plan.user == PER_RUN_USER,
        "judge": spec is not None,
    }
    with contextlib.ExitStack() as stack:
        stack.callback(_remove_tree, hostdir)
        cgroups = _Cgroups.create(marker, config) if config.cgroup and os.geteuid() == 0 else _Cgroups()
        stack.callback(cgroups.remove)
        files = [stack.enter_context(tempfile.TemporaryFile()) for _ in range(5)]
        stdin_file, stdout_file, stderr_file, report_file, status_file = files
        stdin_file.write(stdin)
        stdin_file.seek(0)
        private = os.path.join(hostdir, "private")  # only the caller (and the launcher) can read this
        os.mkdir(private, 0o700)
        payload = {}
        if spec is None:
            payload["main.py"] = source
        else:
            payload["main.py"] = (_HERE / "worker.py").read_text(encoding="utf-8")
            payload["wire.py"] = payload["judge/wire.py"] = (_HERE / "wire.py").read_text(encoding="utf-8")
            payload["solution.py"] = source
            payload["judge/judge.py"] = (_HERE / "judge.py").read_text(encoding="utf-8")
            payload["judge/spec.json"] = json.dumps(
                {
                    "steps": [list(step) for step in spec.steps],
                    "entry_point": spec.entry_point,
                    "candidate": spec.candidate,
                    "prompt": spec.prompt,
                    "n": spec.n,
                }
            )
        paths = {}
        for i, (name, text) in enumerate(payload.items()):
            paths[name] = os.path.join(private, f"{i}.txt")
            with open(paths[name], "w", encoding="utf-8") as f:
                f.write(text)
        stage = os.path.join(hostdir, "root")
        os.mkdir(stage, 0o700)
        minimal = plan.root == "minimal"
        boot = {
            "files": paths,
            "program_files": [n for n in payload if "/" not in n],
            "workdir": os.path.join(hostdir, "work"),
            "judge_dir": "/judge" if minimal else os.path.join(hostdir, "judge"),
            "judge": None if spec is None else {},
            "root": plan.root,
            "stage": stage,
            "binds": list(plan.binds),
            "masks": list(plan.masks),
            "disk_mb": config.disk_mb,
            "cpu_s": config.cpu_limit_s,
            "memory_mb": config.memory_mb,
            "file_mb": config.file_mb,
            "open_files": config.open_files,
            "processes": config.processes,
            "uid": uid,
            "gid": gid,
            "judge_uid": judge_uid,
            "judge_gid": judge_gid,
            "cgroup_procs": cgroups.procs,
            "memory_cgroup": cgroups.memory,
            "pids_cgroup": cgroups.pids,
            "status_fd": status_file.fileno(),
            "report_fd": report_file.fileno(),
            "env": env,
            "python": plan.python,
            "python_flags": ["-I", "-B"] if config.site_packages else ["-I", "-S", "-B"],
        }
        boot_path = os.path.join(private, "boot.json")
        with open(boot_path, "w", encoding="utf-8") as f:
            json.dump(boot, f)
        command = [*plan.prefix, sys.executable, "-I", "-S", "-B", str(_HERE / "launcher.py"), boot_path]
        start = time.monotonic()
        proc = subprocess.Popen(
            command,
            stdin=stdin_file,
            stdout=stdout_file,
            stderr=stderr_file,
            pass_fds=(status_file.fileno(), report_file.fileno()),
            env=env,
            cwd="/",
            start_new_session=True,
        )
        try:
            wall_expired, cpu_at_kill = _wait_until(proc.pid, config.wall_limit_s, marker)
            _, launcher_status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # e.g. KeyboardInterrupt: do not leave the run behind
            _kill_leftovers(proc.pid, marker)
            with contextlib.suppress(ChildProcessError):
                proc.wait()
            raise
        proc.returncode = os.waitstatus_to_exitcode(launcher_status)
        wall_s = time.monotonic() - start
        _kill_leftovers(proc.pid, marker)
        launch = _json_lines(_read(status_file, 64 * 1024))
        isolation.update(
            {k: v for k, v in launch.items() if isinstance(v, bool) and k != "killed_after_verdict"}
        )
        report = _read(report_file, config.output_bytes)
        result = SandboxResult(
            status="error",
            returncode=launch.get("exit", proc.returncode),
            stdout=_read(stdout_file, config.output_bytes),
            stderr=_read(stderr_file, config.output_bytes),
            wall_s=wall_s,
            cpu_s=max(launch.get("cpu_s", 0.0), cpu_at_kill),
            report=report,
            isolation=isolation,
            verdict=None if spec is None else _read_verdict(report),
        )
        result.status, result.reason = _status(result, config, wall_expired, launch, proc.returncode)
        return result


def _read_verdict(report: str) -> dict | None:
    """The judge's verdict line, checked field by field; ``None`` when there is none that makes sense."""
    try:
        verdict = json.loads(report.splitlines()[0])
    except (ValueError, IndexError, RecursionError):
        return None
    if not isinstance(verdict, dict) or type(verdict.get("n")) is not int or verdict["n"] < 0:
        return None
    passed = verdict.get("passed")
    if not isinstance(passed, list) or not all(type(i) is int and 0 <= i < verdict["n"] for i in passed):
        return None
    return {
        "passed": sorted(set(passed)),
        "n": verdict["n"],
        "done": verdict.get("done") is True,
        "error": str(verdict.get("error", ""))[:300],
        "lost": verdict.get("lost") is True,
    }


def _wait_until(pid: int, limit_s: float, marker: str) -> tuple[bool, float]:
    """Wait for ``pid`` to exit or ``limit_s`` to pass; on the latter kill the run.

    Returns whether the wall clock expired and, if so, the CPU seconds the run had used.
    """
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    if pidfd is not None:
        try:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            if poller.poll(limit_s * 1000):
                return False, 0.0
        finally:
            os.close(pidfd)
    else:  # no pidfd (old kernel): poll the exit status
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return False, 0.0
            time.sleep(0.01)
    cpu = sum(_cpu_seconds(p) for p in sandbox_processes(marker))
    _kill_leftovers(pid, marker)
    return True, cpu


def _kill_leftovers(pgid: int, marker: str) -> None:
    """SIGKILL the run's process group, then every process carrying its marker, until none is left."""
    with contextlib.suppress(OSError):
        os.killpg(pgid, signal.SIGKILL)
    for _ in range(100):
        pids = sandbox_processes(marker)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    except (OSError, ValueError, IndexError):
        return 0.0


def _status(
    result: SandboxResult, config: SandboxConfig, wall_expired: bool, launch: dict, launcher_code: int
) -> tuple[str, str]:
    code = result.returncode
    if wall_expired:
        return "timeout", (
            f"Killed at the wall-clock limit of {config.wall_limit_s:g} s after {result.cpu_s:.2f} s of CPU "
            f"(CPU limit {config.cpu_limit_s} s): it slept, blocked, or was starved of CPU."
        )
    if "error" in launch or "exit" not in launch:
        why = launch.get("error") or (
            f"the launcher exited with status {launcher_code}: {result.stderr.strip()[-300:]!r}"
        )
        return "error", f"The sandbox could not run the program: {why}"
    verdict = result.verdict
    if verdict is not None and verdict["done"]:
        return "ok", f"The judge ran every test: {len(verdict['passed'])}/{verdict['n']} passed."
    if code is not None and code < 0:
        sig = -code
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and result.cpu_s >= config.cpu_limit_s):
            return "timeout", f"Killed at the CPU time limit of {config.cpu_limit_s} s."
        return "killed", f"Killed by {signal.Signals(sig).name}."
    if result.isolation.get("judge"):
        if verdict is None:
            return "error", f"The judge gave no verdict (judge exit status {launch.get('judge_exit')})."
        if verdict["error"]:
            return "failed", f"The solution raised {verdict['error']} while being defined; no test ran."
        return "failed", f"The solution process ended (status {code}) before every test had run."
    if code == 0:
        return "ok", "Exited with status 0."
    return "failed", f"Exited with status {code}."


def _read(file, limit: int) -> str:
    file.seek(0)
    return file.read(limit).decode("utf-8", errors="replace")


def _json_lines(text: str) -> dict:
    merged = {}
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            merged.update(json.loads(line))
    return merged


def _remove_tree(path: str) -> None:
    def make_writable(func, target, _exc):
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(target), 0o700)
            os.chmod(target, 0o700)
            func(target)

    shutil.rmtree(path, onerror=make_writable)
    shutil.rmtree(path, ignore_errors=True)


@dataclass
class _Cgroups:
    """A run's own memory and pids cgroups (v1 or v2), when the caller may create them."""

    dirs: list[str] = field(default_factory=list)
    procs: list[str] = field(default_factory=list)
    memory: bool = False
    pids: bool = False

    @classmethod
    def create(cls, marker: str, config: SandboxConfig) -> _Cgroups:
        groups = cls()
        name = "rlreward-" + marker.replace(":", "-")
        memory = (config.memory_mb + config.disk_mb) << 20
        for controller, parent in _cgroup_parents().items():
            path = os.path.join(parent, name)
            try:
                os.mkdir(path)
            except OSError:
                continue
            groups.dirs.append(path)
            required, optional = {
                "memory": ({"memory.limit_in_bytes": memory}, {"memory.memsw.limit_in_bytes": memory}),
                "pids": ({"pids.max": config.processes}, {}),
                "unified": ({"memory.max": memory, "pids.max": config.processes}, {"memory.swap.max": 0}),
            }[controller]
            try:  # a controller not enabled for this folder has no files: then the run gets no cgroup here
                for key, value in required.items():
                    Path(path, key).write_text(str(value))
                for key, value in optional.items():
                    if os.path.exists(os.path.join(path, key)):
                        Path(path, key).write_text(str(value))
            except OSError:
                continue
            groups.procs.append(os.path.join(path, "cgroup.procs"))
            if controller in ("memory", "unified"):
                groups.memory = True
            if controller in ("pids", "unified"):
                groups.pids = True
        return groups

    def remove(self) -> None:
        for path in self.dirs:
            for _ in range(200):  # the run's last processes may still be on their way out
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.005)


_CGROUP_PARENTS: dict[str, str] | None = None


def _cgroup_parents() -> dict[str, str]:
    """Controller ("memory", "pids", or "unified" for cgroup v2 with both) -> folder to create runs' cgroups in."""
    global _CGROUP_PARENTS
    if _CGROUP_PARENTS is not None:
        return _CGROUP_PARENTS
    parents: dict[str, str] = {}
    try:
        own = {}
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for c in controllers.split(",") if controllers else ["unified"]:
                own[c] = path
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            fields = line.split()
            root, point = fields[3], fields[4]
            fstype, options = fields[-3], fields[-1].split(",")
            wanted = []
            if fstype == "cgroup":
                wanted = [c for c in ("memory", "pids") if c in options]
            elif fstype == "cgroup2":
                controllers = Path(point, "cgroup.controllers").read_text().split()
                if {"memory", "pids"} <= set(controllers):
                    wanted = ["unified"]
            for c in wanted:
                inside = os.path.relpath(own.get(c, "/"), root) if own.get(c, "/").startswith(root) else "."
                parent = os.path.normpath(os.path.join(point, inside))
                if os.access(parent, os.W_OK):
                    parents.setdefault(c, parent)
    except (OSError, ValueError, IndexError):
        parents = {}
    if "unified" in parents and ("memory" in parents or "pids" in parents):
        del parents["unified"]  # a hybrid machine: the v1 controllers are the ones that work
    _CGROUP_PARENTS = parents
    return parents


def _plan_for(config: SandboxConfig) -> _Plan:
    """Probe, once per (interpreter, user, network) choice, the strongest launch that works here."""
    key = (config.python, config.user, config.network, config.site_packages)
    with _PLAN_LOCK:
        if key not in _PLANS:
            _PLANS[key] = _probe(config)
        return _PLANS[key]


_INFO = (
    "import json, os, site, sys, sysconfig; print(json.dumps({'executable': os.path.realpath(sys.executable),"
    " 'stdlib': os.path.dirname(os.__file__), 'path': [p for p in sys.path if p],"
    " 'sites': site.getsitepackages() if hasattr(site, 'getsitepackages') else []}))"
)


def _interpreter_files(python: str, site_packages: bool) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(real interpreter path, what it needs bound into a minimal root, folders in those to mask)."""
    flags = ["-I"] if site_packages else ["-I", "-S"]
    done = subprocess.run(
        [python, *flags, "-c", _INFO], capture_output=True, text=True, timeout=30, env={"PATH": SAFE_PATH}
    )
    info = json.loads(done.stdout)
    executable, stdlib = info["executable"], info["stdlib"]
    binds = [executable, *(p for p in info["path"] if os.path.exists(p))]
    binds += info["sites"] if site_packages else []
    objects = [executable]
    for folder in info["path"]:
        if os.path.isdir(folder):
            objects += [str(p) for p in Path(folder).glob("*.so")]
    libs: list[str] = []
    ldd = shutil.which("ldd", path=SAFE_PATH)
    if ldd:
        out = subprocess.run([ldd, *objects], capture_output=True, text=True, timeout=60).stdout
        for token in out.split():
            if token.startswith("/") and not token.endswith(":") and os.path.exists(token):
                libs.append(token)
    else:  # no ldd: the usual library folders whole
        libs = ["/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib"]
    binds += libs + ["/etc/ld.so.cache"]
    masks = []
    if not site_packages:
        for folder in [stdlib, *libs]:
            for name in ("site-packages", "dist-packages", "python3/dist-packages"):
                if os.path.isdir(os.path.join(folder, name)):
                    masks.append(os.path.join(os.path.realpath(folder), name))
    return executable, tuple(dict.fromkeys(binds)), tuple(dict.fromkeys(masks))


def _probe(config: SandboxConfig) -> _Plan:
    user, uid, gid = None, None, None
    if os.geteuid() == 0 and config.user is not None:
        if config.user == PER_RUN_USER:
            user = PER_RUN_USER
        else:
            try:
                entry = pwd.getpwnam(config.user)
            except KeyError:
                return _Plan(
                    error=f"The sandbox user {config.user!r} does not exist; create it, name another "
                    "(SandboxConfig.user), use 'per-run', or pass user=None to run programs as root (not recommended)."
                )
            user, uid, gid = "named", entry.pw_uid, entry.pw_gid
    if config.python:
        pythons = [config.python]
    else:
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        pythons = [
            sys.executable,
            shutil.which(version, path=SAFE_PATH),
            shutil.which("python3", path=SAFE_PATH),
        ]
    launches = []
    unshare = shutil.which("unshare")
    if unshare:
        flags = ["--mount", "--pid", "--ipc", "--fork", "--kill-child", "--mount-proc"]
        flags += [] if config.network else ["--net"]
        user_ns = os.geteuid() != 0
        if user_ns:
            flags = ["--user", "--map-root-user", *flags]
        setpriv = shutil.which("setpriv")  # unshare dies with the caller, and with it the namespace
        keeper = (setpriv, "--pdeathsig", "KILL") if setpriv else ()
        launches.append(((*keeper, unshare, *flags, "--"), True, user_ns, "minimal"))
        launches.append(((*keeper, unshare, *flags, "--"), True, user_ns, "readonly"))
    launches.append(((), False, False, None))
    probe = replace(config, timeout_s=5.0, wall_timeout_s=20.0)
    failures = []
    for python in dict.fromkeys(p for p in pythons if p):
        try:
            real, binds, masks = _interpreter_files(python, config.site_packages)
        except (OSError, ValueError, KeyError, subprocess.SubprocessError) as err:
            failures.append(f"{python}: {type(err).__name__}: {err}")
            continue
        for prefix, namespaces, user_ns, root in launches:
            plan = _Plan(prefix, namespaces, user_ns, root, user, uid, gid, real, binds, masks)
            result = _run("print('ok')", probe, plan, b"", None)
            judged = _run(
                "def f():\n    return 1\n", probe, plan, b"", JudgeSpec((("assert f() == 1", 0),), "f")
            )
            if result.status == "ok" and result.stdout == "ok\n" and judged.verdict == _ONE_PASS:
                return plan
            failures.append(
                f"{python} {root or 'plain'}: {result.reason if result.status != 'ok' else judged.reason}"
            )
    return _Plan(error="No way to run sandboxed programs works here: " + " | ".join(failures))


_ONE_PASS = {"passed": [0], "n": 1, "done": True, "error": "", "lost": False}
