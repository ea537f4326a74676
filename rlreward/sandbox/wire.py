"""Plain values on the wire between the judge and the solution process.

Only these types cross, checked by exact type (subclasses do not): ``None``, ``bool``, ``int``,
``float``, ``complex``, ``str``, ``bytes``, ``list``, ``tuple``, ``dict``, ``set``, ``frozenset``,
nested at most :data:`MAX_DEPTH` deep. Anything else (an object with its own ``__eq__``, a generator,
a class instance) raises :class:`NotPlain`, and the test that asked for it fails. Decoding builds
fresh built-in objects from JSON, so no code of the sender runs in the receiver.

JSON lists are lists, JSON scalars are scalars, and every JSON object is a tagged value:
``{"tuple": [...]}``, ``{"set": [...]}``, ``{"frozenset": [...]}``, ``{"dict": [[k, v], ...]}``,
``{"bytes": "<hex>"}``, ``{"complex": [re, im]}``.

This file runs in three places: imported by the caller, and copied beside the judge and the
solution worker inside the sandbox (where it is imported as ``wire``). It uses the standard library only.
"""

from __future__ import annotations

import json

MAX_DEPTH = 64
#: Largest message, in bytes, either side accepts.
MAX_MESSAGE = 4 << 20


class NotPlain(TypeError):
    """A value that may not cross between the judge and the solution."""


_TAGGED = {tuple: "tuple", set: "set", frozenset: "frozenset"}


def encode(value, depth: int = 0):
    """``value`` as JSON-ready data; raises :class:`NotPlain` for anything but plain built-ins."""
    if depth > MAX_DEPTH:
        raise NotPlain(f"nested deeper than {MAX_DEPTH}")
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if kind is list:
        return [encode(v, depth + 1) for v in value]
    if kind in _TAGGED:
        return {_TAGGED[kind]: [encode(v, depth + 1) for v in value]}
    if kind is dict:
        return {"dict": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    if kind is bytes:
        return {"bytes": value.hex()}
    if kind is complex:
        return {"complex": [value.real, value.imag]}
    raise NotPlain(f"a {kind.__name__} is not a plain value")


def decode(data, depth: int = 0):
    """The value :func:`encode` made ``data`` from; raises :class:`NotPlain` on anything malformed."""
    if depth > MAX_DEPTH:
        raise NotPlain(f"nested deeper than {MAX_DEPTH}")
    kind = type(data)
    if data is None or kind in (bool, int, float, str):
        return data
    if kind is list:
        return [decode(v, depth + 1) for v in data]
    if kind is dict and len(data) == 1:
        ((tag, items),) = data.items()
        if tag == "bytes" and type(items) is str:
            return bytes.fromhex(items)
        if tag == "complex" and type(items) is list and len(items) == 2:
            return complex(*(float(x) for x in items))
        if type(items) is list:
            if tag == "tuple":
                return tuple(decode(v, depth + 1) for v in items)
            if tag in ("set", "frozenset"):
                members = (decode(v, depth + 1) for v in items)
                try:
                    return set(members) if tag == "set" else frozenset(members)
                except TypeError as err:  # an unhashable member
                    raise NotPlain(str(err)) from None
            if tag == "dict" and all(type(p) is list and len(p) == 2 for p in items):
                try:
                    return {decode(k, depth + 1): decode(v, depth + 1) for k, v in items}
                except TypeError as err:
                    raise NotPlain(str(err)) from None
    raise NotPlain(f"malformed value {str(data)[:80]!r}")


def dumps(message: dict) -> bytes:
    """One message as a JSON line."""
    return (json.dumps(message, allow_nan=True, separators=(",", ":")) + "\n").encode()


def loads(line: bytes) -> dict:
    """One message from a JSON line; raises :class:`NotPlain` when it is not a JSON object."""
    try:
        message = json.loads(line)
    except (ValueError, RecursionError) as err:
        raise NotPlain(f"not a message: {type(err).__name__}") from None
    if type(message) is not dict:
        raise NotPlain("not a message")
    return message
