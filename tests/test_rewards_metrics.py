"""Metric rewards: parity with sacrebleu, SQuAD EM/F1 by hand, penalties by hand, per-token sums, errors."""

import pickle
import sys
import textwrap
import types

import pytest
import torch
from sacrebleu.metrics import BLEU, CHRF
from text_tokenizers import char_tokenizer, encode, word_tokenizer

from rlreward.rewards.base import RewardError, evaluate_reward
from rlreward.rewards.metrics import (
    BLEUReward,
    ChrFReward,
    ExactMatchReward,
    LengthPenalty,
    MetricReward,
    RepetitionPenalty,
    TokenF1Reward,
    corpus_bleu,
    corpus_chrf,
    distinct_n,
    exact_match,
    normalize_answer,
    repetition_rate,
    sentence_bleu,
    sentence_chrf,
    token_f1,
)

HYPS = ["The cat sat on the mat.", "A dog barked loudly at night", "hello"]
REFS = [
    ["The cat is sitting on the mat."],
    ["The dog barked at night.", "A dog was barking loudly tonight."],
    ["hi"],
]


# ---- pure functions ------------------------------------------------------------------------------


def test_sentence_scores_match_sacrebleu():
    chrf, chrfpp, bleu = CHRF(), CHRF(word_order=2), BLEU(effective_order=True)
    for hyp, refs in zip(HYPS, REFS):
        assert sentence_chrf(hyp, refs) == pytest.approx(chrf.sentence_score(hyp, refs).score)
        assert sentence_chrf(hyp, refs, word_order=2) == pytest.approx(chrfpp.sentence_score(hyp, refs).score)
        assert sentence_bleu(hyp, refs) == pytest.approx(bleu.sentence_score(hyp, refs).score)
    # The cached reference statistics give the same numbers on every prefix.
    hyp, refs = HYPS[1], REFS[1]
    for k in range(len(hyp) + 1):
        assert sentence_chrf(hyp[:k], refs) == pytest.approx(chrf.sentence_score(hyp[:k], refs).score)
        assert sentence_bleu(hyp[:k], refs) == pytest.approx(bleu.sentence_score(hyp[:k], refs).score)
    assert sentence_chrf("same", "same") == pytest.approx(100.0)


def test_corpus_scores_match_sacrebleu_with_variable_reference_counts():
    streams = [[r[0] for r in REFS], [r[1] if len(r) > 1 else None for r in REFS]]
    assert corpus_chrf(HYPS, REFS) == pytest.approx(CHRF().corpus_score(HYPS, streams).score)
    assert corpus_bleu(HYPS, REFS) == pytest.approx(BLEU().corpus_score(HYPS, streams).score)
    assert corpus_bleu(["a b c d"], ["a b c d"]) == pytest.approx(100.0)
    with pytest.raises(ValueError, match="3 hypotheses and 2 references"):
        corpus_chrf(HYPS, REFS[:2])
    with pytest.raises(ValueError, match="refs"):
        sentence_bleu("x", [])


def test_normalize_answer_and_exact_match():
    assert normalize_answer("  The Eiffel-Tower, in PARIS!  ") == "eiffeltower in paris"
    assert normalize_answer("an apple a day") == "apple day"
    assert normalize_answer("Theatre") == "theatre"  # articles only as whole words
    assert exact_match("the Louvre.", "Louvre") == 1.0
    assert exact_match("Louvre museum", ["Louvre", "the Louvre Museum"]) == 1.0
    assert exact_match("Louvre museum", "Louvre") == 0.0
    assert exact_match("", []) == 1.0  # SQuAD v2: no answer, and none given


def test_token_f1_hand_computed():
    # pred -> "cat sat on mat", gold -> "cat sat on hat": 3 common of 4 and 4, F1 = 0.75
    assert token_f1("The cat sat on a mat", "A cat sat on the hat!") == pytest.approx(0.75)
    # pred "paris france" vs "paris": P = 1/2, R = 1 -> 2/3; vs "paris france": 1.0 (max over golds)
    assert token_f1("Paris, France", ["Paris"]) == pytest.approx(2 / 3)
    assert token_f1("Paris, France", ["Paris", "Paris France"]) == pytest.approx(1.0)
    # repeated words count by multiplicity: pred "a a b" -> "b" (article dropped); use non-articles
    assert token_f1("x x y", "x y y") == pytest.approx(2 / 3)  # common {x:1, y:1} = 2, P = R = 2/3
    assert token_f1("nothing", "else") == 0.0
    assert token_f1("the", "") == 1.0  # both normalise to nothing
    assert token_f1("word", "") == 0.0
    assert token_f1("Paris", {"text": ["Paris"], "answer_start": [0]}) == 1.0


