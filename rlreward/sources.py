"""Where a name points: a local path, or a Hugging Face Hub id; and whether the Hub can be reached.

One place for the heuristics that models, datasets and ``--reward`` specs share.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path


def written_as_path(text: str) -> bool:
    """Whether ``text`` is written as a filesystem path (``./x``, ``/x``, ``~/x``, ``a/b/c``) or exists,
    rather than a Hub id (``name`` or ``org/name``)."""
    return text.startswith((".", "/", "~")) or "\\" in text or text.count("/") > 1 or Path(text).exists()


def looks_like_hub_id(text: str) -> bool:
    """``org/name`` that is not a local path (``outputs/missing_model`` names a missing folder when
    ``outputs`` exists here)."""
    if written_as_path(text) or not re.fullmatch(r"[\w.-]+/[\w.-]+", text):
        return False
    return not os.path.isdir(text.split("/", 1)[0])


def hub_reachable(timeout: float = 2.0) -> bool:
    """Whether the Hugging Face Hub answers a TCP connection within ``timeout`` seconds (asked once per
    process); False when ``HF_HUB_OFFLINE`` is set. Saves a minute of download retries when offline."""
    try:
        from huggingface_hub import constants
    except ImportError:
        return False
    if constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    return _connects(constants.ENDPOINT, timeout)


@functools.lru_cache(maxsize=4)
def _connects(url: str, timeout: float) -> bool:
    import socket
    from urllib.parse import urlparse

    endpoint = urlparse(url)
    host, port = endpoint.hostname, endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
