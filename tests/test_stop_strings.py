"""stop_strings: completions end at the first token whose text contains one; the few-shot translation format."""

from types import SimpleNamespace

import pytest
from conftest import PRINTABLE, CountToken, char_tokenizer, tiny_config, tiny_llama
from datasets import Dataset

from rlreward.tasks.translation import TranslationArguments, check, load_data
from rlreward.trainers import PPOConfig, PPOTrainer
from rlreward.trainers.setup import eos_token_ids

VOWELS = ["a", "e", "i", "o", "u"]


def test_every_token_containing_a_stop_string_ends_a_completion():
    tokenizer = char_tokenizer(PRINTABLE + ["\n\n", "x\ny"])
    model = tiny_llama(len(tokenizer))
    ids = eos_token_ids(model, tokenizer, ["\n"])
    vocab = tokenizer.get_vocab()
    assert ids == [1, *sorted(vocab[t] for t in ("\n", "\n\n", "x\ny"))]  # the model's EOS stays first
    assert eos_token_ids(model, tokenizer) == [1]
    with pytest.raises(ValueError, match="no token of the tokenizer contains one"):
        eos_token_ids(model, tokenizer, ["\u00e9t\u00e9"])


def test_stop_strings_read_shell_escapes_and_reject_the_empty_string(tmp_path):
    assert tiny_config(PPOConfig, tmp_path, stop_strings="\\n").stop_strings == ["\n"]
    assert tiny_config(PPOConfig, tmp_path, stop_strings=["\\t", "END"]).stop_strings == ["\t", "END"]
    with pytest.raises(ValueError, match="empty string"):
        tiny_config(PPOConfig, tmp_path, stop_strings=[""])


def test_sampling_stops_at_the_first_stop_string_and_is_otherwise_unchanged(tmp_path):
    """Same seeds: a stopped completion is the unstopped one cut after its first stop character."""
    tokenizer = char_tokenizer(PRINTABLE)
    prompts = Dataset.from_dict({"prompt": ["hello", "the cat", "zz top", "abc"] * 2})
    completions = {}
    for stops in (None, VOWELS):
        config = tiny_config(PPOConfig, tmp_path, max_new_tokens=40, stop_strings=stops)
        trainer = PPOTrainer(tiny_llama(len(tokenizer)), CountToken(4), prompts, config, tokenizer=tokenizer)
        completions[stops is None] = [
            r["completion"] for r in trainer.evaluate(prompts, temperature=1.0).rows
        ]
    stopped_early = 0
    for full, stopped in zip(completions[True], completions[False], strict=True):
        cut = next((i + 1 for i, ch in enumerate(full) if ch in VOWELS), len(full))
        assert stopped == full[:cut]
        stopped_early += len(stopped) < len(full)
    assert stopped_early >= 2  # the test exercises the stop, not only its absence


def translation(fewshot: int):
    return load_data(
        SimpleNamespace(dataset=None, eval_size=20), TranslationArguments(language="fr", fewshot=fewshot)
    )


def test_fewshot_translation_prompts_show_training_pairs_and_drop_them_from_training():
    plain, shots = translation(0), translation(2)
    assert len(shots["train"]) == len(plain["train"]) - 2 and len(shots["eval"]) == len(plain["eval"])
    first, second = plain["train"][0], plain["train"][1]
    row = shots["eval"][0]
    assert row["prompt"] == (
        f"English: {first['source']}\nFrench: {first['reference']}\n\n"
        f"English: {second['source']}\nFrench: {second['reference']}\n\n"
        f"English: {row['source']}\nFrench:"
    )
    assert row["reference"] == plain["eval"][0]["reference"]  # the same held-out items
    assert first["source"] not in shots["train"]["source"]
    assert plain["eval"][0]["prompt"] == f"Translate to French: {plain['eval'][0]['source']}"


def test_fewshot_translation_names_the_settings_it_needs(tmp_path):
    options = TranslationArguments(language="fr", fewshot=3)
    with pytest.raises(ValueError, match="--stop_strings"):
        check(None, options, tiny_config(PPOConfig, tmp_path, use_chat_template=False))
    with pytest.raises(ValueError, match="--use_chat_template false"):
        check(None, options, tiny_config(PPOConfig, tmp_path, stop_strings="\\n", use_chat_template=True))
    check(None, options, tiny_config(PPOConfig, tmp_path, stop_strings="\\n"))  # tiny_config: no template
    with pytest.raises(ValueError, match="lower it"):
        translation(10_000)
