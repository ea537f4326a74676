"""Code generation: write small Python functions that pass their unit tests.

Data: rlreward's 247 function tasks, each a signature and docstring (HumanEval style) with ``assert``
tests, or a user's ``--dataset`` (MBPP style: ``--dataset_column text --reference_column test_list``;
tests are ``assert`` lines, or a ``check(candidate)`` function plus an ``entry_point`` column).

Two formats (``--completion_mode``):

* chat mode (default): the prompt is a user message (``use_chat_template: true``) and the policy
  answers with the whole function, usually in a fenced block (80 tokens and more).
* completion mode (``--completion_mode true --use_chat_template false``, HumanEval's own format): the
  prompt is the signature and docstring as plain text and the policy writes the body; the program is
  prompt + completion up to the function's end (the first line at column 0). Bodies are 1-5 lines,
  so 48 tokens are plenty. For a base (non-chat) model. SmolLM2-135M-Instruct does not continue code
  this way: it closes a fence and explains (0/24 held-out tasks greedy, 0/96 samples at T = 0.7,
  ``benchmarks/learnability.py --task codegen``). The embedded base model ``gemma3-270m`` does
  continue the function, but passes less often (greedy pass@1 0.060 on the 100 held-out tasks,
  against SmolLM2's 0.090 in chat mode; docs/recipes.md), so the default stays SmolLM2 in chat mode.

The data carries the choice as a ``continues_prompt`` column, which the reward and the metrics read
per row.
Rewards: ``unit_tests`` (the share of tests passed in the sandbox plus per-line syntax credit, on the
token that completes each valid line) and ``tests_only`` (the share of tests passed, densified by
``--densify``). Metrics: pass@1 (every test passed) on the held-out tasks and, with
``--humaneval_eval true``, on HumanEval's 164 problems.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rlreward.data import load_code_tasks, load_humaneval
from rlreward.rewards.code import CONTINUES_PROMPT_COLUMN, UnitTestReward, extract_code
from rlreward.tasks.base import EvalContext, Task, own_dataset


@dataclass
class CodegenArguments:
    """Evaluation on HumanEval, after the held-out tasks."""

    completion_mode: bool = field(
        default=False,
        metadata={
            "help": "The policy continues the plain-text function prompt with its body (needs "
            "--use_chat_template false); false: it answers a chat prompt with the whole function."
        },
    )
    humaneval_eval: bool = field(default=False, metadata={"help": "Also report pass@1 on HumanEval."})
    humaneval_limit: int | None = field(
        default=None, metadata={"help": "Evaluate the first N problems only."}
    )
    humaneval_max_new_tokens: int = field(
        default=256, metadata={"help": "Completion limit on HumanEval (its functions are longer)."}
    )


def load_data(args: Any, options: CodegenArguments) -> Any:
    if args.dataset:
        splits = own_dataset(args, f"codegen: {args.dataset}", reference=("tests", "tests"))
    else:
        splits = load_code_tasks(eval_size=args.eval_size, seed=0)
    return {name: with_format(split, options.completion_mode) for name, split in splits.items()}


def with_format(dataset: Any, completion_mode: bool) -> Any:
    """``dataset`` with its ``continues_prompt`` column set to ``completion_mode`` on every row."""
    if CONTINUES_PROMPT_COLUMN in dataset.column_names:
        dataset = dataset.remove_columns([CONTINUES_PROMPT_COLUMN])
    return dataset.add_column(CONTINUES_PROMPT_COLUMN, [completion_mode] * len(dataset))


def check(args: Any, options: CodegenArguments, config: Any) -> None:
    if options.completion_mode and config.use_chat_template:
        raise ValueError(
            "--completion_mode true continues the plain-text function prompt; pass --use_chat_template "
            "false, or --completion_mode false for chat prompts."
        )


def code_preamble(prompt: str, entry_point: str) -> str:
    """What a code prompt defines before ``def <entry_point>(`` (imports, helpers); '' when nothing."""
    match = re.search(rf"^[ \t]*(?:async[ \t]+)?def[ \t]+{re.escape(entry_point)}[ \t]*\(", prompt, re.M)
    return prompt[: match.start()] if match else ""


def passes(rows: Sequence[dict[str, Any]], tests_column: str = "tests") -> list[bool]:
    """Whether each row's completion passes every one of its unit tests.

    In completion mode (the row's ``continues_prompt``) the program is the prompt + the completion up
    to the function's end. Otherwise it is the completion's fenced block that defines the entry point
    (or the whole completion), run after the prompt's preamble (HumanEval prompts import ``List`` and
    define helpers there, and chat models rarely repeat them). Programs run in the sandbox of
    :class:`~rlreward.rewards.code.UnitTestReward`.
    """
    if not rows:
        return []
    programs = []
    for r in rows:
        entry = r.get("entry_point")
        if r.get(CONTINUES_PROMPT_COLUMN):
            programs.append(str(r["prompt"]) + extract_code(r["completion"], entry, continuation=True)[0])
            continue
        preamble = code_preamble(str(r["prompt"]), entry) if entry else ""
        programs.append(preamble + extract_code(r["completion"], entry)[0])
    reward = UnitTestReward(per_token=None, syntax_weight=0.0)
    out = reward.score(
        [r["prompt"] for r in rows],
        programs,
        [[] for _ in rows],  # sequence scores only: no token is scored
        tests=[r[tests_column] for r in rows],
        entry_point=[r.get("entry_point") for r in rows],
    )
    return [bool(v == 1.0) for v in out.components["tests_passed"].tolist()]


def pass_at_1(rows: Sequence[dict[str, Any]], tests_column: str = "tests") -> float:
    """Share of rows whose completion passes every unit test: pass@1 with one completion per problem."""
    ok = passes(rows, tests_column)
    return sum(ok) / len(ok) if ok else float("nan")


def humaneval_pass_at_1(context: EvalContext) -> float:
    """pass@1 of the trainer's policy on HumanEval (``--humaneval_limit`` problems), at the evaluation's
    temperature and with ``--humaneval_max_new_tokens``."""
    options, trainer = context.options, context.trainer
    problems = with_format(load_humaneval(), options.completion_mode)
    if options.humaneval_limit is not None:
        problems = problems.select(range(min(options.humaneval_limit, len(problems))))
    limit = trainer.config.max_new_tokens
    trainer.config.max_new_tokens = options.humaneval_max_new_tokens
    try:
        rows = trainer.evaluate(problems, temperature=context.temperature).rows
    finally:
        trainer.config.max_new_tokens = limit
    return pass_at_1(rows)


def code_items(result: Any, context: EvalContext) -> dict[str, list[float]]:
    """Whether each held-out completion passes all its tests: pass@1 per task."""
    return {"eval/pass@1": [float(ok) for ok in passes(result.rows)]}


def humaneval_metrics(result: Any, context: EvalContext) -> dict[str, float]:
    if context.options is not None and context.options.humaneval_eval:
        return {"humaneval/pass@1": humaneval_pass_at_1(context)}
    return {}


def reference_answer(row: dict[str, Any]) -> str | None:
    """What SFT imitates: the canonical body (completion mode), or the whole function in a fenced block."""
    body = row.get("canonical_solution")
    if not body:
        return None
    return body if row.get(CONTINUES_PROMPT_COLUMN) else f"```python\n{row['prompt']}{body}```"


TASK = Task(
    name="codegen",
    title="PPO code generation (unit tests + instant syntax credit)",
    load_data=load_data,
    rewards={
        "unit_tests": lambda tokenizer: UnitTestReward(tokenizer=tokenizer),
        "tests_only": lambda tokenizer: UnitTestReward(per_token=None, syntax_weight=0.0),
    },
    default_reward=("unit_tests",),
    item_metrics=code_items,
    metrics=humaneval_metrics,
    reference=reference_answer,
    options=CodegenArguments,
    check=check,
)
