"""The main job, timed whole, with and without freed memory kept in the process (issue 13).

Runs the README's command, ``accelerate launch -q recipes/ppo_sentiment.py``, once per variant, one
after the other on the same machine (so the ratio is side by side), each into its own new folder:

* ``tuned``: the default (``retain_freed_memory`` on: glibc keeps freed blocks in the heap);
* ``default``: ``--retain_freed_memory false`` (glibc's own thresholds: large blocks are ``munmap``-ed
  on free and the kernel zero-fills them again on the next step).

Per variant it prints the wall time of the whole process (model load, both evaluations, training,
saving), the user and system CPU seconds and the largest resident set of the process tree (from
``wait4``), the recipe's own ``seconds`` and the before/after held-out numbers from ``eval.json``.
Then tuned / default per column, and whether the held-out numbers are identical (they must be:
the allocator changes where memory comes from, not what is computed).

    python benchmarks/main_job.py                      # about 20 minutes on 2 idle CPU cores
    python benchmarks/main_job.py -- --max_steps 4     # a quick look; flags after -- go to both runs

Writes ``<output_dir>/<timestamp>/{tuned,default}/`` (the runs) and ``main_job.json`` beside them;
an existing folder is never reused or overwritten.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {"tuned": [], "default": ["--retain_freed_memory", "false"]}
HELD_OUT = ("eval/vader", "eval/kl", "eval/ref_perplexity")


def run_variant(folder: Path, extra: list[str], flags: list[str]) -> dict:
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "-q",
        str(ROOT / "recipes" / "ppo_sentiment.py"),
    ]
    command += ["--output_dir", str(folder), *extra, *flags]
    print(" ".join(command), flush=True)
    log = folder.with_name(folder.name + ".log")
    with log.open("w") as stderr:
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr)
        # wait4 gives this child's resource usage with that of the processes it waited for (the recipe
        # under accelerate's launcher): CPU seconds and the largest resident set among them.
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
    code = child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    if code != 0:
        tail = "\n".join(log.read_text().strip().splitlines()[-5:])
        raise SystemExit(f"error: {' '.join(command)} failed (exit {code}); the end of {log}:\n{tail}")
    result = json.loads((folder / "eval.json").read_text())
    return {
        "command": command,
        "wall_s": wall,
        "user_s": usage.ru_utime,
        "system_s": usage.ru_stime,
        "max_rss_mib": usage.ru_maxrss / 1024,  # kB on Linux
        "recipe_s": result["seconds"],
        "before": {k: result["before"][k] for k in HELD_OUT},
        "after": {k: result["after"][k] for k in HELD_OUT},
    }


def main() -> None:
    argv = sys.argv[1:]
    flags = argv[argv.index("--") + 1 :] if "--" in argv else []
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output_dir", default="outputs/main_job")
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)

    base = Path(args.output_dir) / time.strftime("%Y%m%d-%H%M%S")
    base.mkdir(parents=True, exist_ok=False)
    rows = {}
    for name, extra in VARIANTS.items():
        rows[name] = run_variant(base / name, extra, flags)
    identical = all(rows["tuned"][p] == rows["default"][p] for p in ("before", "after"))

    print(f"\nmain job, {os.cpu_count()} CPUs visible, flags: {' '.join(flags) or '(none)'}")
    print(
        f"| variant | wall min | recipe min | user s | system s | max RSS MiB | {' | '.join(HELD_OUT)} (before -> after) |"
    )
    print("|---|---|---|---|---|---|" + "---|" * len(HELD_OUT))
    for name, r in rows.items():
        held = " | ".join(f"{r['before'][k]:.4f} -> {r['after'][k]:.4f}" for k in HELD_OUT)
        print(
            f"| {name} | {r['wall_s'] / 60:.1f} | {r['recipe_s'] / 60:.1f} | {r['user_s']:.0f} | "
            f"{r['system_s']:.1f} | {r['max_rss_mib']:.0f} | {held} |"
        )
    t, d = rows["tuned"], rows["default"]
    print(
        f"tuned / default: wall {t['wall_s'] / d['wall_s']:.2f}x, recipe {t['recipe_s'] / d['recipe_s']:.2f}x, "
        f"system {t['system_s'] / max(d['system_s'], 1e-9):.2f}x; held-out numbers identical: {identical}"
    )
    (base / "main_job.json").write_text(
        json.dumps({"flags": flags, "runs": rows, "identical": identical}, indent=2)
    )
    print(f"wrote {base / 'main_job.json'}")


if __name__ == "__main__":
    main()
