"""Dialogue data from the English chatterbot corpus: (context turns -> next reply) and preference pairs.

Each corpus file holds ``conversations: [[turn_1, turn_2, ...], ...]``. Every turn after the first
becomes one example: the turns before it are the context, the turn itself is the ``reference``.
The speaker of the last context turn is the ``user``, roles alternate backwards from it, and a
context is trimmed to an odd number of turns so that it also *starts* with ``user`` (many chat
templates refuse a conversation that opens with the assistant).

Needs the ``chatterbot-corpus`` package (``pip install rlreward[tasks]``).
"""

from __future__ import annotations

import functools
import importlib.util
import random
from pathlib import Path
from typing import Any, Literal

import datasets
import yaml

from rlreward.data.base import DataError, dedupe, train_eval_split

USER_LABEL = "User"
ASSISTANT_LABEL = "Assistant"


def chatterbot_dir(language: str = "english") -> Path:
    """The folder of chatterbot-corpus YAML files for ``language``."""
    spec = importlib.util.find_spec("chatterbot_corpus")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "the dialogue and QA tasks read the chatterbot corpus, which is not installed; "
            "run `pip install chatterbot-corpus` (or `pip install rlreward[tasks]`)."
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "data" / language
    if not folder.is_dir():
        raise DataError(
            f"the chatterbot corpus has no {language!r} folder at {folder}; pass language='english'."
        )
    return folder


def _clean_turn(turn: Any) -> str:
    """Strip a turn; keep its line breaks (code answers in ``coding.yml`` need them)."""
    if turn is None:
        return ""
    return "\n".join(line.rstrip() for line in str(turn).strip().splitlines())


def read_conversations(
    categories: list[str] | None = None, language: str = "english"
) -> list[tuple[str, list[str]]]:
    """The corpus conversations as ``(category, turns)``, files in name order.

    Args:
        categories: file stems to read (``["trivia", "science"]``); ``None`` reads every file.
        language: corpus language folder.

    A conversation that the YAML stores as one string ``"question - 'answer'"`` (a known slip in
    ``trivia.yml``) is split back into two turns; blank turns are dropped.
    """
    folder = chatterbot_dir(language)
    files = sorted(folder.glob("*.yml"))
    available = [f.stem for f in files]
    if categories is not None:
        unknown = sorted(set(categories) - set(available))
        if unknown:
            raise DataError(f"unknown chatterbot categories {unknown}; choose from {available}.")
        files = [f for f in files if f.stem in categories]
    return [(path.stem, list(turns)) for path in files for turns in _file_conversations(str(path))]


