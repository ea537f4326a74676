"""Densifying, combining and normalising rewards: real prefix ids, abstaining parts, clipping, state."""

import math

import pytest
import torch
from conftest import CountToken

from rlreward.rewards import (
    CombinedReward,
    FunctionReward,
    InstantReward,
    NormalizedReward,
    PrefixDeltaReward,
    RewardError,
    RewardOutput,
    evaluate_reward,
    with_per_token,
)
from rlreward.rewards.base import pad_token_rewards

DECODE = {5: "a", 6: "b", 7: "c", 8: "d"}


def decode(ids):
    return "".join(DECODE.get(i, "?") for i in ids)


def count_ids(prompts, completions, completion_ids, **kwargs):
    """A sequence reward that reads the token ids: how many ids equal 5."""
    return [float(sum(1 for t in ids if t == 5)) for ids in completion_ids]


def test_prefix_delta_scores_each_prefix_with_its_real_token_ids():
    ids = [[5, 6, 5, 5], [6, 6, 5]]
    completions = [decode(r) for r in ids]
    out = evaluate_reward(PrefixDeltaReward(count_ids, decode), ["p", "p"], completions, ids)
    # The potential of prefix j is the number of 5s among ids[: j + 1]: +1 at every 5, 0 elsewhere.
    assert out.tokens.tolist() == [[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.0]]
    assert out.sequence.tolist() == [3.0, 1.0]  # what terminal gives: the reward of the completion
    terminal = evaluate_reward(with_per_token(count_ids, "terminal"), ["p", "p"], completions, ids)
    assert out.sequence.tolist() == terminal.sequence.tolist()


def test_prefix_delta_passes_prefix_texts_and_ids_that_belong_together():
    seen = []

    def record(prompts, completions, completion_ids, **kwargs):
        seen.extend(zip(completions, [list(ids) for ids in completion_ids]))
        return [0.0] * len(completions)

    evaluate_reward(PrefixDeltaReward(record, decode), ["p"], ["abc"], [[5, 6, 7]])
    assert seen == [("a", [5]), ("ab", [5, 6]), ("abc", [5, 6, 7])]


def test_calling_without_ids_scores_text_and_refuses_to_invent_ids():
    text_only = FunctionReward(lambda prompts, completions, **kw: [float(len(c)) for c in completions])
    assert text_only(prompts=["p"], completions=["abc"]) == [3.0]
    with pytest.raises(RewardError, match="reads the policy's completion token ids"):
        CountToken(5)(prompts=["p"], completions=["abc"])


def abstain_on_second(prompts, completions, completion_ids, **kwargs):
    """1.0, except that it has no opinion on the completion "aab" (the second sample)."""
    return [None if c == "aab" else 1.0 for c in completions]


@pytest.mark.parametrize("strategy", ["terminal", "uniform", "prefix_delta"])
def test_a_part_that_abstains_leaves_the_sample_to_the_other_parts(strategy):
    ids = [[5, 6], [5, 5, 6], [6]]
    completions = [decode(r) for r in ids]
    combined = CombinedReward([abstain_on_second, CountToken(5)], weights=[2.0, 1.0])
    reward = with_per_token(combined, strategy, decode)
    out = evaluate_reward(reward, ["p"] * 3, completions, ids)
    assert out.sequence.tolist() == [2.0 + 1.0, 2.0, 2.0 + 0.0]
    assert torch.isfinite(out.tokens).all()
    torch.testing.assert_close(out.tokens.sum(1), out.sequence)
    assert out.tokens[1].tolist() == [1.0, 1.0, 0.0]  # only CountToken's credit
    assert math.isnan(out.components["abstain_on_second"][1])
    parts = out.token_components
    assert set(parts) == {"abstain_on_second", "count_token"}
    torch.testing.assert_close(sum(parts.values()), out.tokens)
    assert parts["abstain_on_second"][1].abs().sum() == 0


def test_every_part_abstaining_or_a_lone_abstaining_reward_is_an_error():
    never = FunctionReward(lambda prompts, completions, **kw: [None] * len(completions), name="never")
    with pytest.raises(RewardError, match="Every reward"):
        evaluate_reward(with_per_token(CombinedReward([never, never]), "terminal"), ["p"], ["a"], [[5]])
    with pytest.raises(RewardError, match="abstains"):
        evaluate_reward(with_per_token(never, "terminal"), ["p"], ["a"], [[5]])


class Fixed(InstantReward):
    """Sequence scores given in advance, with per-token rewards spread evenly."""

    name = "fixed"
    per_token = "native"

    def __init__(self, values):
        self.values = values

    def score(self, prompts, completions, completion_ids, **kwargs):
        rows = [[v / len(ids)] * len(ids) for v, ids in zip(self.values, completion_ids)]
        return RewardOutput(torch.tensor(self.values), pad_token_rewards(rows, [len(r) for r in rows]))


