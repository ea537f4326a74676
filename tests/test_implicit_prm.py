"""PRIME's implicit PRM: per-token log-ratio rewards against a loop over unpadded sequences, the
outcome cross-entropy it trains on, offline fit and the online update (tiny Llama, char tokenizer)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import CHAT_TEMPLATE, tiny_llama

from rlreward.rewards.base import FunctionReward, evaluate_reward
from rlreward.rewards.implicit import ImplicitPRM

PROMPTS = ["say yes", "say no.", "a"]
COMPLETIONS = ["yes yes", "no", "maybe so"]


def make(tokenizer, **kwargs) -> ImplicitPRM:
    return ImplicitPRM(tiny_llama(len(tokenizer)), tokenizer, beta=0.5, learning_rate=1e-2, **kwargs)


def ids_of(tokenizer, texts):
    return [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]


def loop_log_ratios(prm: ImplicitPRM, prompt, completion_ids) -> torch.Tensor:
    """One unpadded sequence at a time: log pi_phi - log pi_ref of each completion token."""
    ids = torch.tensor([prm.prompt_ids(prompt) + list(completion_ids)])
    n = len(completion_ids)
    with torch.no_grad():
        phi = F.log_softmax(prm.model(input_ids=ids).logits[0, :-1], -1)
        with prm.model.disable_adapter():
            ref = F.log_softmax(prm.model(input_ids=ids).logits[0, :-1], -1)
    targets = ids[0, 1:]
    picked = lambda lp: lp.gather(1, targets[:, None])[:, 0]  # noqa: E731
    return (picked(phi) - picked(ref))[-n:] if n else torch.zeros(0)


def test_a_fresh_adapter_gives_zero_rewards(tokenizer):
    prm = make(tokenizer)
    out = evaluate_reward(prm, PROMPTS, COMPLETIONS, ids_of(tokenizer, COMPLETIONS))
    assert torch.equal(out.tokens, torch.zeros_like(out.tokens)) and out.sequence.tolist() == [0.0, 0.0, 0.0]


def test_batched_left_padded_log_ratios_match_the_loop_and_rows_sum_to_the_score(tokenizer):
    prm = make(tokenizer, batch_size=2)  # two batches, padding inside the first
    ids = ids_of(tokenizer, COMPLETIONS)
    prm.fit(PROMPTS, ids, [1.0, 0.0, 1.0], epochs=3, batch_size=3)  # the adapter moves away from B = 0
    out = evaluate_reward(prm, PROMPTS, COMPLETIONS, ids)
    for i, (prompt, row) in enumerate(zip(PROMPTS, ids)):
        expected = prm.beta * loop_log_ratios(prm, prompt, row)
        assert expected.abs().max() > 0
        torch.testing.assert_close(out.tokens[i, : len(row)], expected, atol=1e-5, rtol=1e-4)
        assert not out.tokens[i, len(row) :].any()
    torch.testing.assert_close(out.tokens.sum(1), out.sequence)


def test_fit_on_outcome_labels_ranks_the_right_completions_first(tokenizer):
    prm = make(tokenizer)
    completions = ["yes", "no", "yes.", "no.", "yes!", "no!"]
    labels = [1.0, 0.0] * 3
    ids = ids_of(tokenizer, completions)
    prompts = ["q"] * 6
    first = prm.loss(prompts, ids, labels).item()
    assert first == pytest.approx(torch.log(torch.tensor(2.0)).item(), abs=1e-6)  # every logit 0 at start
    prm.fit(prompts, ids, labels, epochs=20, batch_size=6)
    assert prm.loss(prompts, ids, labels).item() < first - 0.2
    scores = prm(prompts, completions, ids)
    assert min(scores[0::2]) > max(scores[1::2])


def test_online_update_labels_the_batch_then_scores_it_and_checkpoints_resume_it(tokenizer):
    outcome = FunctionReward(
        lambda completions, **_: [float(c.startswith("yes")) for c in completions], "outcome"
    )
    prm = make(tokenizer, online=outcome, online_steps=2)
    ids = ids_of(tokenizer, COMPLETIONS)
    saved = prm.state_dict()
    out = evaluate_reward(prm, PROMPTS, COMPLETIONS, ids)
    assert prm.last_loss == pytest.approx(torch.log(torch.tensor(2.0)).item(), abs=1e-6)
    assert out.sequence.abs().max() > 0  # scored after the update
    # Restoring the state before the call gives the same update and the same scores again.
    again = make(tokenizer, online=outcome, online_steps=2)
    again.load_state_dict(saved)
    torch.testing.assert_close(evaluate_reward(again, PROMPTS, COMPLETIONS, ids).tokens, out.tokens)
    prm.freeze()
    frozen_state = prm.state_dict()
    evaluate_reward(prm, PROMPTS, COMPLETIONS, ids)  # evaluation: no update
    for k, v in prm.state_dict()["adapter"].items():
        assert torch.equal(v, frozen_state["adapter"][k])


def test_chat_prompts_use_the_generation_prompt_and_bad_beta_is_refused(tokenizer):
    tokenizer.chat_template = CHAT_TEMPLATE.replace("<", "").replace(">", " ")
    prm = make(tokenizer)
    messages = [{"role": "user", "content": "hi"}]
    assert prm.prompt_ids(messages) == tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=True
    )
    with pytest.raises(ValueError, match="beta must be > 0"):
        ImplicitPRM(tiny_llama(len(tokenizer)), tokenizer, beta=0.0)
