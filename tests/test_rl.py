"""The RL maths against hand-computed cases and independent loop implementations."""

import math

import pytest
import torch

from rlreward.rewards.shaping import terminal_rewards
from rlreward.rl import (
    KLController,
    clipped_policy_loss,
    clipped_value_loss,
    discounted_returns,
    gae,
    group_advantages,
    group_mean_baseline,
    group_std,
    kl_estimate,
    leave_one_out_baseline,
    masked_mean,
    masked_whiten,
    token_logprobs,
)


def loop_gae(rewards, values, lengths, gamma, lam):
    """Textbook GAE, one episode at a time, in plain Python."""
    out = []
    for r, v, n in zip(rewards.tolist(), values.tolist(), lengths):
        adv = [0.0] * len(r)
        running = 0.0
        for t in reversed(range(n)):
            next_v = v[t + 1] if t + 1 < n else 0.0
            delta = r[t] + gamma * next_v - v[t]
            running = delta + gamma * lam * running
            adv[t] = running
        out.append(adv)
    return torch.tensor(out)


def mask_for(lengths, t):
    return (torch.arange(t)[None, :] < torch.tensor(lengths)[:, None]).long()


def test_gae_hand_computed():
    rewards = torch.tensor([[0.0, 0.0, 1.0]])
    values = torch.tensor([[0.5, 0.5, 0.5]])
    adv, ret = gae(rewards, values, torch.ones(1, 3), gamma=1.0, lam=1.0)
    # lam = gamma = 1: A_t = sum of future rewards - V(s_t) = 1 - 0.5
    assert torch.allclose(adv, torch.tensor([[0.5, 0.5, 0.5]]))
    assert torch.allclose(ret, torch.tensor([[1.0, 1.0, 1.0]]))
    adv, _ = gae(rewards, values, torch.ones(1, 3), gamma=0.9, lam=0.5)
    d2 = 1.0 - 0.5
    d1 = 0.0 + 0.9 * 0.5 - 0.5
    d0 = 0.0 + 0.9 * 0.5 - 0.5
    a2 = d2
    a1 = d1 + 0.45 * a2
    a0 = d0 + 0.45 * a1
    assert torch.allclose(adv, torch.tensor([[a0, a1, a2]]))


@pytest.mark.parametrize("gamma,lam", [(1.0, 0.95), (0.9, 0.8), (1.0, 1.0)])
def test_gae_matches_loop_with_padding(gamma, lam):
    torch.manual_seed(0)
    lengths = [5, 3, 1, 4]
    rewards, values = torch.randn(4, 5), torch.randn(4, 5)
    mask = mask_for(lengths, 5)
    adv, ret = gae(rewards, values, mask, gamma, lam)
    expected = loop_gae(rewards, values, lengths, gamma, lam)
    assert torch.allclose(adv, expected, atol=1e-6)
    assert torch.all(adv[mask == 0] == 0) and torch.all(ret[mask == 0] == 0)


def test_terminal_dense_equals_classic_sparse_rlhf():
    """Per-token rewards from the `terminal` strategy give exactly the classic sparse-reward advantages."""
    torch.manual_seed(1)
    lengths = [4, 2, 3]
    mask = mask_for(lengths, 4)
    scores = torch.tensor([1.5, -0.3, 0.7])
    kl = torch.randn(3, 4) * mask
    values = torch.randn(3, 4)
    beta = 0.1
    dense = terminal_rewards(scores, lengths) - beta * kl  # the trainer's own densifier
    adv, _ = gae(dense, values, mask, 1.0, 0.95)
    # The classic recipe: reward = -beta * kl at every token, score added at the last real token.
    classic = []
    for i, n in enumerate(lengths):
        r = [-beta * float(kl[i, t]) for t in range(4)]
        r[n - 1] += float(scores[i])
        classic.append(r)
    expected = loop_gae(torch.tensor(classic), values, lengths, 1.0, 0.95)
    assert torch.allclose(adv, expected, atol=1e-6)


def test_discounted_returns_hand_computed():
    rewards = torch.tensor([[1.0, 2.0, 3.0, 9.0]])
    mask = torch.tensor([[1, 1, 1, 0]])
    assert torch.allclose(discounted_returns(rewards, mask, 1.0), torch.tensor([[6.0, 5.0, 3.0, 0.0]]))
    assert torch.allclose(
        discounted_returns(rewards, mask, 0.5),
        torch.tensor([[1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3.0, 0.0]]),
    )


