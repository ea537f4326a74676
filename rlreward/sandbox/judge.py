"""The judge of a judged run: runs a sample's tests without ever running the solution's code.

It runs in its own process, as its own user when the caller is root, in the sandbox. It makes
itself undumpable (no process of the same user may read its memory or trace it), reads its spec
from a pipe (file descriptor 6; the spec is never on disk), and only then does the launcher start
the solution. The tests see:

* the prompt's helpers (imports, helper functions, constants), defined here from the *prompt*,
  never from the completion;
* the function under test (``entry_point``, and ``check``'s parameter name) as a :class:`Remote`:
  calling it sends the arguments, as plain values, to the solution process and returns its answer
  decoded into fresh built-in objects (:mod:`wire`), so no object of the solution ever exists here;
* any other name the tests use that the prompt and the tests do not define, looked up in the
  solution: a function becomes a :class:`Remote`, a plain value a copy.

Each test step runs in its own ``try``; a counted step passes when it runs to the end. The verdict,
one JSON line ``{"passed": [...], "n": N, "done": true}`` (or ``"error"``/``"lost"`` instead of
``done``), goes to file descriptor 3, which only this process holds.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import ctypes
import json
import os
import socket
import sys

if __package__:
    from rlreward.sandbox import wire
else:  # a script in the sandbox, beside its copy of wire.py
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import wire

VERDICT_FD, CHANNEL_FD, READY_FD, SPEC_FD = 3, 4, 5, 6
PR_SET_DUMPABLE = 4


class CandidateError(Exception):
    """The solution raised an exception that is not a built-in one (or gave no usable answer)."""


class Lost(BaseException):
    """The solution process is gone: no later test can run. A BaseException, so tests cannot swallow it."""


class Channel:
    """JSON-line requests to the solution process, each answered by the reply with the same id."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.reader = sock.makefile("rb")
        self.next_id = 0
        self.lost = False

    def receive(self) -> dict:
        line = self.reader.readline(wire.MAX_MESSAGE)
        if not line.endswith(b"\n"):  # closed, or longer than any message may be
            self.lost = True
            raise Lost()
        return wire.loads(line)

    def request(self, **message) -> dict:
        if self.lost:
            raise Lost()
        self.next_id += 1
        message["id"] = self.next_id
        try:
            self.sock.sendall(wire.dumps(message))
        except OSError:
            self.lost = True
            raise Lost() from None
        for _ in range(1000):  # skip well-formed replies to earlier requests
            try:
                reply = self.receive()
            except wire.NotPlain as err:  # a malformed line answers this request: the call fails
                raise CandidateError(f"the solution sent no usable reply: {err}") from None
            if reply.get("id") == self.next_id:
                return reply
        self.lost = True
        raise Lost()


class Remote:
    """A function of the solution, called through the channel with plain values only."""

    def __init__(self, channel: Channel, name: str):
        self._channel, self._name = channel, name

    def __call__(self, *args, **kwargs):
        try:
            request = {
                "call": self._name,
                "args": [wire.encode(a) for a in args],
                "kwargs": {str(k): wire.encode(v) for k, v in kwargs.items()},
            }
        except wire.NotPlain as err:
            raise CandidateError(f"cannot pass to the solution: {err}") from None
        reply = self._channel.request(**request)
        if "raise" in reply:
            raise _exception(str(reply.get("raise")), str(reply.get("message", ""))[:500])
        if "value" not in reply:
            raise CandidateError("the solution gave no value")
        try:
            value = wire.decode(reply["value"])
        except (wire.NotPlain, ValueError, OverflowError) as err:
            raise CandidateError(
                f"the solution returned something that is not a plain value: {err}"
            ) from None
        _copy_back(args, reply.get("args"))
        return value

    def __repr__(self) -> str:
        return f"<function {self._name} of the solution>"


def _exception(name: str, message: str) -> Exception:
    """A built-in exception of the same name (so ``except ValueError`` in a test works), else CandidateError."""
    kind = getattr(builtins, name, None)
    if isinstance(kind, type) and issubclass(kind, Exception) and kind.__module__ == "builtins":
        try:
            return kind(message)
        except Exception:
            pass
    return CandidateError(f"{name}: {message}")