def test_distinct_n_and_repetition_rate():
    assert distinct_n(["a b a b", "c"], n=1) == pytest.approx(3 / 5)
    assert distinct_n(["a b a b"], n=2) == pytest.approx(2 / 3)
    assert distinct_n(["a"], n=2) == 0.0
    assert repetition_rate("a b c a b c", n=3) == pytest.approx(1 / 4)  # (a b c) again among 4 trigrams
    assert repetition_rate([1, 1, 1, 1], n=1) == pytest.approx(3 / 4)
    assert repetition_rate("a b", n=3) == 0.0
    with pytest.raises(ValueError, match="n must be"):
        distinct_n(["a"], n=0)


# ---- reference rewards ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls, metric", [(ChrFReward, sentence_chrf), (BLEUReward, sentence_bleu)])
def test_reference_reward_sequence_scores_are_the_metric_over_100(cls, metric):
    out = cls().score(["p"] * 3, HYPS, [[0]] * 3, reference=REFS)
    assert out.tokens is None
    torch.testing.assert_close(out.sequence, torch.tensor([metric(h, r) / 100 for h, r in zip(HYPS, REFS)]))
    single = cls()(["p"], ["the cat sat on the mat"], reference=["the cat sat on the mat"])  # a plain string
    assert single == pytest.approx([1.0])


@pytest.mark.parametrize("cls", [ChrFReward, BLEUReward])
@pytest.mark.parametrize("kind", ["char", "word"])
def test_reference_reward_per_token_sums_to_sequence_and_pads_with_zero(cls, kind):
    tokenizer = char_tokenizer() if kind == "char" else word_tokenizer(HYPS)
    ids = encode(tokenizer, HYPS)
    reward = cls(tokenizer=tokenizer)
    assert reward.per_token == "prefix_delta"
    out = evaluate_reward(reward, ["p"] * 3, HYPS, ids, reference=REFS)
    torch.testing.assert_close(out.sequence, cls().score(["p"] * 3, HYPS, ids, reference=REFS).sequence)
    torch.testing.assert_close(out.tokens.double().sum(1), out.sequence.double(), atol=1e-6, rtol=0)
    for i, row in enumerate(ids):
        assert out.tokens[i, len(row) :].abs().sum() == 0


def test_chrf_per_token_rewards_are_prefix_differences():
    text, ref = " the cat sat", "the cat sat on the mat"
    tokenizer = word_tokenizer([text])
    ids = encode(tokenizer, [text])[0]
    phi = [0.0] + [sentence_chrf(tokenizer.decode(ids[: j + 1]), ref) / 100 for j in range(len(ids))]
    out = ChrFReward(tokenizer=tokenizer).score(["p"], [text], [ids], reference=[ref])
    torch.testing.assert_close(out.tokens[0], torch.tensor([b - a for a, b in zip(phi, phi[1:])]))
    strided = ChrFReward(tokenizer=tokenizer, stride=2).score(["p"], [text], [ids], reference=[ref])
    assert strided.tokens[0, 0] == 0 and strided.tokens.sum().item() == pytest.approx(phi[-1], abs=1e-6)


def test_reference_column_errors_name_the_column_and_what_was_passed():
    reward = ChrFReward(reference_column="target")
    with pytest.raises(RewardError, match=r"column 'target'.*\['reference', 'source'\]"):
        reward(["p"], ["x"], reference=["x"], source=["y"], trainer_state=None)
    with pytest.raises(RewardError, match=r"one entry per completion \(2\), got 1"):
        reward(["p", "q"], ["x", "y"], target=["x"])
    with pytest.raises(RewardError, match="non-empty list of strings"):
        reward(["p"], ["x"], target=[[]])
    tokenizer = char_tokenizer()
    with pytest.raises(RewardError, match="column 'target'"):  # checked before any prefix scoring
        ChrFReward(reference_column="target", tokenizer=tokenizer).score(["p"], ["x"], [[5]])


