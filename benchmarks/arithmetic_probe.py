"""How well the base policy does the arithmetic task: greedy accuracy, sampled accuracy and pass@k.

Held-out problems come from the task itself (``rlreward/tasks/arithmetic.py``, the same split the
recipe evaluates on); completions come from the trainer's own ``evaluate`` (greedy, or one sample
per prompt per seed at ``--temperature``), so these numbers are the ones a training run starts from.

Reported:

* greedy exact-match accuracy on ``--eval_size`` problems, with a 95% Wilson interval;
* on the first ``--subset`` of them, ``--k`` samples each at ``--temperature``: the mean accuracy
  (sampled pass@1) and the unbiased pass@k (Chen et al. 2021), ``1 - C(n - c, k) / C(n, k)`` per
  problem with ``c`` of ``n`` samples correct, for k = 1, 4, 16, with 95% bootstrap intervals
  over problems; and the share of problems solved at least once.

Run (under the shared lock on the 2-core machine):

    python benchmarks/arithmetic_probe.py --num_terms 4 --digits 2 --json outputs/arithmetic_probe.json
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a binomial proportion."""
    if n == 0:
        return float("nan"), float("nan")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one problem with ``c`` correct among ``n`` samples (Chen et al. 2021)."""
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def bootstrap_mean(values: list[float], draws: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean of ``values``."""
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(draws))
    return means[int(0.025 * draws)], means[int(0.975 * draws) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--num_terms", type=int, default=4)
    parser.add_argument("--digits", type=int, default=2)
    parser.add_argument("--shots", type=int, default=1)
    parser.add_argument("--chat", type=int, default=1, help="Use the chat template (else plain text).")
    parser.add_argument("--eval_size", type=int, default=200)
    parser.add_argument("--max_new_tokens", type=int, default=64)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--subset", type=int, default=64, help="Problems sampled k times.")
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--show", type=int, default=4, help="Print this many greedy completions.")
    parser.add_argument("--json", default=None)
    parser.add_argument("--skip_greedy", action="store_true", help="Only the sampled pass@k.")
    args = parser.parse_args()

    import torch

    from rlreward.models import load_causal_lm
    from rlreward.tasks.arithmetic import (
        ArithmeticArguments,
        arithmetic_metrics,
        check_completion,
        generated_splits,
        parse_problem,
    )
    from rlreward.trainers import ReinforceConfig, ReinforceTrainer

    torch.set_num_threads(max(1, torch.get_num_threads()))
    options = ArithmeticArguments(num_terms=args.num_terms, digits=args.digits, shots=args.shots, num_train=1)
    held_out = generated_splits(options, args.eval_size)["eval"]
    model, tokenizer = load_causal_lm(args.model)
    config = ReinforceConfig(
        output_dir="outputs/arithmetic_probe",
        batch_size=args.batch_size,
        mini_batch_size=args.batch_size,
        micro_batch_size=args.batch_size,
        num_generations=2,
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        use_chat_template=bool(args.chat),
        progress_bar=False,
    )
    reward = lambda prompts, completions, **kw: [0.0] * len(completions)  # noqa: E731 - scored below
    trainer = ReinforceTrainer(model, reward, held_out, config, tokenizer=tokenizer)

    report: dict = {"config": vars(args)}
    if not args.skip_greedy:
        t0 = time.perf_counter()
        greedy = trainer.evaluate(held_out, temperature=0.0)
        greedy_s = time.perf_counter() - t0
        metrics = arithmetic_metrics(greedy)
        correct = [
            check_completion(parse_problem(r["problem"]), r["completion"]).correct for r in greedy.rows
        ]
        lo, hi = wilson(sum(correct), len(correct))
        report["greedy"] = {
            "accuracy": sum(correct) / len(correct),
            "ci95": [lo, hi],
            "n": len(correct),
            **{k.split("/")[1]: v for k, v in metrics.items()},
            "seconds": greedy_s,
            "mean_tokens": greedy.metrics["eval/mean_length"],
            "items": [float(c) for c in correct],  # per problem, in held-out order
        }
        if args.json:  # the greedy numbers are kept even if the sampling below is cut short
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(report, indent=2))
        for row in greedy.rows[: args.show]:
            print(f"--- {row['problem']} = {row['answer']}\n{row['completion']}", file=sys.stderr)
        print(
            f"greedy accuracy {sum(correct)}/{len(correct)} = {sum(correct) / len(correct):.3f} "
            f"[{lo:.3f}, {hi:.3f}]  step_accuracy {metrics['eval/step_accuracy']:.3f} "
            f"answer_rate {metrics['eval/answer_rate']:.3f}  ({greedy_s:.0f} s)",
            flush=True,
        )

    if args.subset and args.k:
        subset = held_out.select(range(min(args.subset, len(held_out))))
        # The k samples of every problem in one evaluation: the subset repeated k times; each row
        # gets its own sampling seed from its index, so the copies are independent samples.
        repeated = subset.select([i for _ in range(args.k) for i in range(len(subset))])
        hits = [0] * len(subset)
        t0 = time.perf_counter()
        result = trainer.evaluate(repeated, temperature=args.temperature, seed=1000)
        for j, row in enumerate(result.rows):
            hits[j % len(subset)] += check_completion(
                parse_problem(row["problem"]), row["completion"]
            ).correct
        sampled_s = time.perf_counter() - t0
        report["sampled"] = {"temperature": args.temperature, "n": len(subset), "k": args.k}
        report["sampled"]["seconds"] = sampled_s
        for k in sorted({1, 4, 16, args.k}):
            if k > args.k:
                continue
            values = [pass_at_k(args.k, c, k) for c in hits]
            lo, hi = bootstrap_mean(values)
            report["sampled"][f"pass@{k}"] = {"mean": sum(values) / len(values), "ci95": [lo, hi]}
            print(f"T={args.temperature} pass@{k} {sum(values) / len(values):.3f} [{lo:.3f}, {hi:.3f}]")
        report["sampled"]["solved_at_least_once"] = sum(h > 0 for h in hits) / len(hits)
        report["sampled"]["solved_every_time"] = sum(h == args.k for h in hits) / len(hits)
        print(
            f"solved at least once in {args.k}: {sum(h > 0 for h in hits)}/{len(hits)}; "
            f"every time: {sum(h == args.k for h in hits)}/{len(hits)} ({sampled_s:.0f} s)"
        )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