def test_normalized_clip_bounds_the_sequence_and_its_tokens_still_sum_to_it():
    reward = NormalizedReward(Fixed([0.0, 0.0, 0.0, 10.0]), clip=1.0)
    ids = [[5, 6, 7]] * 4
    out = evaluate_reward(reward, ["p"] * 4, ["abc"] * 4, ids)
    assert out.sequence[3] == pytest.approx(1.0)  # (10 - 2.5) / 4.33 = 1.73 before clipping
    torch.testing.assert_close(out.tokens.sum(1), out.sequence)
    assert out.tokens[3].tolist() == pytest.approx([4 / 9, 4 / 9, 1 / 9])  # the credit keeps its shape


def test_normalized_state_reaches_through_densifying_and_freezes():
    reward = with_per_token(NormalizedReward(FunctionReward(count_ids)), "terminal")
    assert not isinstance(reward, NormalizedReward)  # the trainer sees the densifying wrapper
    ids = [[5, 5], [6], [5, 6, 5]]
    evaluate_reward(reward, ["p"] * 3, ["aa", "b", "aba"], ids)
    state = reward.state_dict()
    assert state == {"0": {"moments": {"mean": 4 / 3, "var": pytest.approx(8 / 9), "count": 3}}}
    reward.freeze()
    evaluate_reward(reward, ["p"], ["aaaa"], [[5, 5, 5, 5]])
    assert reward.state_dict() == state  # frozen: used, not updated
    reward.freeze(False)
    fresh = with_per_token(NormalizedReward(FunctionReward(count_ids)), "terminal")
    fresh.load_state_dict(state)
    a = evaluate_reward(reward, ["p"], ["ab"], [[5, 6]])
    b = evaluate_reward(fresh, ["p"], ["ab"], [[5, 6]])
    assert a.sequence.tolist() == b.sequence.tolist()
    combined = CombinedReward([NormalizedReward(Fixed([1.0])), Fixed([2.0])])
    assert set(combined.state_dict()) == {"0"}


# ------------------------------------------------------------------ NoisyReward (robustness experiments)
def _noisy_inputs(b: int, n: int = 5):
    ids = [[3 + (i + j) % 4 for j in range(n)] for i in range(b)]
    return [""] * b, ["x" * n] * b, ids


def test_noisy_reward_without_noise_is_the_reward_and_flips_negate_or_relabel():
    from conftest import CountToken

    from rlreward.rewards.shaping import NoisyReward

    prompts, completions, ids = _noisy_inputs(6)
    clean = evaluate_reward(CountToken(3), prompts, completions, ids)
    same = evaluate_reward(NoisyReward(CountToken(3)), prompts, completions, ids)
    torch.testing.assert_close(same.tokens, clean.tokens)
    negated = evaluate_reward(NoisyReward(CountToken(3), flip=1.0), prompts, completions, ids)
    torch.testing.assert_close(negated.sequence, -clean.sequence)
    relabelled = evaluate_reward(
        NoisyReward(CountToken(3), flip=1.0, flip_mode="label"), prompts, completions, ids
    )
    torch.testing.assert_close(relabelled.sequence, 1 - clean.sequence)
    torch.testing.assert_close(relabelled.tokens.sum(1), relabelled.sequence)
    passed = FunctionReward(lambda completions, **_: [1.0, 0.0] * 3, "pass")
    flipped = NoisyReward(passed, flip=1.0, flip_mode="label")(prompts, completions, ids)
    assert flipped == [0.0, 1.0] * 3


def test_noisy_reward_gaussian_noise_has_sigma_times_scale_per_sequence_for_any_length():
    from conftest import CountToken

    from rlreward.rewards.shaping import NoisyReward

    for n in (1, 9):
        prompts, completions, ids = _noisy_inputs(4000, n)
        clean = evaluate_reward(CountToken(3), prompts, completions, ids).sequence
        noisy = evaluate_reward(NoisyReward(CountToken(3), sigma=0.5, scale=1.0), prompts, completions, ids)
        torch.testing.assert_close(noisy.tokens.sum(1), noisy.sequence)
        assert abs((noisy.sequence - clean).std().item() - 0.5) < 0.03
        assert not noisy.tokens[:, n:].any()


def test_noisy_reward_is_seeded_resumable_and_clean_when_frozen():
    from conftest import CountToken

    from rlreward.rewards.shaping import NoisyReward

    prompts, completions, ids = _noisy_inputs(8)
    a, b = (
        NoisyReward(CountToken(3), sigma=0.3, flip=0.2, seed=1),
        NoisyReward(CountToken(3), sigma=0.3, flip=0.2, seed=1),
    )
    first = evaluate_reward(a, prompts, completions, ids).tokens
    torch.testing.assert_close(evaluate_reward(b, prompts, completions, ids).tokens, first)
    saved = a.state_dict()
    second = evaluate_reward(a, prompts, completions, ids).tokens
    assert not torch.equal(second, first)  # a new draw each call
    b.load_state_dict(saved)
    torch.testing.assert_close(evaluate_reward(b, prompts, completions, ids).tokens, second)
    a.freeze()
    clean = evaluate_reward(CountToken(3), prompts, completions, ids).tokens
    torch.testing.assert_close(evaluate_reward(a, prompts, completions, ids).tokens, clean)
    with pytest.raises(ValueError, match="flip_mode"):
        NoisyReward(CountToken(3), flip_mode="labels")
