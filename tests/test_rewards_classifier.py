"""ClassifierReward: sequence scores, single-pass prefix scores, attention credit, tokenizer alignment."""

from __future__ import annotations

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    GPT2Config,
    GPT2ForSequenceClassification,
    LlamaConfig,
    LlamaForCausalLM,
    LlamaForSequenceClassification,
    LlamaModel,
    PreTrainedTokenizerFast,
)

from rlreward.rewards.base import evaluate_reward
from rlreward.rewards.classifier import (
    ClassifierReward,
    map_potentials,
    overlap_weights,
    policy_token_char_ends,
)
from rlreward.rewards.shaping import DensifiedReward

CORPUS = [
    "the movie was great and fun to watch",
    "the film was bad and boring , i left early",
    "a great cast but a weak plot !",
    "review : i loved it , café naïve ok",
]
PROMPTS = ["review :", "the film", "a", "i"]
COMPLETIONS = ["the movie was great", "was bad and boring , i left", "great cast", "loved it , café ok"]


def word_tokenizer(template: str) -> PreTrainedTokenizerFast:
    """Word-level tokenizer; ``template`` is e.g. ``"[CLS] $A [SEP]"`` (encoder) or ``"[BOS] $A"`` (causal)."""
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[BOS]"]
    tok.train_from_iterator(CORPUS, trainers.WordLevelTrainer(special_tokens=specials))
    tok.post_processor = processors.TemplateProcessing(
        single=template, special_tokens=[(s, tok.token_to_id(s)) for s in specials]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]"
    )


def byte_tokenizer() -> PreTrainedTokenizerFast:
    """Byte-level BPE without merges: one token per byte, so one per character for ASCII text."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    trainer = trainers.BpeTrainer(
        vocab_size=len(alphabet) + 2, special_tokens=["<pad>", "<eos>"], initial_alphabet=alphabet
    )
    tok.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>")


def llama(tokenizer, num_labels=2, seed=0, **config) -> LlamaForSequenceClassification:
    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=len(tokenizer.get_vocab()),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=64,
        num_labels=num_labels,
        pad_token_id=tokenizer.pad_token_id,
        initializer_range=0.3,  # logits of order one, so 1e-5 tolerances discriminate
        **config,
    )
    return LlamaForSequenceClassification(cfg).eval()


def gpt2(tokenizer, seed=0) -> GPT2ForSequenceClassification:
    torch.manual_seed(seed)
    cfg = GPT2Config(
        vocab_size=len(tokenizer.get_vocab()),
        n_embd=32,
        n_layer=2,
        n_head=4,
        n_positions=128,
        num_labels=2,
        pad_token_id=tokenizer.pad_token_id,
        initializer_range=0.3,
        bos_token_id=None,
        eos_token_id=None,
    )
    return GPT2ForSequenceClassification(cfg).eval()


def bert(tokenizer, seed=0) -> BertForSequenceClassification:
    torch.manual_seed(seed)
    cfg = BertConfig(
        vocab_size=len(tokenizer.get_vocab()),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        num_labels=2,
        pad_token_id=tokenizer.pad_token_id,
        initializer_range=0.3,
    )
    return BertForSequenceClassification(cfg).eval()


@pytest.fixture(scope="module")
def causal_tok():
    return word_tokenizer("[BOS] $A")


@pytest.fixture(scope="module")
def encoder_tok():
    return word_tokenizer("[CLS] $A [SEP]")


def ids_of(tokenizer, texts):
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


def model_score(model, ids, label=1) -> float:
    """The model's own pooled logit for one unpadded sequence."""
    with torch.no_grad():
        return model(input_ids=torch.tensor([ids])).logits[0, label].item()