def test_per_token_needs_a_tokenizer_and_auto_follows_it():
    with pytest.raises(ValueError, match="tokenizer="):
        BLEUReward(per_token="prefix_delta")
    with pytest.raises(ValueError, match="per_token"):
        ChrFReward(per_token="attention")
    assert TokenF1Reward().per_token is None
    assert TokenF1Reward(decode=lambda ids: "").per_token == "prefix_delta"


# ---- answer rewards ------------------------------------------------------------------------------


def test_token_f1_reward_per_token_hand_computed():
    text = " Paris , France"
    tokenizer = word_tokenizer([text])
    ids = encode(tokenizer, [text])
    out = TokenF1Reward(tokenizer=tokenizer).score(["q"], [text], ids, answers=[["Paris"]])
    # prefixes: "paris" F1 1; "paris ," -> "paris" F1 1; "paris france" F1 2/3
    torch.testing.assert_close(out.tokens[0], torch.tensor([1.0, 0.0, -1 / 3]))
    assert out.sequence.item() == pytest.approx(2 / 3)


def test_exact_match_reward_per_token_hand_computed_with_squad_answers():
    texts = [" the Louvre .", " Louvre museum"]
    tokenizer = word_tokenizer(texts)
    ids = encode(tokenizer, texts)
    answers = [{"text": ["Louvre"], "answer_start": [3]}, ["Louvre"]]
    out = ExactMatchReward(tokenizer=tokenizer).score(["q"] * 2, texts, ids, answers=answers)
    # " the" -> "" (no match); " the Louvre" matches; " ." changes nothing after normalisation
    torch.testing.assert_close(out.tokens, torch.tensor([[0.0, 1.0, 0.0], [1.0, -1.0, 0.0]]))
    torch.testing.assert_close(out.sequence, torch.tensor([1.0, 0.0]))
    with pytest.raises(RewardError, match="column 'gold'"):
        ExactMatchReward(answers_column="gold")(["q"], ["x"], answers=["x"])


# ---- token rewards -------------------------------------------------------------------------------


def test_length_penalty_hand_computed():
    reward = LengthPenalty(target_tokens=2, per_token_cost=0.1)
    assert reward.per_token == "native"
    out = evaluate_reward(reward, ["p"] * 3, ["abcd", "a", ""], [[1, 2, 3, 4], [1], []])
    torch.testing.assert_close(out.tokens, torch.tensor([[0, 0, -0.1, -0.1], [0, 0, 0, 0], [0, 0, 0, 0]]))
    torch.testing.assert_close(out.sequence, torch.tensor([-0.2, 0.0, 0.0]))
    with pytest.raises(ValueError, match="completion_ids"):
        reward(["p"], ["abcd"])


def test_repetition_penalty_hand_computed():
    ids = [[5, 6, 7, 5, 6, 7, 5], [5, 6, 7], [5, 5]]
    out = evaluate_reward(RepetitionPenalty(n=3), ["p"] * 3, ["x"] * 3, ids)
    # row 0: 5 trigrams, (5 6 7) repeats at j = 5, (6 7 5) at j = 6 -> -1/5 each
    expected = torch.zeros(3, 7)
    expected[0, 5] = expected[0, 6] = -0.2
    torch.testing.assert_close(out.tokens, expected)
    torch.testing.assert_close(out.sequence, torch.tensor([-repetition_rate(ids[0], 3), 0.0, 0.0]))
    flat = RepetitionPenalty(n=1, coef=0.5, normalize=False).score(["p"], ["x"], [[5, 5, 6, 5]])
    torch.testing.assert_close(flat.tokens, torch.tensor([[0.0, -0.5, 0.0, -0.5]]))
    assert flat.sequence.item() == pytest.approx(-1.0)


# ---- evaluate metrics ----------------------------------------------------------------------------


