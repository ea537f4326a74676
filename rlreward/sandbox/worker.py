"""The solution side of a judged run: defines the solution, then answers the judge's calls.

Runs as ``main.py`` in the solution's working directory, beside ``wire.py`` and ``solution.py``,
in the sandboxed interpreter that also runs the solution. It starts beside the judge and reads
the solution only once the launcher says go (file descriptor 4), when the judge is ready. Nothing
here is trusted by the judge:
the solution can rewrite any of it, and all the judge ever takes from this process is plain
values (see :mod:`wire`). It speaks JSON lines on file descriptor 3, a socket to the judge:

* ``{"ready": true}`` or ``{"error": "<exception name>"}`` once the solution has been defined;
* request ``{"id": n, "lookup": [names]}``, answer ``{"id": n, "callable": [...], "values": {...}}``;
* request ``{"id": n, "call": name, "args": [...], "kwargs": {...}}``, answer ``{"id": n, "value": v,
  "args": [...]}`` (the arguments after the call, so that in-place changes reach the judge) or
  ``{"id": n, "raise": "<exception name>", "message": "..."}``;
* request ``{"quit": true}``: exit at once.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import socket
import sys
import types

if __package__:
    from rlreward.sandbox import wire
else:  # a script in the sandbox, beside its copy of wire.py (-I leaves the script's folder off sys.path)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import wire

CHANNEL_FD, GO_FD = 3, 4


def define(source: str) -> dict:
    """Run the solution as module ``solution`` (its ``if __name__ == "__main__"`` blocks do not run)."""
    builtins.__dict__.setdefault("exit", sys.exit)  # the `site` helpers, absent under python -S
    builtins.__dict__.setdefault("quit", sys.exit)
    module = types.ModuleType("solution")
    module.__file__ = os.path.abspath("solution.py")
    sys.modules["solution"] = module  # a real module: its functions pickle (multiprocessing works)
    exec(compile(source, "solution.py", "exec"), module.__dict__)
    return module.__dict__


def answer(namespace: dict, request: dict) -> dict:
    """The reply to one request of the judge."""
    reply = {"id": request.get("id")}
    if "lookup" in request:
        reply["callable"], reply["values"] = [], {}
        for name in request["lookup"]:
            if name not in namespace:
                continue
            if callable(namespace[name]):
                reply["callable"].append(name)
            else:
                with contextlib.suppress(wire.NotPlain):
                    reply["values"][name] = wire.encode(namespace[name])
        return reply
    try:
        function = namespace[request["call"]]
        args = [wire.decode(a) for a in request.get("args", [])]
        kwargs = {k: wire.decode(v) for k, v in request.get("kwargs", {}).items()}
        reply["value"] = wire.encode(function(*args, **kwargs))
        after = []
        for arg in args:
            try:
                after.append(wire.encode(arg))
            except wire.NotPlain:
                after.append(None)
        reply["args"] = after
    except BaseException as err:  # SystemExit and KeyboardInterrupt too: the test fails, the worker goes on
        reply.pop("value", None)
        reply["raise"] = type(err).__name__
        reply["message"] = str(err)[:500]
    return reply


def finish() -> None:
    """Flush what the solution printed and exit at once: no atexit hooks, no waiting for its threads."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    os._exit(0)


def main() -> None:
    os.read(GO_FD, 1)  # the launcher's go: the judge is ready (undumpable, its spec read)
    os.close(GO_FD)
    channel = socket.socket(fileno=CHANNEL_FD)
    reader = channel.makefile("rb")
    with open("solution.py", encoding="utf-8") as f:
        source = f.read()
    try:
        namespace = define(source)
    except BaseException as err:
        channel.sendall(wire.dumps({"error": type(err).__name__}))
        finish()
    channel.sendall(wire.dumps({"ready": True}))
    while True:
        line = reader.readline(wire.MAX_MESSAGE)
        if not line:
            finish()
        request = wire.loads(line)
        if request.get("quit"):
            finish()
        reply = answer(namespace, request)
        try:
            line = wire.dumps(reply)
        except (TypeError, ValueError) as err:  # e.g. an int too long to write out
            line = wire.dumps({"id": reply["id"], "raise": "NotPlain", "message": str(err)[:500]})
        channel.sendall(line)


if __name__ == "__main__":
    main()
