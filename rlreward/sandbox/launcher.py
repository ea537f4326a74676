"""The launcher: process 1 of a run's namespaces; builds the run's world, then starts it.

Run by :mod:`rlreward.sandbox.runner` as ``python -I -S -B launcher.py <config.json>``, as the
caller (root inside the namespaces when there are any). Before any untrusted code exists it reads
everything the run needs (the program, the judge and its spec) from the caller's private folder,
then, with a mount namespace:

1. builds a *minimal root* on a fresh tmpfs: read-only bind mounts of exactly the interpreter,
   its standard library (``site-packages`` masked), the shared libraries it and its extension
   modules load, ``/etc/ld.so.cache``, five ``/dev`` nodes, a fresh ``/proc``, and a private
   size-limited tmpfs on ``/tmp`` (and ``/dev/shm``); then ``pivot_root`` into it and detaches the
   old root, so nothing else of the host (the checkout, caches, home directories, sockets, FIFOs)
   has a path the program can name. If the caller asked for ``root="readonly"`` instead, the
   host's root is remounted read-only (the older, weaker mode);
2. starts the *judge* (judged runs only) as its own user, with the verdict descriptor;
3. starts the *program* as the run's user, in the run's cgroups, with rlimits, no capabilities,
   ``no_new_privs`` and a fresh session keyring.

It waits for both, reports their exit statuses and CPU times as JSON lines on a status descriptor
that neither child holds, and exits, which (as process 1 of the PID namespace) kills everything
the program left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import resource
import signal
import socket
import sys
import time

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV = 0x1, 0x2, 0x4
AT_FDCWD, AT_RECURSIVE, MNT_DETACH = -100, 0x8000, 2
SYS_MOUNT_SETATTR, SYS_PIVOT_ROOT = 442, {"x86_64": 155, "aarch64": 41}
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP = 1, 38, 24
KEYCTL_JOIN_SESSION_KEYRING = 1
SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}
DEVICES = ("null", "zero", "full", "random", "urandom")
#: How long the program may run on after the judge has given its verdict.
GRACE_S = 0.5

libc = ctypes.CDLL(None, use_errno=True)


class MountAttr(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in ("attr_set", "attr_clr", "propagation", "userns_fd")]


def check(result: int, what: str) -> int:
    if result == -1 or (what != "syscall" and result != 0):
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def mount(source, target, fstype, flags, data=None) -> None:
    enc = [x.encode() if isinstance(x, str) else x for x in (source, target, fstype, data)]
    check(libc.mount(enc[0], enc[1], enc[2], flags, enc[3]), f"mount {target}")


def set_attr(path: str, attrs: int, recursive: bool) -> None:
    attr = MountAttr(attrs, 0, 0, 0)
    flags = AT_RECURSIVE if recursive else 0
    check(
        libc.syscall(
            SYS_MOUNT_SETATTR, AT_FDCWD, path.encode(), flags, ctypes.byref(attr), ctypes.sizeof(attr)
        ),
        f"mount_setattr {path}",
    )


def machine() -> str:
    return os.uname().machine


def replicate(root: str, path: str, depth: int = 0) -> str:
    """Create ``path``'s parents in ``root`` as on the host (symlinks as symlinks); the real path."""
    if depth > 16:
        raise OSError(f"too many symlinks under {path}")
    current = "/"
    parts = [p for p in path.split("/") if p]
    for i, part in enumerate(parts):
        host = os.path.join(current, part)
        inside = root + host
        if os.path.islink(host):
            target = os.readlink(host)
            if not os.path.lexists(inside):
                os.symlink(target, inside)
            resolved = os.path.normpath(os.path.join(current, target))
            rest = "/".join(parts[i + 1 :])
            return replicate(root, os.path.join(resolved, rest) if rest else resolved, depth + 1)
        if i < len(parts) - 1 and not os.path.isdir(inside):
            os.mkdir(inside, 0o755)
        current = host
    return current


def bind_readonly(root: str, path: str) -> None:
    """Make ``path`` (a file or folder of the host) visible, read-only, at the same path in ``root``."""
    real = replicate(root, os.path.abspath(path))
    inside = root + real
    if os.path.isdir(real):
        os.makedirs(inside, 0o755, exist_ok=True)
    elif not os.path.exists(inside):
        os.makedirs(os.path.dirname(inside), 0o755, exist_ok=True)
        with open(inside, "wb"):
            pass
    else:
        return  # already there (a library named twice)
    mount(real, inside, None, MS_BIND | MS_REC)
    set_attr(inside, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, True)


