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


def load_data(args: Any, options: TranslationArguments) -> Any:
    if not args.dataset:
        return load_translation(options.language, eval_size=args.eval_size, seed=0)
    data = own_dataset(args, f"translation: {args.dataset}", reference=("reference", "reference"))
    language = LANGUAGE_NAMES.get(options.language, options.language)
    return data.map(lambda row: {"prompt": DEFAULT_INSTRUCTION.format(language=language, text=row["prompt"])})


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
)
