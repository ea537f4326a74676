"""Task data as ``datasets.Dataset``: sentiment prompts, dialogue, QA, translation and code tasks.

Columns follow one convention (``prompt``, ``messages``, ``reference``, ``answers``, ``tests``...),
described in :mod:`rlreward.data.base` and ``docs/data.md``. Wrong input raises :class:`DataError`
with one sentence naming the input and the fix.
"""

from rlreward.data.base import (
    DataError,
    check_prompts,
    load_hub,
    read_local_file,
    to_prompt_column,
    train_eval_split,
    validate_columns,
)
from rlreward.data.code import CodeTask, code_tasks, load_code_tasks, load_humaneval, program
from rlreward.data.dialogue import (
    dialogue_feedback_log,
    dialogue_preference_pairs,
    load_dialogue,
    read_conversations,
    render_transcript,
)
from rlreward.data.prompts import BUILTIN_TASKS, load_prompts
from rlreward.data.qa import load_qa
from rlreward.data.sentiment import load_sentiment_prompts, read_review_openings
from rlreward.data.translation import load_translation, parse_po, strip_placeholders, translation_pairs

__all__ = [
    "BUILTIN_TASKS",
    "CodeTask",
    "DataError",
    "check_prompts",
    "code_tasks",
    "dialogue_feedback_log",
    "dialogue_preference_pairs",
    "load_code_tasks",
    "load_dialogue",
    "load_hub",
    "load_humaneval",
    "load_prompts",
    "load_qa",
    "load_sentiment_prompts",
    "load_translation",
    "parse_po",
    "program",
    "read_conversations",
    "read_local_file",
    "read_review_openings",
    "render_transcript",
    "strip_placeholders",
    "to_prompt_column",
    "train_eval_split",
    "translation_pairs",
    "validate_columns",
]
