"""What a run leaves for a person: ``eval.json``, ``report.md``, sample files and ``training.png``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def comparison_table(before: dict[str, float] | None, after: dict[str, float]) -> str:
    """Markdown table: metric | before | after | change."""
    lines = ["| metric | before | after | change |", "|---|---|---|---|"]
    for key, value in after.items():
        old = before.get(key) if before else None
        change = f"{value - old:+.4f}" if isinstance(old, float) and isinstance(value, float) else ""
        lines.append(f"| {key} | {_fmt(old) if old is not None else ''} | {_fmt(value)} | {change} |")
    return "\n".join(lines)


def paired_table(paired: dict[str, dict[str, float]]) -> str:
    """Markdown table: per-item metric | items | mean change | 95% paired bootstrap interval."""
    lines = ["| per-item metric | items | after - before | 95% CI (paired bootstrap) |", "|---|---|---|---|"]
    for key, p in paired.items():
        lines.append(
            f"| {key} | {p['items']} | {p['diff']:+.4f} | [{p['ci_low']:+.4f}, {p['ci_high']:+.4f}] |"
        )
    return "\n".join(lines)


def samples_table(before: Any | None, after: Any, n: int = 6) -> str:
    """Markdown table of the first ``n`` held-out prompts with their completions before and after."""

    def cell(text: Any) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")[:160]

    lines = ["| prompt | before | after |", "|---|---|---|"]
    for i, row in enumerate(after.rows[:n]):
        old = before.rows[i] if before else None
        old_text = f"{cell(old['completion'])} ({old['reward']:+.2f})" if old else ""
        lines.append(
            f"| {cell(row['prompt'])} | {old_text} | {cell(row['completion'])} ({row['reward']:+.2f}) |"
        )
    return "\n".join(lines)


def plot_training(
    history: list[dict[str, float]], path: Path, title: str, held_out: Sequence[str] = ()
) -> None:
    """Reward and KL over steps, and the ``held_out`` metrics at the steps that evaluated them
    (``--eval_steps``), one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [h["step"] for h in history]
    curves = {k: [(h["step"], h[k]) for h in history if k in h] for k in held_out}
    curves = {k: v for k, v in curves.items() if v}
    fig, axes = plt.subplots(1, 3 if curves else 2, figsize=(15 if curves else 10, 3.5))
    ax1, ax2 = axes[:2]
    ax1.plot(steps, [h["rewards/mean"] for h in history])
    ax1.set(xlabel="step", ylabel="mean reward", title="reward")
    ax2.plot(steps, [h["objective/kl"] for h in history], color="tab:red")
    ax2.set(xlabel="step", ylabel="KL to reference (nats / completion)", title="KL")
    for name, points in curves.items():
        axes[2].plot(*zip(*points), marker="o", label=name)
    if curves:
        axes[2].set(xlabel="step", title="held-out metrics")
        axes[2].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_report(
    out: Path,
    title: str,
    summary: dict[str, Any],
    before: Any | None,
    after: Any,
    history: list[dict[str, float]],
) -> None:
    """Write ``eval.json`` (``summary``), the sample files, ``training.png`` and ``report.md``; print the table."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "eval.json").write_text(json.dumps(summary, indent=2))
    for name, result in (("before", before), ("after", after)):
        if result is not None:
            with open(out / f"samples_{name}.jsonl", "w") as f:
                for row in result.rows:
                    f.write(json.dumps(row, default=str) + "\n")
    if history and "rewards/mean" in history[0]:
        plot_training(history, out / "training.png", title, held_out=list(summary.get("paired") or {}))
    table = comparison_table(summary["before"], summary["after"])
    if summary.get("paired"):
        table += "\n\n" + paired_table(summary["paired"])
    rewards = ", ".join(summary.get("rewards", []))
    report = (
        f"# {title}\n\nPolicy `{summary['model']}`, {summary['mode']}, {len(history)} steps, "
        f"{summary['seconds'] / 60:.1f} min; rewards: {rewards}.\n\n"
        f"## Held-out evaluation\n\n{table}\n\n## Samples (same prompts and seeds)\n\n{samples_table(before, after)}\n"
    )
    (out / "report.md").write_text(report)
    print("\n" + table + "\n")
    print(
        f"Adapter, metrics and plot are in {out}/ (report.md, metrics.jsonl, training.png).\n"
        'Load it: python -c "from peft import AutoPeftModelForCausalLM; from transformers import AutoTokenizer; '
        f"m = AutoPeftModelForCausalLM.from_pretrained('{out}'); t = AutoTokenizer.from_pretrained('{out}'); "
        "print(t.decode(m.generate(**t('The film was', return_tensors='pt'), max_new_tokens=30)[0]))\""
    )
