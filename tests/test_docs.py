"""The Python examples in the docs run: every ```python block of a page, in order, in one namespace.

A block right after a ``<!-- no-test -->`` line is skipped (examples that need a trained model or a
policy download). The namespace starts with ``tokenizer``: the tiny character tokenizer of conftest,
standing in for the policy's tokenizer.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
NO_TEST = "<!-- no-test -->"


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(line number, code)`` of each ```python block not preceded by a ``<!-- no-test -->`` line."""
    blocks = []
    for match in BLOCK.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        if before.strip() != NO_TEST:
            blocks.append((text.count("\n", 0, match.start()) + 1, match.group(1)))
    return blocks


def test_block_extraction_honours_no_test_marker():
    text = "x\n```python\na = 1\n```\n\n<!-- no-test -->\n```python\nb = 2\n```\n```bash\nc\n```\n"
    assert python_blocks(text) == [(2, "a = 1\n")]


@pytest.mark.parametrize("page", ["custom_rewards.md", "rewards.md", "quickstart.md"])
def test_python_examples_run(page, tokenizer, capsys):
    text = (DOCS / page).read_text(encoding="utf-8")
    blocks = python_blocks(text)
    assert blocks, f"docs/{page} has no tested python blocks"
    namespace = {"__name__": f"docs_{page.replace('.', '_')}", "tokenizer": tokenizer}
    for line, code in blocks:
        try:
            exec(compile(code, f"docs/{page}:{line}", "exec"), namespace)
        except Exception as err:
            pytest.fail(f"docs/{page}, block at line {line} failed: {type(err).__name__}: {err}")
