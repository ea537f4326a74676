"""Translation of English interface strings to German or French.

Data: ``Translate to German: <English>`` prompts built from the human translations in Django's and
Sphinx's gettext catalogs (``--language de``: 253 pairs, ``fr``: 631), or a user's ``--dataset``
(``--dataset_column en --reference_column de --language German``: the English column is wrapped in
the same instruction). Rewards: ``chrf`` (per token, the sentence-chrF gain of the prefix, 0-1),
``chrf++`` and ``bleu``. Metrics: corpus chrF and BLEU (sacrebleu, 0-100) against the references.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from datasets import DatasetDict

from rlreward.data import load_translation
from rlreward.data.translation import DEFAULT_INSTRUCTION, LANGUAGE_NAMES
from rlreward.rewards.metrics import BLEUReward, ChrFReward, corpus_bleu, corpus_chrf, sentence_chrf
from rlreward.tasks.base import EvalContext, Task, own_dataset


@dataclass
class TranslationArguments:
    """The target language."""

    language: str = field(
        default="de",
        metadata={
            "help": "Target language: de or fr for the built-in catalogs; with --dataset, any language "
            "name for the instruction (de and fr are spelled out)."
        },
    )
    fewshot: int = field(
        default=0,
        metadata={
            "help": "Prompt as a plain continuation for base models without a chat template: the first N "
            "training pairs as 'English: ...' / '<Language>: ...' lines (they leave the training set), then "
            "'English: <text>' and '<Language>:'. Needs stop_strings ['\\n'] and use_chat_template false."
        },
    )


def load_data(args: Any, options: TranslationArguments) -> Any:
    language = LANGUAGE_NAMES.get(options.language, options.language)
    if not args.dataset:
        data = load_translation(options.language, eval_size=args.eval_size, seed=0)
    else:
        data = own_dataset(args, f"translation: {args.dataset}", reference=("reference", "reference"))
        data = data.map(
            lambda row: {
                "source": row["prompt"],
                "prompt": DEFAULT_INSTRUCTION.format(language=language, text=row["prompt"]),
            }
        )
    return fewshot_prompts(data, options.fewshot, language) if options.fewshot else data


def fewshot_prompts(data: Any, n: int, language: str) -> DatasetDict:
    """Plain-continuation prompts: ``n`` training pairs as examples, then the source and ``<language>:``.

    The examples are the first ``n`` training pairs, the same for every prompt, and are dropped from
    the training split (the held-out split never sees them as items)."""
    if n >= len(data["train"]):
        raise ValueError(f"--fewshot {n}: the training split has only {len(data['train'])} pairs; lower it.")
    shots = data["train"].select(range(n))
    prefix = "".join(f"English: {row['source']}\n{language}: {row['reference']}\n\n" for row in shots)
    prompt = lambda row: {"prompt": f"{prefix}English: {row['source']}\n{language}:"}  # noqa: E731
    return DatasetDict(
        train=data["train"].select(range(n, len(data["train"]))).map(prompt), eval=data["eval"].map(prompt)
    )


def check(args: Any, options: TranslationArguments, config: Any) -> None:
    """A few-shot prompt needs completions that end at the line break, outside any chat template."""
    if options.fewshot < 0:
        raise ValueError(f"--fewshot must be 0 or more, got {options.fewshot}.")
    if options.fewshot and "\n" not in (config.stop_strings or []):
        raise ValueError(
            "--fewshot writes one line per translation: add --stop_strings '\\n' (YAML: stop_strings: [\"\\n\"])."
        )
    if options.fewshot and config.use_chat_template:
        raise ValueError("--fewshot is a plain continuation: add --use_chat_template false.")


def reference_metrics(
    result: Any, context: EvalContext | None = None, reference_column: str = "reference", bleu: bool = True
) -> dict[str, float]:
    """Corpus chrF (and BLEU), sacrebleu's 0-100 scale, of the completions against their references."""
    hyps = [r["completion"] for r in result.rows]
    refs = [r[reference_column] for r in result.rows]
    metrics = {"eval/chrf": corpus_chrf(hyps, refs)}
    if bleu:
        metrics["eval/bleu"] = corpus_bleu(hyps, refs)
    return metrics


def sentence_chrf_items(
    result: Any, context: EvalContext | None = None, reference_column: str = "reference"
) -> dict[str, list[float]]:
    """Sentence chrF (0-100) of each completion against its reference: the per-item view of corpus chrF."""
    return {"eval/sentence_chrf": [sentence_chrf(r["completion"], r[reference_column]) for r in result.rows]}


TASK = Task(
    name="translation",
    title="PPO translation (instant chrF)",
    load_data=load_data,
    rewards={
        "chrf": lambda tokenizer: ChrFReward(tokenizer=tokenizer),
        "chrf++": lambda tokenizer: ChrFReward(tokenizer=tokenizer, word_order=2),
        "bleu": lambda tokenizer: BLEUReward(tokenizer=tokenizer),
    },
    default_reward=("chrf",),
    item_metrics=sentence_chrf_items,
    metrics=reference_metrics,
    reference=lambda row: row["reference"],  # SFT imitates the human translation
    options=TranslationArguments,
    check=check,
)