def _copy_back(args: tuple, after) -> None:
    """Apply the solution's in-place changes to list, dict and set arguments (as plain values)."""
    if type(after) is not list or len(after) != len(args):
        return
    for arg, data in zip(args, after):
        if type(arg) not in (list, dict, set) or data is None:
            continue
        try:
            value = wire.decode(data)
        except (wire.NotPlain, ValueError, OverflowError):
            continue
        if type(value) is not type(arg) or value == arg:
            continue
        if type(arg) is list:
            arg[:] = value
        else:
            arg.clear()
            arg.update(value)


def prompt_helpers(prompt: str, entry_point: str) -> list[str]:
    """The prompt's top-level statements but the functions it asks for.

    Those are the entry point's definition and any other stub (a body of only a docstring, ``pass``
    or ``...``): the solution writes them, and the tests must reach the solution's.
    """
    try:
        module = ast.parse(prompt)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    keep = []
    for stmt in module.body:
        asked = isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
            stmt.name == entry_point or all(_is_stub(s) for s in stmt.body)
        )
        if not asked:
            keep.append(ast.unparse(stmt))
    return keep


def _is_stub(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant))


def free_names(sources: list[str]) -> list[str]:
    """Names the tests read (in order of first use)."""
    names: dict[str, None] = {}
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                names.setdefault(node.id)
    return list(names)


def judge(spec: dict, channel: Channel) -> dict:
    """Run the tests of ``spec`` against the solution behind ``channel``; the verdict."""
    n = spec["n"]
    verdict: dict = {"passed": [], "n": n}
    first: dict = {}
    try:
        for _ in range(1000):  # the first well-formed message, whatever the solution printed on the channel
            with contextlib.suppress(wire.NotPlain):
                first = channel.receive()
                break
    except Lost:
        return dict(verdict, lost=True)
    if "ready" not in first:
        return dict(verdict, error=str(first.get("error", "no ready message"))[:100])
    env: dict = {"__name__": "tests", "__builtins__": builtins}
    for source in prompt_helpers(spec.get("prompt", ""), spec.get("entry_point", "")):
        with contextlib.suppress(BaseException):  # a prompt may be prose that happens to parse
            exec(compile(source, "<prompt>", "exec"), env)
    steps = [(compile(source, "<test>", "exec"), source, index) for source, index in spec["steps"]]
    entry, candidate = spec.get("entry_point", ""), spec.get("candidate", "candidate")
    wanted = [
        name
        for name in free_names([source for _, source, _ in steps])
        if name not in env and not hasattr(builtins, name) and name not in (entry, candidate)
    ]
    try:
        if wanted:
            found = channel.request(lookup=wanted)
            for name in found.get("callable", []):
                if name in wanted:
                    env[name] = Remote(channel, name)
            for name, data in dict(found.get("values", {})).items():
                if name in wanted:
                    with contextlib.suppress(wire.NotPlain, ValueError, OverflowError):
                        env[name] = wire.decode(data)
        if entry:
            env[entry] = env[candidate] = Remote(channel, entry)
        for code, _, index in steps:
            try:
                exec(code, env)
            except Exception:
                continue
            finally:
                if channel.lost:
                    raise Lost()
            if index is not None:
                verdict["passed"].append(index)
    except Lost:
        return dict(verdict, lost=True)
    return dict(verdict, done=True)


def main() -> None:
    # Not dumpable: a process of the same user cannot read this one's memory or attach to it.
    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    with open(SPEC_FD, "rb") as f:  # all of it, before the solution exists
        spec = json.loads(f.read())
    os.write(READY_FD, b"r")
    os.close(READY_FD)
    channel = Channel(socket.socket(fileno=CHANNEL_FD))
    try:
        verdict = judge(spec, channel)
    except Exception as err:  # a bug here is an error verdict, never a pass
        verdict = {"passed": [], "n": spec.get("n", 0), "error": f"judge: {type(err).__name__}: {err}"[:300]}
    os.write(VERDICT_FD, (json.dumps(verdict) + "\n").encode())
    with contextlib.suppress(OSError):
        channel.sock.sendall(wire.dumps({"quit": True}))
    os._exit(0)


if __name__ == "__main__":
    main()