def test_leave_one_out_baseline_hand_computed():
    # Two prompts, k = 3; terminal rewards, gamma = 1, equal lengths: classic RLOO.
    returns = torch.tensor([[1.0, 1.0], [2.0, 2.0], [6.0, 6.0], [0.0, 0.0], [3.0, 3.0], [3.0, 3.0]])
    mask = torch.ones(6, 2)
    baseline = leave_one_out_baseline(returns, mask, k=3)
    assert torch.allclose(baseline[:, 0], torch.tensor([4.0, 3.5, 1.5, 3.0, 1.5, 1.5]))
    # Positions where another sample has ended average only over those still running.
    mask = torch.tensor([[1, 1], [1, 0], [1, 1]])
    returns = torch.tensor([[1.0, 5.0], [2.0, 0.0], [3.0, 7.0]])
    baseline = leave_one_out_baseline(returns, mask, k=3)
    assert torch.allclose(baseline, torch.tensor([[2.5, 7.0], [2.0, 0.0], [1.5, 5.0]]))
    with pytest.raises(ValueError, match="k >= 2"):
        leave_one_out_baseline(returns, mask, k=1)


def test_kl_estimators():
    logp, ref = torch.tensor([[-1.0, -2.0]]), torch.tensor([[-1.5, -1.0]])
    r = logp - ref
    assert torch.allclose(kl_estimate(logp, ref, "k1"), r)
    assert torch.allclose(kl_estimate(logp, ref, "k2"), 0.5 * r**2)
    assert torch.allclose(kl_estimate(logp, ref, "k3"), torch.exp(-r) - 1 + r)
    assert (kl_estimate(logp, ref, "k3") >= 0).all()
    with pytest.raises(ValueError, match="k1"):
        kl_estimate(logp, ref, "k9")


def test_k1_and_k3_are_unbiased_estimates_of_the_true_kl():
    torch.manual_seed(0)
    p = torch.softmax(torch.randn(6), 0)
    q = torch.softmax(torch.randn(6), 0)
    true_kl = float((p * (p / q).log()).sum())
    samples = torch.multinomial(p, 200_000, replacement=True)
    logp, logq = p.log()[samples], q.log()[samples]
    for est in ("k1", "k3"):
        assert abs(float(kl_estimate(logp, logq, est).mean()) - true_kl) < 0.01


def test_adaptive_kl_controller():
    ctl = KLController(0.1, target=1.0, horizon=100)
    ctl.update(kl=2.0, n_samples=10)  # error clipped to +0.2
    assert math.isclose(ctl.value, 0.1 * (1 + 0.2 * 10 / 100))
    ctl.update(kl=0.9, n_samples=10)
    assert ctl.value < 0.1 * (1 + 0.02)
    fixed = KLController(0.1)
    fixed.update(kl=5.0, n_samples=10)
    assert fixed.value == 0.1


def test_clipped_policy_loss_hand_computed():
    old = torch.zeros(1, 3)
    new = torch.log(torch.tensor([[1.5, 0.5, 1.1]]))
    adv = torch.tensor([[1.0, 1.0, -1.0]])
    out = clipped_policy_loss(new, old, adv, torch.ones(1, 3), clip_range=0.2)
    # token 0: min(1.5, 1.2) = 1.2; token 1: min(0.5, 0.8) = 0.5; token 2: min(-1.1, -1.1) = -1.1
    assert torch.isclose(out.loss, -torch.tensor((1.2 + 0.5 - 1.1) / 3))
    assert torch.isclose(out.clipfrac, torch.tensor(1 / 3))
    # ratio 1 (first epoch): the loss is the policy gradient -mean(A * logp) in its gradient
    logp = torch.tensor([[-1.0, -2.0]], requires_grad=True)
    clipped_policy_loss(logp, logp.detach(), torch.tensor([[2.0, -1.0]]), torch.ones(1, 2)).loss.backward()
    assert torch.allclose(logp.grad, torch.tensor([[-1.0, 0.5]]))


def test_clipped_value_loss_hand_computed():
    values = torch.tensor([[1.0, 0.0]])
    old = torch.tensor([[0.5, 0.0]])
    returns = torch.tensor([[0.0, 1.0]])
    out = clipped_value_loss(values, old, returns, torch.ones(1, 2), clip_range=0.2)
    # token 0: max(1.0, 0.7^2) = 1; token 1: max(1, 1) = 1
    assert torch.isclose(out.loss, torch.tensor(0.5))


def test_masked_helpers_and_whiten():
    x = torch.tensor([[1.0, 2.0, 100.0], [3.0, 4.0, 100.0]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 0]])
    assert torch.isclose(masked_mean(x, mask), torch.tensor(2.5))
    w = masked_whiten(x, mask)
    assert torch.isclose(masked_mean(w, mask), torch.tensor(0.0), atol=1e-6)
    assert torch.all(w[mask == 0] == 0)
    assert torch.isclose((w[mask == 1] ** 2).sum() / 3, torch.tensor(1.0), atol=1e-5)