def build_minimal_root(cfg: dict, stage: str) -> None:
    """Assemble the program's world under ``stage`` and ``pivot_root`` into it (see the module docstring)."""
    mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=755")
    for path in cfg["binds"]:
        if os.path.exists(path):
            bind_readonly(stage, path)
    for path in cfg["masks"]:  # site-packages of the interpreter: an empty read-only folder
        if os.path.isdir(stage + path):
            mount("tmpfs", stage + path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=555")
    os.makedirs(stage + "/dev", 0o755, exist_ok=True)
    for name in DEVICES:
        node = stage + "/dev/" + name
        with open(node, "wb"):
            pass
        mount("/dev/" + name, node, None, MS_BIND)
        set_attr(node, MOUNT_ATTR_NOSUID, False)
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
    ):
        os.symlink(target, f"{stage}/dev/{name}")
    os.symlink("/proc/self/fd/2", stage + "/dev/stderr")
    os.makedirs(stage + "/proc", 0o555)
    mount("proc", stage + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.makedirs(stage + "/tmp", 0o1777, exist_ok=True)
    mount("tmpfs", stage + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={cfg['disk_mb']}m,mode=1777")
    os.makedirs(stage + "/dev/shm", 0o1777)
    mount(stage + "/tmp", stage + "/dev/shm", None, MS_BIND)
    os.makedirs(stage + "/judge", 0o700)
    os.chdir(stage)
    # pivot_root(".", "."): the old root ends up stacked under the new one, and is then detached.
    check(libc.syscall(SYS_PIVOT_ROOT[machine()], b".", b"."), "syscall")
    check(libc.umount2(b".", MNT_DETACH), "umount old root")
    os.chdir("/")


def remount_host_readonly() -> bool:
    """The weaker mode: the host's whole tree, read-only, with a private ``/tmp``. Whether ``/`` went read-only."""
    try:
        set_attr("/", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, True)
        readonly = True
    except OSError:
        readonly = False
    return readonly


def seal_root() -> None:
    """The minimal root's own tmpfs (mount points, the judge's folder) becomes read-only."""
    set_attr("/", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, False)


def drop_privileges(limits: dict, uid, gid, cgroup_fds=()) -> None:
    """In a child about to exec untrusted or test code: cgroups, rlimits, no capabilities, its user."""
    for fd in cgroup_fds:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
    for name, value in limits.items():
        # CPU: SIGXCPU at the limit (unambiguously a timeout), SIGKILL a second later if it is ignored.
        hard = value + 1 if name == "RLIMIT_CPU" else value
        resource.setrlimit(getattr(resource, name), (value, hard))
    check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last_cap = int(f.read())
    for cap in range(last_cap + 1):  # empty bounding set: an exec as (namespace) root gets no capabilities
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and os.geteuid() == 0:
            check(-1, "prctl(CAPBSET_DROP)")  # a non-root caller outside namespaces has none to drop
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):  # Python ignores these; an exec would inherit that
        signal.signal(sig, signal.SIG_DFL)
    if uid is not None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    # A session keyring of its own: the caller's (possessed through inheritance) is out of reach.
    keyctl = SYS_KEYCTL.get(machine())
    if keyctl is not None:
        libc.syscall(keyctl, KEYCTL_JOIN_SESSION_KEYRING, None)
    check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")  # a uid change clears it


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_file(path: str, data: bytes, uid, gid, mode: int) -> None:
    with open(path, "wb") as f:
        f.write(data)
    if uid is not None:
        os.chown(path, uid, gid)
    os.chmod(path, mode)


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        cfg = json.load(f)
    status_fd = fcntl.fcntl(cfg["status_fd"], fcntl.F_DUPFD_CLOEXEC, 10)
    report_fd = fcntl.fcntl(cfg["report_fd"], fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(cfg["status_fd"])
    os.close(cfg["report_fd"])

    def say(**items) -> None:
        os.write(status_fd, (json.dumps(items) + "\n").encode())

    try:
        run(cfg, say, report_fd)
    except BaseException as err:
        say(error=f"{type(err).__name__}: {err}")
        os._exit(125)
    os._exit(0)


def run(cfg: dict, say, report_fd: int) -> None:
    check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")  # die with the caller
    files = {}
    for name, path in cfg["files"].items():  # everything the run needs, read before any untrusted code
        with open(path, "rb") as f:
            files[name] = f.read()
        os.unlink(path)  # gone before any untrusted code runs, whatever the mount setup
    cgroup_fds = [os.open(p, os.O_WRONLY | os.O_CLOEXEC) for p in cfg["cgroup_procs"]]
    uid, gid = cfg["uid"], cfg["gid"]
    judged = cfg["judge"] is not None
    if cfg["root"]:
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        if cfg["root"] == "minimal":
            build_minimal_root(cfg, cfg["stage"])
            say(minimal_root=True, readonly_root=True, private_tmp=True)
        else:
            readonly = remount_host_readonly()
            mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={cfg['disk_mb']}m,mode=1777")
            for path in ["/dev/shm"] if readonly else ["/dev/shm", "/var/tmp", "/run/lock"]:
                if os.path.isdir(path):  # world-writable places: give them the private tmpfs too
                    mount("/tmp", path, None, MS_BIND)
            say(minimal_root=False, readonly_root=readonly, private_tmp=True)
    workdir = cfg["workdir"]
    os.makedirs(workdir, mode=0o700)
    for name in cfg["program_files"]:
        write_file(os.path.join(workdir, name), files[name], uid, gid, 0o600)
    if uid is not None:
        os.chown(workdir, uid, gid)
    judge_dir = cfg["judge_dir"]
    if judged:
        os.makedirs(judge_dir, mode=0o700, exist_ok=True)
        for name in ("judge.py", "wire.py"):  # the spec goes through a pipe: it is never on disk
            write_file(
                os.path.join(judge_dir, name),
                files["judge/" + name],
                cfg["judge_uid"],
                cfg["judge_gid"],
                0o600,
            )
        if cfg["judge_uid"] is not None:
            os.chown(judge_dir, cfg["judge_uid"], cfg["judge_gid"])
        os.chmod(judge_dir, 0o700)
    if cfg["root"] == "minimal":
        seal_root()
    say(
        rlimits=True,
        no_new_privs=True,
        capabilities_dropped=True,
        unprivileged_user=uid is not None,
        memory_cgroup=bool(cfg["cgroup_procs"]) and cfg["memory_cgroup"],
        pids_cgroup=bool(cfg["cgroup_procs"]) and cfg["pids_cgroup"],
    )
    limits = {
        "RLIMIT_CPU": cfg["cpu_s"],
        "RLIMIT_AS": cfg["memory_mb"] << 20,
        "RLIMIT_FSIZE": cfg["file_mb"] << 20,
        "RLIMIT_NOFILE": cfg["open_files"],
        "RLIMIT_NPROC": cfg["processes"],
        "RLIMIT_CORE": 0,
    }
    judge_python = [cfg["python"], "-I", "-S", "-B"]
    program_python = [cfg["python"], *cfg["python_flags"]]
    judge_pid = None
    program_channel = report_fd
    if judged:
        judge_end, program_channel = socket.socketpair()
        ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
        spec_r, spec_w = os.pipe2(os.O_CLOEXEC)
        judge_pid = os.fork()
        if judge_pid == 0:
            start(
                say,
                lambda: drop_privileges(limits, cfg["judge_uid"], cfg["judge_gid"]),
                {
                    0: os.open("/dev/null", os.O_RDONLY),
                    3: report_fd,
                    4: judge_end.fileno(),
                    5: ready_w,
                    6: spec_r,
                },
                judge_dir,
                [*judge_python, os.path.join(judge_dir, "judge.py")],
                cfg["env"],
            )
        for fd in (ready_w, spec_r):
            os.close(fd)
        judge_end.close()
        program_channel = program_channel.detach()
    # The program's interpreter starts beside the judge's, but waits on `go` before it reads the solution.
    go_r, go_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        start(
            say,
            lambda: drop_privileges(limits, uid, gid, cgroup_fds),
            {3: program_channel, 4: go_r} if judged else {3: program_channel},
            workdir,
            [*program_python, "main.py"],
            dict(cfg["env"], HOME=workdir, TMPDIR=workdir),
        )
    os.close(go_r)
    os.close(report_fd)
    for fd in cgroup_fds:
        os.close(fd)
    if judged:
        os.close(program_channel)
        with contextlib.suppress(BrokenPipeError):  # a judge that died early: no verdict, no pass
            write_all(spec_w, files["judge/spec.json"])
        os.close(spec_w)
        # The judge has its spec and is undumpable before any solution code runs (or it died).
        os.read(ready_r, 1)
        os.close(ready_r)
        with contextlib.suppress(BrokenPipeError):
            os.write(go_w, b"g")
    os.close(go_w)
    wait_for(pid, judge_pid, say)


def start(say, drop, fds: dict, cwd: str, argv: list, env: dict) -> None:
    """In a forked child: drop privileges, arrange its descriptors, exec. Never returns."""
    try:
        # Out of the way first (before the open-files limit), so that placing one never overwrites another.
        moved = {target: fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for target, fd in fds.items()}
        drop()
        for target, fd in moved.items():
            os.dup2(fd, target)  # dup2 clears close-on-exec on the target
            os.close(fd)
        os.chdir(cwd)
        os.execve(argv[0], argv, env)
    except BaseException as err:
        say(error=f"starting {argv[-1]}: {type(err).__name__}: {err}")
    os._exit(125)


def wait_for(pid: int, judge_pid, say) -> None:
    """Reap the program (and the judge); once the judge is done, the program has GRACE_S to exit."""
    waiting = {pid} | ({judge_pid} if judge_pid else set())
    deadline = None
    while waiting:
        try:
            done, status, usage = os.wait4(-1, os.WNOHANG if deadline else 0)
        except ChildProcessError:
            break
        if done == 0:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                say(killed_after_verdict=True)
                deadline = None
            else:
                time.sleep(0.005)
            continue
        cpu = usage.ru_utime + usage.ru_stime
        if done == pid:
            say(exit=os.waitstatus_to_exitcode(status), cpu_s=cpu)
            waiting.discard(pid)
        elif done == judge_pid:
            say(judge_exit=os.waitstatus_to_exitcode(status), judge_cpu_s=cpu)
            waiting.discard(judge_pid)
            if pid in waiting:
                deadline = time.monotonic() + GRACE_S


if __name__ == "__main__":
    main()
