"""VADER sentiment reward: sequence scores, prefix-difference per-token rewards, caching, pickling."""

import pickle

import pytest
import torch
from text_tokenizers import char_tokenizer, encode, word_tokenizer
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from rlreward.rewards.base import evaluate_reward
from rlreward.rewards.lexicon import SentimentLexiconReward
from rlreward.rewards.shaping import with_per_token

VADER = SentimentIntensityAnalyzer()


def compound(text: str) -> float:
    return VADER.polarity_scores(text)["compound"]


TEXTS = [
    " I love this film, it is wonderful!",
    " Terrible acting and a boring, awful plot.",
    " It was not good",
    " fine",
]


def test_sequence_score_is_vader_compound_and_positive_beats_negative():
    reward = SentimentLexiconReward()
    assert reward.per_token is None
    out = reward.score(["p"] * 4, TEXTS, encode(char_tokenizer(), TEXTS))
    assert out.tokens is None
    torch.testing.assert_close(out.sequence, torch.tensor([compound(t) for t in TEXTS]))
    assert out.sequence[0] > 0.5 and out.sequence[1] < -0.5
    assert set(out.components) == {"pos", "neg", "neu"}
    torch.testing.assert_close(
        out.components["neg"], torch.tensor([VADER.polarity_scores(t)["neg"] for t in TEXTS])
    )


def test_negative_target_flips_the_sign():
    pos = SentimentLexiconReward()(["p"] * 4, TEXTS)
    neg = SentimentLexiconReward(target="negative")(["p"] * 4, TEXTS)
    assert neg == pytest.approx([-x for x in pos])
    with pytest.raises(ValueError, match="target"):
        SentimentLexiconReward(target="happy")


@pytest.mark.parametrize("kind", ["char", "word"])
def test_per_token_rewards_sum_to_sequence_score_and_pad_with_zero(kind):
    tokenizer = char_tokenizer() if kind == "char" else word_tokenizer(TEXTS)
    ids = encode(tokenizer, TEXTS)
    reward = SentimentLexiconReward(tokenizer=tokenizer)
    assert reward.per_token == "prefix_delta"
    out = evaluate_reward(reward, ["p"] * 4, TEXTS, ids)  # validates shapes against the inputs
    torch.testing.assert_close(out.sequence, torch.tensor([compound(t) for t in TEXTS]))
    torch.testing.assert_close(out.tokens.double().sum(1), out.sequence.double(), atol=1e-6, rtol=0)
    for i, row in enumerate(ids):
        assert out.tokens[i, len(row) :].abs().sum() == 0
    assert out.tokens.shape == (4, max(len(r) for r in ids))


def test_per_token_rewards_are_prefix_differences_of_compound():
    text = " I love it but the ending was awful"
    tokenizer = word_tokenizer([text])
    ids = encode(tokenizer, [text])
    words = [tokenizer.decode(ids[0][: j + 1]) for j in range(len(ids[0]))]
    phi = [0.0] + [compound(w) for w in words]
    expected = [phi[j + 1] - phi[j] for j in range(len(words))]
    out = SentimentLexiconReward(tokenizer=tokenizer).score(["p"], [text], ids)
    torch.testing.assert_close(out.tokens[0], torch.tensor(expected))
    love = words.index(" I love")
    assert out.tokens[0, love] > 0.5 and out.tokens[0, -1] < 0  # " love" is credited, " awful" blamed


def test_tokens_that_do_not_change_the_text_get_zero_and_each_text_is_scored_once():
    # A decode that drops id 0 (like a token holding half of a UTF-8 character).
    pieces = {0: "", 1: " good", 2: " movie", 3: "!"}
    reward = SentimentLexiconReward(decode=lambda ids: "".join(pieces[i] for i in ids))
    calls = []
    analyzer = SentimentIntensityAnalyzer()
    reward._analyzer = analyzer
    original = analyzer.polarity_scores
    analyzer.polarity_scores = lambda text: calls.append(text) or original(text)
    out = reward.score(["p", "p"], [" good movie!", " good movie!"], [[0, 1, 0, 2, 3], [1, 2, 3]])
    assert out.tokens[0, 0] == 0 and out.tokens[0, 2] == 0
    torch.testing.assert_close(out.tokens[0, [1, 3, 4]], out.tokens[1, :3])
    assert sorted(calls) == sorted({"", " good", " good movie", " good movie!"})


def test_include_prompt_scores_prompt_and_completion_and_still_sums():
    prompts, texts = ["The film was"], [" great"]
    tokenizer = word_tokenizer(texts)
    reward = SentimentLexiconReward(tokenizer=tokenizer, include_prompt=True)
    out = reward.score(prompts, texts, encode(tokenizer, texts))
    assert out.sequence[0].item() == pytest.approx(compound("The film was great"))
    assert out.tokens.sum().item() == pytest.approx(out.sequence[0].item(), abs=1e-6)


def test_chat_completions_and_trl_call_convention():
    completions = [
        [{"role": "assistant", "content": " I love it"}],
        [{"role": "assistant", "content": " I hate it"}],
    ]
    scores = SentimentLexiconReward()(
        prompts=[[{"role": "user", "content": "hi"}]] * 2, completions=completions
    )
    assert scores == pytest.approx([compound(" I love it"), compound(" I hate it")], abs=1e-6)
    tokenizer = word_tokenizer([" I love it", " I hate it"])
    ids = encode(tokenizer, [" I love it", " I hate it"])
    out = SentimentLexiconReward(tokenizer=tokenizer).score(["p"] * 2, completions, ids)
    torch.testing.assert_close(out.tokens.sum(1), torch.tensor(scores), atol=1e-6, rtol=0)


def test_per_token_needs_a_tokenizer():
    with pytest.raises(ValueError, match="tokenizer="):
        SentimentLexiconReward(per_token="prefix_delta")
    with pytest.raises(ValueError, match="not both"):
        SentimentLexiconReward(tokenizer=char_tokenizer(), decode=str)
    assert SentimentLexiconReward(tokenizer=char_tokenizer(), per_token=None).per_token is None


def test_generic_prefix_delta_path_matches_the_builtin_one():
    tokenizer = char_tokenizer()
    ids = encode(tokenizer, TEXTS)
    builtin = SentimentLexiconReward(tokenizer=tokenizer).score(["p"] * 4, TEXTS, ids)
    wrapped = with_per_token(SentimentLexiconReward(), "prefix_delta", decode=tokenizer.decode)
    torch.testing.assert_close(wrapped.score(["p"] * 4, TEXTS, ids).tokens, builtin.tokens)


def test_pickles_without_the_analyzer_and_scores_the_same():
    tokenizer = char_tokenizer()
    ids = encode(tokenizer, TEXTS)
    reward = SentimentLexiconReward(tokenizer=tokenizer)
    before = reward.score(["p"] * 4, TEXTS, ids)
    clone = pickle.loads(pickle.dumps(reward))
    assert clone._analyzer is None and clone._cache == {}
    after = clone.score(["p"] * 4, TEXTS, ids)
    torch.testing.assert_close(after.tokens, before.tokens)


def test_cache_is_bounded():
    reward = SentimentLexiconReward(cache_size=3)
    reward(["p"] * 4, TEXTS)
    assert len(reward._cache) <= 3
