"""rlreward rewards inside a real TRL trainer, and TRL reward functions inside rlreward."""

import torch
from datasets import Dataset

from rlreward.rewards import as_instant, evaluate_reward, with_per_token
from rlreward.trainers.trl_bridge import trl_trainer


def count_a(prompts, completions, completion_ids, **kwargs):
    """A TRL-style reward function: one float per completion."""
    return [c.count("a") / 4 for c in completions]


def test_trl_function_is_an_rlreward_reward_with_per_token_credit():
    reward = with_per_token(count_a, "prefix_delta", decode=lambda ids: "".join("ab"[i % 2] for i in ids))
    out = evaluate_reward(reward, ["p", "q"], ["abab", "bb"], [[0, 1, 0, 1], [1, 1]])
    assert torch.allclose(out.sequence, torch.tensor([0.5, 0.0]))
    assert torch.allclose(out.tokens.sum(1), out.sequence)
    assert out.tokens[0].tolist() == [0.25, 0.0, 0.25, 0.0]


def test_rlreward_reward_runs_inside_trl_rloo_trainer(tokenizer, policy, tmp_path):
    from trl import RLOOConfig

    from rlreward.rewards import InstantReward, RewardOutput

    calls = []

    class TokenSumReward(InstantReward):
        name = "token_sum"

        def score(self, prompts, completions, completion_ids, **kwargs):
            calls.append(len(completions))
            return RewardOutput(
                torch.tensor([sum(ids) % 7 / 7 for ids in completion_ids], dtype=torch.float32)
            )

    tokenizer.chat_template = None
    args = RLOOConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=4,
        num_generations=2,
        max_completion_length=6,
        max_steps=2,
        learning_rate=1e-2,
        lr_scheduler_type="constant",
        logging_steps=1,
        report_to="none",
        use_cpu=True,
        save_strategy="no",
        beta=0.0,  # no reference copy: TRL would reload it from the (unsaved) tiny model path
    )
    dataset = Dataset.from_dict({"prompt": ["hello", "abc", "the cat", "zz top"]})
    before = {n: p.detach().clone() for n, p in policy.named_parameters()}
    trainer = trl_trainer(
        "rloo", policy, [TokenSumReward(), as_instant(count_a)], dataset, args, tokenizer=tokenizer
    )
    trainer.train()
    assert calls and calls[0] == 4
    assert any(not torch.equal(before[n], p) for n, p in policy.named_parameters())
    logged = [h for h in trainer.state.log_history if any(k.startswith("rewards/token_sum") for k in h)]
    assert logged, trainer.state.log_history