def test_token_logprobs_equals_log_softmax():
    torch.manual_seed(0)
    logits, tokens = torch.randn(2, 3, 7), torch.randint(0, 7, (2, 3))
    expected = torch.log_softmax(logits / 0.7, -1).gather(-1, tokens[..., None]).squeeze(-1)
    assert torch.allclose(token_logprobs(logits, tokens, 0.7), expected, atol=1e-6)


def test_masked_whiten_keeps_the_variance_of_values_far_from_zero():
    torch.manual_seed(0)
    noise = torch.randn(4, 64)
    values = 1e4 + 1e-2 * noise  # float32: one-pass E[x^2] - E[x]^2 cancels to rounding noise here
    mask = torch.ones(4, 64)
    exact = values.double()
    expected = ((exact - exact.mean()) / exact.std()).float()
    torch.testing.assert_close(masked_whiten(values, mask), expected, atol=1e-4, rtol=0)
    assert masked_whiten(values, mask).dtype == torch.float32


@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_discounted_returns_stop_at_mask_holes_like_gae(gamma):
    torch.manual_seed(0)
    rewards = torch.randn(3, 6)
    mask = torch.tensor([[1, 1, 0, 1, 1, 0], [1, 1, 1, 1, 1, 1], [0, 1, 1, 0, 0, 1]])
    _, gae_returns = gae(rewards, torch.zeros(3, 6), mask, gamma, lam=1.0)
    returns = discounted_returns(rewards, mask, gamma)
    torch.testing.assert_close(returns, gae_returns)
    # the hole at position 2 ends the first episode: G_0 = r_0 + gamma r_1, nothing from r_3, r_4
    assert returns[0, 0] == pytest.approx(float(rewards[0, 0] + gamma * rewards[0, 1]))


def loop_group_advantages(returns, lengths, k, estimator, scale, eps=1e-4):
    """Token-level group baselines, one prompt, position and sample at a time, in plain Python."""
    b, t = returns.shape
    out = [[0.0] * t for _ in range(b)]
    for g in range(0, b, k):
        for pos in range(t):
            running = [i for i in range(g, g + k) if pos < lengths[i]]
            for i in running:
                g_i = float(returns[i, pos])
                if estimator == "rloo":
                    others = [float(returns[j, pos]) for j in running if j != i]
                    out[i][pos] = g_i - (sum(others) / len(others) if others else 0.0)
                else:
                    values = [float(returns[j, pos]) for j in running]
                    mean = sum(values) / len(values)
                    adv = g_i - mean
                    if scale:
                        n = len(values)
                        std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
                        adv /= std + eps
                    out[i][pos] = adv
    return torch.tensor(out)


@pytest.mark.parametrize("estimator,scale", [("rloo", False), ("grpo", False), ("grpo", True)])
def test_token_level_group_baselines_match_a_loop(estimator, scale):
    torch.manual_seed(0)
    k, lengths = 3, [5, 2, 4, 1, 5, 5]
    mask = mask_for(lengths, 5)
    returns = discounted_returns(torch.randn(6, 5), mask, 0.9)
    adv = group_advantages(returns, mask, k, estimator, scale)
    expected = loop_group_advantages(returns, lengths, k, estimator, scale)
    torch.testing.assert_close(adv, expected, atol=1e-5, rtol=1e-5)
    assert torch.all(adv[mask == 0] == 0)


def test_group_baselines_are_the_classic_sequence_ones_for_terminal_rewards():
    scores = torch.tensor([1.0, 2.0, 6.0, 0.0, 3.0, 3.0])
    mask = torch.ones(6, 4)
    returns = discounted_returns(terminal_rewards(scores, [4] * 6), mask, 1.0)
    grouped = scores.view(2, 3)
    grpo = (grouped - grouped.mean(1, keepdim=True)).flatten()
    grpo_scaled = (
        (grouped - grouped.mean(1, keepdim=True)) / (grouped.std(1, keepdim=True) + 1e-4)
    ).flatten()
    rloo = (grouped - (grouped.sum(1, keepdim=True) - grouped) / 2).flatten()
    for adv, expected in [
        (group_advantages(returns, mask, 3, "rloo"), rloo),
        (group_advantages(returns, mask, 3, "grpo"), grpo),
        (group_advantages(returns, mask, 3, "grpo", scale=True), grpo_scaled),
    ]:
        torch.testing.assert_close(adv, expected[:, None].expand(6, 4))
    assert group_mean_baseline(returns, mask, 3)[0, 0] == 3.0
    assert group_std(returns, mask, 3)[3, 0] == pytest.approx(math.sqrt(3.0))
    with pytest.raises(ValueError, match="k >= 2"):
        group_advantages(returns, mask, 1, "grpo")
    with pytest.raises(ValueError, match="grpo estimator only"):
        group_advantages(returns, mask, 3, "rloo", scale=True)