@functools.lru_cache(maxsize=64)
def _file_conversations(path: str) -> tuple[tuple[str, ...], ...]:
    """The cleaned conversations of one corpus file (cached: parsing the YAML dominates load time)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available
    data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=loader) or {}
    conversations = []
    for conversation in data.get("conversations") or []:
        if isinstance(conversation, str):
            question, sep, answer = conversation.rpartition(" - ")
            conversation = [question, answer.strip("'\"")] if sep else [conversation]
        turns = tuple(turn for turn in map(_clean_turn, conversation) if turn)
        if turns:
            conversations.append(turns)
    return tuple(conversations)


def context_messages(context: list[str]) -> list[dict[str, str]]:
    """Roles for context turns: the last is ``user``, alternating backwards."""
    n = len(context)
    return [
        {"role": "user" if (n - 1 - i) % 2 == 0 else "assistant", "content": turn}
        for i, turn in enumerate(context)
    ]


def render_transcript(messages: list[dict[str, str]], reply_cue: bool = False) -> str:
    """A chat as plain text.

    A single user message renders as its text alone; longer chats as ``User: ...`` /
    ``Assistant: ...`` lines. ``reply_cue=True`` always labels the lines and appends
    ``"\\nAssistant:"`` so that a reply can be concatenated after it (the standard preference format).

    Example:
        >>> render_transcript([{"role": "user", "content": "Hi"}])
        'Hi'
        >>> render_transcript([{"role": "user", "content": "Hi"}], reply_cue=True)
        'User: Hi\\nAssistant:'
    """
    if len(messages) == 1 and not reply_cue:
        return messages[0]["content"]
    labels = {"user": USER_LABEL, "assistant": ASSISTANT_LABEL}
    lines = [f"{labels.get(m['role'], m['role'])}: {m['content']}" for m in messages]
    if reply_cue:
        lines.append(f"{ASSISTANT_LABEL}:")
    return "\n".join(lines)


def dialogue_examples(
    categories: list[str] | None = None, max_context_turns: int = 3
) -> list[dict[str, Any]]:
    """Deduplicated (context -> reply) rows, with the index of their source conversation."""
    if max_context_turns < 1:
        raise DataError(f"max_context_turns={max_context_turns!r} must be at least 1; pass e.g. 3.")
    rows = []
    for conversation_id, (category, turns) in enumerate(read_conversations(categories)):
        for i in range(1, len(turns)):
            context = turns[max(0, i - max_context_turns) : i]
            if len(context) % 2 == 0:
                context = context[1:]
            messages = context_messages(context)
            rows.append(
                {
                    "prompt": render_transcript(messages),
                    "messages": messages,
                    "reference": turns[i],
                    "category": category,
                    "conversation_id": conversation_id,
                }
            )
    return dedupe(rows, key=("prompt", "reference"))


def load_dialogue(
    categories: list[str] | None = None,
    *,
    max_context_turns: int = 3,
    eval_size: int | float = 0.1,
    seed: int = 0,
) -> datasets.DatasetDict:
    """Chatterbot dialogue: the context and the real next reply, split into ``train`` and ``eval``.

    Args:
        categories: corpus files to use (``None``: all English files).
        max_context_turns: most context turns kept (trimmed to an odd count, see module docstring).
        eval_size: eval rows (int) or fraction (float).
        seed: split seed.

    Returns:
        ``DatasetDict(train, eval)`` with columns ``prompt`` (str: the user text, or ``User:`` /
        ``Assistant:`` lines for longer contexts), ``messages`` (chat ending with ``user``),
        ``reference`` (str), ``category`` (source file) and ``conversation_id``.
    """
    rows = dialogue_examples(categories, max_context_turns)
    return train_eval_split(datasets.Dataset.from_list(rows), eval_size, seed)


def reply_pool(rows: list[dict[str, Any]], needs: str) -> tuple[dict[str, set[str]], list[tuple[int, str]]]:
    """Every real reply to each context (case-folded) and the ``(conversation, reply)`` pool that
    "replies from elsewhere" are drawn from; ``needs`` starts the error when one conversation is all there is."""
    replies_by_prompt: dict[str, set[str]] = {}
    for row in rows:
        replies_by_prompt.setdefault(row["prompt"], set()).add(row["reference"].casefold())
    pool = [(row["conversation_id"], row["reference"]) for row in rows]
    if len({conversation for conversation, _ in pool}) < 2:
        raise DataError(f"{needs} replies from at least two conversations; pass more categories.")
    return replies_by_prompt, pool


def dialogue_preference_pairs(
    seed: int = 0,
    *,
    categories: list[str] | None = None,
    max_context_turns: int = 3,
    format: Literal["standard", "conversational"] = "standard",
    eval_size: int | float = 0.1,
) -> datasets.DatasetDict:
    """Preference pairs for TRL's ``RewardTrainer``: the real next reply beats a reply from elsewhere.

    ``chosen`` is the reply that followed the context; ``rejected`` is a reply drawn (seeded) from a
    *different* conversation, never equal to the chosen one nor to any other real reply to the same
    context. The columns follow TRL's explicit-prompt preference format, which ``RewardTrainer``
    tokenises as ``prompt + chosen`` and ``prompt + rejected``:

    * ``format="standard"`` (default; works with any tokenizer, no chat template needed):
      ``prompt`` is ``User: ...\\nAssistant:`` text and ``chosen`` / ``rejected`` start with a space.
    * ``format="conversational"``: ``prompt`` is a list of messages ending with ``user``;
      ``chosen`` / ``rejected`` are one-message lists ``[{"role": "assistant", "content": ...}]``,
      rendered by the reward model's chat template.

    No other columns are returned: TRL decides standard vs conversational from whichever of these
    columns it looks at first, so they must all have the same kind.

    Returns:
        ``DatasetDict(train, eval)`` with columns ``prompt``, ``chosen``, ``rejected``.
    """
    if format not in ("standard", "conversational"):
        raise DataError(
            f"format={format!r} is not a TRL preference format; pass 'standard' or 'conversational'."
        )
    rows = dialogue_examples(categories, max_context_turns)
    replies_by_prompt, pool = reply_pool(rows, "preference pairs need")
    rng = random.Random(seed)
    pairs = []
    for row in rows:
        taken = replies_by_prompt[row["prompt"]]
        for _ in range(1000):
            conversation, reply = pool[rng.randrange(len(pool))]
            if conversation != row["conversation_id"] and reply.casefold() not in taken:
                break
        else:  # pragma: no cover - only with a tiny, repetitive corpus
            continue
        if format == "standard":
            pairs.append(
                {
                    "prompt": render_transcript(row["messages"], reply_cue=True),
                    "chosen": " " + row["reference"],
                    "rejected": " " + reply,
                }
            )
        else:
            pairs.append(
                {
                    "prompt": row["messages"],
                    "chosen": [{"role": "assistant", "content": row["reference"]}],
                    "rejected": [{"role": "assistant", "content": reply}],
                }
            )
    return train_eval_split(datasets.Dataset.from_list(pairs), eval_size, seed)


def dialogue_feedback_log(
    seed: int = 0,
    *,
    categories: list[str] | None = None,
    max_context_turns: int = 3,
    shown: int = 4,
    flip: float = 0.1,
    format: Literal["standard", "conversational"] = "standard",
    eval_size: int | float = 0.1,
) -> datasets.DatasetDict:
    """A click log built from chatterbot dialogue, for a pointwise reward model (``--objective pointwise``).

    Each context is "shown" ``shown`` candidate replies: its real next reply and ``shown - 1`` replies
    drawn (seeded) from other conversations. ``feedback`` is 1 ("clicked") for the real reply and 0
    for the others, so positives are ``1 / shown`` of the rows (rare, as clicks are). In the
    ``train`` split a share ``flip`` of the labels is flipped, to mimic noisy clicks (accidental
    clicks, skipped good replies); ``eval`` keeps the true labels, so held-out AUC and calibration
    measure how well the model recovers the real signal. The split is by context: every row of one
    context is on the same side.

    Returns:
        ``DatasetDict(train, eval)`` with columns ``prompt``, ``completion`` (TRL's prompt-completion
        format: plain text or chat messages, as for :func:`dialogue_preference_pairs`), ``feedback``
        (float 0/1) and ``clean_feedback`` (the label before flipping).
    """
    if format not in ("standard", "conversational"):
        raise DataError(f"format={format!r} is not a TRL format; pass 'standard' or 'conversational'.")
    if shown < 2:
        raise DataError(
            f"shown={shown!r}: a context needs its real reply and at least one other; pass 2 or more."
        )
    if not 0 <= flip < 0.5:
        raise DataError(f"flip={flip!r} must be in [0, 0.5): more flips than that invert the labels.")
    rows = dialogue_examples(categories, max_context_turns)
    replies_by_prompt, pool = reply_pool(rows, "a feedback log needs")
    contexts = train_eval_split(datasets.Dataset.from_list(rows), eval_size, seed)
    rng = random.Random(seed)

    def shown_rows(row: dict[str, Any]) -> list[dict[str, Any]]:
        taken = set(replies_by_prompt[row["prompt"]])
        replies = [(row["reference"], 1.0)]
        for _ in range(1000 * shown):
            if len(replies) == shown:
                break
            conversation, reply = pool[rng.randrange(len(pool))]
            if conversation != row["conversation_id"] and reply.casefold() not in taken:
                taken.add(reply.casefold())
                replies.append((reply, 0.0))
        if format == "standard":
            prompt = render_transcript(row["messages"], reply_cue=True)
            return [{"prompt": prompt, "completion": " " + r, "clean_feedback": y} for r, y in replies]
        return [
            {
                "prompt": row["messages"],
                "completion": [{"role": "assistant", "content": r}],
                "clean_feedback": y,
            }
            for r, y in replies
        ]

    out = {}
    for split, noise in (("train", flip), ("eval", 0.0)):
        logged = [r for row in contexts[split] for r in shown_rows(row)]
        for r in logged:
            flipped = rng.random() < noise
            r["feedback"] = 1.0 - r["clean_feedback"] if flipped else r["clean_feedback"]
        out[split] = datasets.Dataset.from_list(logged).select_columns(
            ["prompt", "completion", "feedback", "clean_feedback"]
        )
    return datasets.DatasetDict(out)