def assert_sums_to_sequence(out, completion_ids):
    lengths = [len(c) for c in completion_ids]
    assert out.tokens.shape == (len(lengths), max(lengths))
    for i, n in enumerate(lengths):
        assert out.tokens[i, n:].abs().sum() == 0  # padding
    torch.testing.assert_close(out.tokens.sum(1), out.sequence, atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------- sequence scores


@pytest.mark.parametrize("kind", ["causal", "encoder"])
def test_sequence_score_is_the_models_pooled_logit(kind, causal_tok, encoder_tok):
    tok = causal_tok if kind == "causal" else encoder_tok
    model = llama(tok) if kind == "causal" else bert(tok)
    reward = ClassifierReward(model, tok, label=1, per_token=None, batch_size=3)
    out = reward.score(PROMPTS, COMPLETIONS, ids_of(tok, COMPLETIONS))
    expected = [model_score(model, tok(c)["input_ids"]) for c in COMPLETIONS]
    torch.testing.assert_close(out.sequence, torch.tensor(expected), atol=1e-5, rtol=1e-5)
    assert out.tokens is None
    # TRL's convention: calling the reward returns the sequence scores, with or without completion_ids.
    assert reward(PROMPTS, COMPLETIONS) == pytest.approx(expected, abs=1e-5)


def test_include_prompt_scores_prompt_then_completion(causal_tok):
    model = llama(causal_tok)
    reward = ClassifierReward(model, causal_tok, label=1, include_prompt=True)
    out = reward.score(PROMPTS, COMPLETIONS, ids_of(causal_tok, COMPLETIONS))
    expected = [model_score(model, causal_tok(f"{p} {c}")["input_ids"]) for p, c in zip(PROMPTS, COMPLETIONS)]
    torch.testing.assert_close(out.sequence, torch.tensor(expected), atol=1e-5, rtol=1e-5)
    # a chat prompt is scored as its joined text
    chat = [[{"role": "user", "content": p}] for p in PROMPTS]
    torch.testing.assert_close(
        reward.score(chat, COMPLETIONS, ids_of(causal_tok, COMPLETIONS)).sequence, out.sequence
    )


# ---------------------------------------------------------------- prefix_delta


@pytest.mark.parametrize("family", ["llama", "gpt2"])
@pytest.mark.parametrize("include_prompt", [False, True])
def test_single_pass_prefix_scores_equal_separate_prefix_scoring(family, include_prompt, causal_tok):
    model = llama(causal_tok) if family == "llama" else gpt2(causal_tok)
    reward = ClassifierReward(model, causal_tok, label=1, include_prompt=include_prompt, batch_size=4)
    completion_ids = ids_of(causal_tok, COMPLETIONS)
    out = reward.score(PROMPTS, COMPLETIONS, completion_ids)
    assert_sums_to_sequence(out, completion_ids)
    phi = out.tokens.cumsum(1)  # potentials back from the deltas
    lead = causal_tok("x")["input_ids"][:1]  # [BOS]
    for i, ids in enumerate(completion_ids):
        context = lead + (ids_of(causal_tok, [PROMPTS[i]])[0] if include_prompt else [])
        expected = [model_score(model, context + ids[: j + 1]) for j in range(len(ids))]
        torch.testing.assert_close(phi[i, : len(ids)], torch.tensor(expected), atol=1e-5, rtol=1e-5)


def test_encoder_prefix_delta_rescoring(encoder_tok):
    model = bert(encoder_tok)
    reward = ClassifierReward(model, encoder_tok, label=1, batch_size=5)
    assert not reward.causal
    completion_ids = ids_of(encoder_tok, COMPLETIONS)
    out = reward.score(PROMPTS, COMPLETIONS, completion_ids)
    assert_sums_to_sequence(out, completion_ids)
    cls, sep = encoder_tok.cls_token_id, encoder_tok.sep_token_id
    phi = out.tokens.cumsum(1)
    for i, ids in enumerate(completion_ids):
        expected = [model_score(model, [cls, *ids[: j + 1], sep]) for j in range(len(ids))]
        torch.testing.assert_close(phi[i, : len(ids)], torch.tensor(expected), atol=1e-5, rtol=1e-5)


class ShiftedPooling(LlamaForSequenceClassification):
    """A causal classifier whose pooled logits are not its score head's output: no single pass."""

    def forward(self, *args, **kwargs):
        out = super().forward(*args, **kwargs)
        out.logits = out.logits + 1.0
        return out


def test_causal_classifier_that_pools_differently_falls_back_to_rescoring(causal_tok):
    model = llama(causal_tok)
    shifted = ShiftedPooling(model.config).eval()
    shifted.load_state_dict(model.state_dict())
    reward = ClassifierReward(shifted, causal_tok, label=1)
    completion_ids = ids_of(causal_tok, COMPLETIONS)
    with pytest.warns(UserWarning, match="re-scoring every prefix"):
        out = reward.score(PROMPTS, COMPLETIONS, completion_ids)
    assert not reward.single_pass
    assert_sums_to_sequence(out, completion_ids)
    bos, phi = causal_tok.convert_tokens_to_ids("[BOS]"), out.tokens.cumsum(1)
    for i, ids in enumerate(completion_ids):
        expected = [model_score(shifted, [bos, *ids[: j + 1]]) for j in range(len(ids))]
        torch.testing.assert_close(phi[i, : len(ids)], torch.tensor(expected), atol=1e-5, rtol=1e-5)


def test_padding_rows_and_empty_completion_are_zero(causal_tok):
    reward = ClassifierReward(llama(causal_tok), causal_tok, label=1)
    completions = ["the movie was great and fun", "", "bad"]
    completion_ids = ids_of(causal_tok, completions)
    for mode in ("prefix_delta", "attention"):
        out = evaluate_reward(reward.with_per_token(mode), ["a"] * 3, completions, completion_ids)
        assert out.tokens.shape == (3, 6)
        assert out.tokens[1].abs().sum() == 0
        assert out.tokens[2, 1:].abs().sum() == 0 and out.tokens[2, 0] == out.sequence[2]


def test_truncation_keeps_sums_exact(causal_tok):
    model = llama(causal_tok)
    reward = ClassifierReward(model, causal_tok, label=1, include_prompt=True, max_length=4)
    completion_ids = ids_of(causal_tok, COMPLETIONS)
    out = reward.score(PROMPTS, COMPLETIONS, completion_ids)
    assert_sums_to_sequence(out, completion_ids)
    # [BOS] + the first three completion tokens: the prompt went first, then the completion's tail
    bos = causal_tok.convert_tokens_to_ids("[BOS]")
    assert out.sequence[1].item() == pytest.approx(
        model_score(model, [bos, *completion_ids[1][:3]]), abs=1e-5
    )


# ---------------------------------------------------------------- attention


@pytest.mark.parametrize("kind", ["causal", "encoder"])
def test_attention_rewards_are_the_pooled_positions_attention(kind, causal_tok, encoder_tok):
    tok = causal_tok if kind == "causal" else encoder_tok
    model = llama(tok) if kind == "causal" else bert(tok)
    reward = ClassifierReward(model, tok, label=1, per_token="attention", include_prompt=True)
    completion_ids = ids_of(tok, COMPLETIONS)
    out = reward.score(PROMPTS, COMPLETIONS, completion_ids)
    assert_sums_to_sequence(out, completion_ids)
    proportions = out.tokens / out.sequence[:, None]
    assert (proportions >= 0).all()
    assert model.config._attn_implementation == "sdpa"  # switched to eager only while scoring
    # by hand for sample 0: last-layer attention (mean over heads) from the pooled token over the completion
    ids = tok(f"{PROMPTS[0]} {COMPLETIONS[0]}")["input_ids"]
    n, lo = len(completion_ids[0]), len(ids_of(tok, [PROMPTS[0]])[0]) + 1
    model.set_attn_implementation("eager")
    with torch.no_grad():
        attention = model(torch.tensor([ids]), output_attentions=True).attentions[-1][0].mean(0)
    model.set_attn_implementation("sdpa")
    query = len(ids) - 1 if kind == "causal" else 0
    weights = attention[query, lo : lo + n]
    torch.testing.assert_close(proportions[0, :n], weights / weights.sum(), atol=1e-5, rtol=1e-4)


# ---------------------------------------------------------------- a different policy tokenizer


def test_policy_token_char_ends_waits_for_whole_characters():
    policy = byte_tokenizer()
    ids = policy("café ok", add_special_tokens=False)["input_ids"]
    assert len(ids) == 8  # "é" is two bytes
    ends = policy_token_char_ends([ids], lambda x: policy.decode(x, skip_special_tokens=True))
    assert ends == [[1, 2, 3, 3, 4, 5, 6, 7]]


def test_map_potentials_and_overlap_weights_by_hand():
    # reward tokens "ab" [0,2) and "cd" [3,5); policy tokens end at 1, 2, 4, 5
    spans = torch.tensor([[0, 2], [3, 5]])
    ends = torch.tensor([1, 2, 4, 5])
    assert map_potentials(spans[:, 1], ends).tolist() == [-1, 0, 0, 1]
    expected = torch.tensor([[0.5, 0.0], [0.5, 0.0], [0.0, 0.5], [0.0, 0.5]])
    torch.testing.assert_close(overlap_weights(spans, ends), expected)
    # a zero-width reward token goes to the policy token that completes it
    torch.testing.assert_close(
        overlap_weights(torch.tensor([[2, 2]]), ends), torch.tensor([[0.0], [1.0], [0.0], [0.0]])
    )


def completing_positions(text: str, reward_tok) -> set[int]:
    """Byte positions (policy tokens) that end a reward token, for the byte-level policy."""
    offsets = reward_tok(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    return {len(text[:end].encode()) - 1 for _, end in offsets}


@pytest.mark.parametrize("kind", ["causal", "encoder"])
def test_different_tokenizers_align_through_characters(kind, causal_tok, encoder_tok):
    reward_tok = causal_tok if kind == "causal" else encoder_tok
    model = llama(reward_tok) if kind == "causal" else bert(reward_tok)
    policy = byte_tokenizer()
    completion_ids = ids_of(policy, COMPLETIONS)
    reward = ClassifierReward(model, reward_tok, label=1, policy_tokenizer=policy)
    assert not reward.same_tokenizer
    out = evaluate_reward(reward, PROMPTS, COMPLETIONS, completion_ids)
    assert_sums_to_sequence(out, completion_ids)
    for i, text in enumerate(COMPLETIONS):
        nonzero = set(out.tokens[i].nonzero().flatten().tolist())
        assert nonzero and nonzero <= completing_positions(text, reward_tok)
    # "café" in "loved it , café ok" is bytes 11..15 ("é" is 14, 15): complete only at the second "é" byte
    assert 14 not in completing_positions(COMPLETIONS[3], reward_tok)
    assert 15 in completing_positions(COMPLETIONS[3], reward_tok)
    assert out.tokens[3, 14] == 0 and out.tokens[3, 15] != 0
    # potentials at word ends equal scoring the reward-token prefix
    words = ids_of(reward_tok, [COMPLETIONS[0]])[0]
    lead, tail = (reward_tok("x")["input_ids"][:1], [] if kind == "causal" else [reward_tok.sep_token_id])
    phi = out.tokens[0].cumsum(0)
    assert phi[len("the movie") - 1].item() == pytest.approx(
        model_score(model, lead + words[:2] + tail), abs=1e-5
    )
    # sequence score: the reward model's own tokenization of the text
    assert out.sequence[0].item() == pytest.approx(
        model_score(model, reward_tok(COMPLETIONS[0])["input_ids"]), abs=1e-5
    )

    att = evaluate_reward(reward.with_per_token("attention"), PROMPTS, COMPLETIONS, completion_ids)
    assert_sums_to_sequence(att, completion_ids)
    assert (att.tokens / att.sequence[:, None] >= 0).all()


def test_same_vocabulary_policy_tokenizer_takes_the_fast_path(causal_tok):
    reward = ClassifierReward(llama(causal_tok), causal_tok, policy_tokenizer=word_tokenizer("[BOS] $A"))
    assert reward.same_tokenizer


# ---------------------------------------------------------------- labels, outputs, modes


def test_label_by_name_and_probability_output(causal_tok):
    model = llama(causal_tok, num_labels=3)
    model.config.id2label = {0: "negative", 1: "neutral", 2: "positive"}
    model.config.label2id = {"negative": 0, "neutral": 1, "positive": 2}
    completion_ids = ids_of(causal_tok, COMPLETIONS)
    by_name = ClassifierReward(model, causal_tok, label="positive").score(
        PROMPTS, COMPLETIONS, completion_ids
    )
    by_index = ClassifierReward(model, causal_tok, label=2).score(PROMPTS, COMPLETIONS, completion_ids)
    torch.testing.assert_close(by_name.sequence, by_index.sequence)
    prob = ClassifierReward(model, causal_tok, label="positive", output="probability")
    out = prob.score(PROMPTS, COMPLETIONS, completion_ids)
    assert ((out.sequence > 0) & (out.sequence < 1)).all()
    logits = [model(torch.tensor([causal_tok(c)["input_ids"]])).logits[0] for c in COMPLETIONS]
    expected = torch.stack([torch.softmax(x, -1)[2] for x in logits]).detach()
    torch.testing.assert_close(out.sequence, expected, atol=1e-5, rtol=1e-5)
    assert_sums_to_sequence(out, completion_ids)


def test_single_logit_probability_is_sigmoid(causal_tok):
    model = llama(causal_tok, num_labels=1)
    completion_ids = ids_of(causal_tok, COMPLETIONS)
    logit = ClassifierReward(model, causal_tok).score(PROMPTS, COMPLETIONS, completion_ids)
    prob = ClassifierReward(model, causal_tok, output="probability").score(
        PROMPTS, COMPLETIONS, completion_ids
    )
    torch.testing.assert_close(prob.sequence, torch.sigmoid(logit.sequence))
    torch.testing.assert_close(prob.tokens.cumsum(1)[0, :2], torch.sigmoid(logit.tokens.cumsum(1)[0, :2]))


def test_with_per_token_modes_share_the_model(causal_tok):
    reward = ClassifierReward(llama(causal_tok), causal_tok, per_token=None)
    completion_ids = ids_of(causal_tok, COMPLETIONS)
    attention = reward.with_per_token("attention")
    assert attention.per_token == "attention" and attention.model is reward.model and reward.per_token is None
    terminal = reward.with_per_token("terminal")
    assert isinstance(terminal, DensifiedReward)
    out = terminal.score(PROMPTS, COMPLETIONS, completion_ids)
    assert out.tokens[0, len(completion_ids[0]) - 1] == out.sequence[0]
    assert_sums_to_sequence(out, completion_ids)
    with pytest.raises(ValueError, match="Unknown per-token strategy"):
        reward.with_per_token("shapley")


def test_scoring_runs_in_eval_mode_and_restores_training(encoder_tok):
    model = bert(encoder_tok)
    model.train()
    reward = ClassifierReward(model, encoder_tok, label=1)
    completion_ids = ids_of(encoder_tok, COMPLETIONS)
    first = reward.score(PROMPTS, COMPLETIONS, completion_ids)
    second = reward.score(PROMPTS, COMPLETIONS, completion_ids)
    torch.testing.assert_close(first.tokens, second.tokens)
    assert model.training


# ---------------------------------------------------------------- errors


def test_unknown_label_lists_the_labels(causal_tok):
    model = llama(causal_tok)
    model.config.id2label = {0: "bad", 1: "good"}
    model.config.label2id = {"bad": 0, "good": 1}
    with pytest.raises(ValueError, match=r"Unknown label 'great'.*'bad'.*'good'"):
        ClassifierReward(model, causal_tok, label="great")
    with pytest.raises(ValueError, match="out of range"):
        ClassifierReward(model, causal_tok, label=2)


@pytest.mark.parametrize("cls", [LlamaForCausalLM, LlamaModel])
def test_model_without_classification_head(cls, causal_tok):
    config = LlamaConfig(
        vocab_size=16, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
    )
    with pytest.raises(ValueError, match="AutoModelForSequenceClassification"):
        ClassifierReward(cls(config), causal_tok)


def test_input_errors(causal_tok, tmp_path):
    model = llama(causal_tok)
    reward = ClassifierReward(model, causal_tok)
    completion_ids = ids_of(causal_tok, COMPLETIONS)
    with pytest.raises(ValueError, match="one prompt and one id list per completion"):
        reward.score(PROMPTS[:2], COMPLETIONS, completion_ids)
    with pytest.raises(ValueError, match="one prompt and one id list per completion"):
        reward.score(PROMPTS, COMPLETIONS, completion_ids[:3])
    with pytest.raises(ValueError, match="batch_size"):
        ClassifierReward(model, causal_tok, batch_size=0)
    with pytest.raises(ValueError, match="with_per_token"):
        ClassifierReward(model, causal_tok, per_token="terminal")
    with pytest.raises(ValueError, match="tokenizer="):
        ClassifierReward(model)
    with pytest.raises(ValueError, match="Could not load reward model"):
        ClassifierReward(str(tmp_path / "missing"))
    # ids from another tokenizer without policy_tokenizer= are caught, not silently misaligned
    policy_ids = ids_of(byte_tokenizer(), COMPLETIONS)
    with pytest.raises(ValueError, match="policy_tokenizer="):
        reward.score(PROMPTS, COMPLETIONS, policy_ids)