def test_metric_reward_with_a_callable_sums_per_token():
    def overlap(pred: str, ref: str) -> float:
        return len(set(pred.split()) & set(ref.split())) / len(set(ref.split()))

    texts, refs = [" a b c", " b"], ["a b", "b d"]
    tokenizer = word_tokenizer(texts)
    reward = MetricReward(overlap, tokenizer=tokenizer)
    assert reward.name == "overlap"
    out = reward.score(["p"] * 2, texts, encode(tokenizer, texts), reference=refs)
    torch.testing.assert_close(out.sequence, torch.tensor([1.0, 0.5]))
    torch.testing.assert_close(out.tokens, torch.tensor([[0.5, 0.5, 0.0], [0.5, 0.0, 0.0]]))


def test_metric_reward_picks_the_key_of_dict_results():
    def both(pred, ref):
        return {"score": 50.0, "name": "x", "f1": 0.25}

    assert MetricReward(both, key="score", scale=0.01)(["p"], ["x"], reference=["x"]) == [0.5]
    with pytest.raises(RewardError, match=r"key=<one of them>"):
        MetricReward(both)(["p"], ["x"], reference=["x"])
    with pytest.raises(RewardError, match="no 'bleu'"):
        MetricReward(both, key="bleu")(["p"], ["x"], reference=["x"])
    assert MetricReward(lambda p, r: {"only": 0.75})(["p"], ["x"], reference=["x"]) == [0.75]


def test_metric_reward_name_that_cannot_be_fetched_gives_a_clear_error(monkeypatch):
    def offline_load(name, **kwargs):
        raise ConnectionError("Hub unreachable")

    monkeypatch.setitem(sys.modules, "evaluate", types.SimpleNamespace(load=offline_load))
    reward = MetricReward("chrf", key="score")  # loading is lazy: constructing never touches the Hub
    assert reward.name == "chrf"
    with pytest.raises(RewardError, match=r"Could not fetch the evaluate metric 'chrf'.*ChrFReward"):
        reward(["p"], ["x"], reference=["x"])
    clone = pickle.loads(pickle.dumps(reward))
    assert clone._module is None


def test_metric_reward_with_a_local_evaluate_metric_script(tmp_path):
    script = tmp_path / "char_match.py"
    script.write_text(
        textwrap.dedent(
            '''
            import datasets
            import evaluate


            class CharMatch(evaluate.Metric):
                """Share of reference characters that the prediction starts with."""

                def _info(self):
                    return evaluate.MetricInfo(
                        description="prefix match",
                        citation="",
                        inputs_description="",
                        features=datasets.Features(
                            {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
                        ),
                    )

                def _compute(self, predictions, references):
                    p, r = predictions[0].strip(), references[0]
                    n = next((i for i, (a, b) in enumerate(zip(p, r)) if a != b), min(len(p), len(r)))
                    return {"match": n / len(r), "length": len(p)}
            '''
        )
    )
    texts, refs = [" abx", " ab"], ["abcd", "ab"]
    tokenizer = char_tokenizer()
    ids = encode(tokenizer, texts)
    reward = MetricReward(
        str(script), key="match", load_kwargs={"cache_dir": str(tmp_path / "cache")}, tokenizer=tokenizer
    )
    assert reward.name == "char_match"
    out = evaluate_reward(reward, ["p"] * 2, texts, ids, reference=refs)
    torch.testing.assert_close(out.sequence, torch.tensor([0.5, 1.0]))
    torch.testing.assert_close(out.tokens, torch.tensor([[0.0, 0.25, 0.25, 0.0], [0.0, 0.5, 0.5, 0.0]]))
    # The loaded module is reused, and a reward built from a loaded module behaves the same.
    module = reward.module()
    assert MetricReward(module, key="match")(["p"], [" ab"], reference=["abcd"]) == [0.5]


def test_rewards_pickle_with_a_tokenizer():
    tokenizer = char_tokenizer()
    ids = encode(tokenizer, HYPS)
    reward = ChrFReward(tokenizer=tokenizer)
    clone = pickle.loads(pickle.dumps(reward))
    torch.testing.assert_close(
        clone.score(["p"] * 3, HYPS, ids, reference=REFS).tokens,
        reward.score(["p"] * 3, HYPS, ids, reference=REFS).tokens,
    )
    for r in (BLEUReward(), ExactMatchReward(), TokenF1Reward(), LengthPenalty(3), RepetitionPenalty()):
        assert type(pickle.loads(pickle.dumps(r))) is type(r)
