"""PPO with unit-test rewards and per-line syntax credit: teach a policy to write small Python functions.

The algorithm, as run by default:

1. prompts: rlreward's 247 function tasks, each a signature and docstring (HumanEval style), with
   ``assert`` tests (40 held out for evaluation);
2. policy: SmolLM2-135M-Instruct (chat template on: it answers with a fenced ``python`` block) with a
   LoRA adapter; the reference is the same model, adapter off;
3. reward: ``R = P/N + 0.1 * V/L``, the share of the task's tests the code passes (run in the
   sandbox) plus the share of its lines that keep the program syntactically valid; per token, each
   valid line's ``0.1/L`` goes to the token that completes it and ``P/N`` to the last token, so
   ``sum_t r_t = R`` (UnitTestReward);
4. PPO: value head, per-token KL penalty, GAE, clipped updates (as in ppo_sentiment.py).

Reported before and after: pass@1 (greedy; every test passed) on the held-out tasks and, with
``--humaneval_eval true``, on HumanEval's 164 problems (``--humaneval_limit N`` for the first N).

Default budget, for about 20 minutes on 2 CPU cores: prompts are ~90 tokens and a fenced function
~50-80, so completions get at most 80 tokens. A 1-step run took 65 s per step of 16 (29 s
generation, 35 s update, 0.5 s for the 16 sandboxed test runs) on a moderately loaded 2-core
machine, so 16 steps take ~17 min, plus ~3 min for two greedy evaluations of 40 tasks. With
``--humaneval_eval true`` each evaluation also generates up to 256 tokens for each of 164 prompts
of ~150-400 tokens (up to ~15 min on 2 cores; ``--humaneval_limit`` bounds it).

Launch:

    accelerate launch recipes/ppo_codegen.py                                     # 1 process
    accelerate launch --multi_gpu --num_processes 2 recipes/ppo_codegen.py  # 2 processes: GPUs, or CPUs (gloo)
    accelerate launch --config_file recipes/accelerate/multi_gpu.yaml recipes/ppo_codegen.py --humaneval_eval true
    python recipes/ppo_codegen.py --config recipes/configs/ppo_codegen.yaml --max_steps 10

Own data (MBPP style): ``--dataset mbpp.jsonl --dataset_column text --reference_column test_list``
(tests: ``assert`` lines, or a ``check(candidate)`` function plus an ``entry_point`` column).
Own reward: ``--reward tests_only`` (no syntax credit; densified by ``--densify``) or ``--reward my_pkg.mod:fn``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rlreward.data import load_code_tasks, load_humaneval
from rlreward.recipe import load_own_dataset, parse_args, pass_at_1, run
from rlreward.rewards.code import UnitTestReward
from rlreward.trainers import PPOConfig


@dataclass
class CodegenArguments:
    """Evaluation on HumanEval, after the held-out tasks."""

    humaneval_eval: bool = field(default=False, metadata={"help": "Also report pass@1 on HumanEval."})
    humaneval_limit: int | None = field(
        default=None, metadata={"help": "Evaluate the first N problems only."}
    )
    humaneval_max_new_tokens: int = field(
        default=256, metadata={"help": "Completion limit on HumanEval (its functions are longer)."}
    )


EXTRA_ARGS = (CodegenArguments,)  # parsed after ScriptArguments and PPOConfig

# ---- defaults of this recipe (a YAML or CLI flags override them) ------------------------
DEFAULTS = dict(
    output_dir="outputs/ppo_codegen",
    eval_size=40,
    eval_temperature=0.0,
    max_steps=16,
    batch_size=16,
    mini_batch_size=8,
    micro_batch_size=8,
    num_epochs=2,
    max_prompt_length=512,
    max_new_tokens=80,
    learning_rate=3e-4,
    kl_coef=0.05,
    densify="terminal",  # a sequence-only code reward is not re-run on every prefix
    save_steps=8,
    sample_steps=4,
)

BUILTIN_REWARDS = {
    "unit_tests": lambda tokenizer: UnitTestReward(tokenizer=tokenizer),
    "tests_only": lambda tokenizer: UnitTestReward(per_token=None, syntax_weight=0.0),
}


def held_out_pass_at_1(result) -> dict[str, float]:
    return {"eval/pass@1": pass_at_1(result.rows)}


def humaneval_pass_at_1(code_args: CodegenArguments):
    """``(trainer, temperature) -> {"humaneval/pass@1": ...}`` for :func:`run`'s ``extra_eval``."""
    problems = load_humaneval()
    if code_args.humaneval_limit is not None:
        problems = problems.select(range(min(code_args.humaneval_limit, len(problems))))

    def evaluate(trainer, temperature: float) -> dict[str, float]:
        limit = trainer.config.max_new_tokens
        trainer.config.max_new_tokens = code_args.humaneval_max_new_tokens
        try:
            rows = trainer.evaluate(problems, temperature=temperature).rows
        finally:
            trainer.config.max_new_tokens = limit
        return {"humaneval/pass@1": pass_at_1(rows)}

    return evaluate


def reference_answer(row) -> str | None:
    """What ``--sft_baseline`` imitates: the task's function with its canonical body, in a fenced block."""
    body = row.get("canonical_solution")
    return f"```python\n{row['prompt']}{body}```" if body else None


def main() -> None:
    # ---- config --------------------------------------------------------------------------
    args, config, code_args = parse_args(PPOConfig, defaults=DEFAULTS, extra=EXTRA_ARGS)
    # ---- data: prompt (signature + docstring), tests, entry_point --------------------------
    if args.dataset:
        data = load_own_dataset(args, f"codegen: {args.dataset}", reference=("tests", "tests"))
    else:
        data = load_code_tasks(eval_size=args.eval_size, seed=0)
    # ---- model, reward, trainer, train, evaluate, save, report ----------------------------
    run(
        args,
        config,
        data,
        BUILTIN_REWARDS,
        ["unit_tests"],
        held_out_pass_at_1,
        title="PPO code generation (unit tests + instant syntax credit)",
        extra_eval=humaneval_pass_at_1(code_args) if code_args.humaneval_eval else None,
        reference=reference_answer,
    )


if __name__ == "__main__":
    main()
