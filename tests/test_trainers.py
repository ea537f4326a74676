"""Trainer behaviour on tiny random models: learning, resuming, guards, saving."""

import json
import math

import pytest
import torch
from conftest import CountToken, tiny_config
from datasets import Dataset

from rlreward.rewards import FunctionReward, NormalizedReward, RewardError
from rlreward.trainers import PPOConfig, PPOTrainer, ReinforceConfig, ReinforceTrainer

PROMPTS = Dataset.from_dict({"prompt": ["hello", "abc", "the cat", "zz top"] * 4})


def make_config(cls, tmp_path, **overrides):
    base = dict(max_steps=20, batch_size=16, mini_batch_size=8, micro_batch_size=8, max_new_tokens=8)
    base |= dict(learning_rate=3e-3, kl_coef=0.0, use_peft=False)
    output_dir = overrides.pop("output_dir", tmp_path / "run")
    return tiny_config(cls, output_dir, **{**base, **overrides})


@pytest.mark.parametrize(
    "trainer_cls,config_cls,estimator",
    [
        (PPOTrainer, PPOConfig, {}),  # gae
        (PPOTrainer, PPOConfig, {"advantage_estimator": "rloo", "num_generations": 4}),
        (PPOTrainer, PPOConfig, {"advantage_estimator": "grpo", "num_generations": 4}),
        (ReinforceTrainer, ReinforceConfig, {}),  # rloo
        (ReinforceTrainer, ReinforceConfig, {"advantage_estimator": "grpo", "scale_rewards": True}),
    ],
    ids=["ppo-gae", "ppo-rloo", "ppo-grpo", "reinforce-rloo", "reinforce-grpo-scaled"],
)
def test_tiny_policy_learns_an_instant_reward(
    trainer_cls, config_cls, estimator, tokenizer, policy, tmp_path
):
    target = tokenizer.convert_tokens_to_ids("a")
    before = {n: p.detach().clone() for n, p in policy.named_parameters()}
    config = make_config(config_cls, tmp_path, **estimator)
    trainer = trainer_cls(policy, CountToken(target), PROMPTS, config, tokenizer=tokenizer)
    assert (trainer.actor_critic.value_head is not None) == (config.advantage_estimator == "gae")
    history = trainer.train()
    first = sum(h["rewards/mean"] for h in history[:3]) / 3
    last = sum(h["rewards/mean"] for h in history[-3:]) / 3
    assert last > first + 1.5, (first, last)
    assert any(not torch.equal(before[n], p) for n, p in policy.named_parameters())
    assert all(torch.isfinite(p).all() for p in policy.parameters())
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 20 and json.loads(lines[-1])["step"] == 20
    assert ("losses/value" in history[0]) == trainer.uses_value_head


def test_lora_trains_only_the_adapter_and_the_reference_stays_the_base(tokenizer, policy, tmp_path):
    target = tokenizer.convert_tokens_to_ids("a")
    base_weights = {n: p.detach().clone() for n, p in policy.named_parameters()}
    config = make_config(PPOConfig, tmp_path, use_peft=True, learning_rate=1e-2, max_steps=4, lora_r=4)
    trainer = PPOTrainer(policy, CountToken(target), PROMPTS, config, tokenizer=tokenizer)
    rows, seeds = trainer._local_batch(0)
    ref_before = trainer.generate(trainer.train_data, rows, seeds).ref_logprobs
    trainer.train()
    rollout = trainer.generate(trainer.train_data, rows, seeds)
    # LoRA moved the policy away from the reference, while the base weights and thus the reference did not move.
    assert not torch.allclose(rollout.logprobs, rollout.ref_logprobs)
    model = trainer.actor_critic.policy.get_base_model()
    for name, p in model.named_parameters():
        if "lora_" not in name:
            original = name.replace("base_layer.", "")
            assert torch.equal(p, base_weights[original]), name
    lora = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert lora and any(p.abs().sum() > 0 for p in lora)
    del ref_before


def test_resume_gives_the_same_metrics_as_an_uninterrupted_run(tokenizer, tmp_path):
    from conftest import tiny_llama

    target = tokenizer.convert_tokens_to_ids("a")
    drop = lambda h: {k: v for k, v in h.items() if not k.startswith("perf/")}  # noqa: E731

    full_cfg = make_config(PPOConfig, tmp_path / "full", max_steps=6, save_steps=3)
    full = PPOTrainer(tiny_llama(len(tokenizer)), CountToken(target), PROMPTS, full_cfg, tokenizer=tokenizer)
    full_history = [drop(h) for h in full.train()]

    part_cfg = make_config(PPOConfig, tmp_path / "part", max_steps=3, save_steps=3)
    PPOTrainer(tiny_llama(len(tokenizer)), CountToken(target), PROMPTS, part_cfg, tokenizer=tokenizer).train()
    # The first run "died" after its step-3 checkpoint; a new process resumes from it.
    resumed_cfg = make_config(
        PPOConfig, tmp_path / "part", max_steps=6, save_steps=3, resume_from_checkpoint="latest"
    )
    part_cfg_dir = tmp_path / "part" / "run"
    PPOTrainer(
        tiny_llama(len(tokenizer)), CountToken(target), PROMPTS, resumed_cfg, tokenizer=tokenizer
    ).train()
    resumed_history = [
        drop(json.loads(line)) for line in (part_cfg_dir / "metrics.jsonl").read_text().splitlines()
    ]
    assert len(resumed_history) == 6
    for a, b in zip(full_history, resumed_history):
        assert a.keys() == b.keys()
        for k in a:
            assert a[k] == pytest.approx(b[k], rel=1e-5, abs=1e-6), (a["step"], k)


def test_non_finite_reward_is_an_error_naming_the_reward_and_sample(tokenizer, policy, tmp_path):
    def broken(prompts, completions, completion_ids, **kwargs):
        return [float("nan")] + [0.0] * (len(completions) - 1)

    trainer = PPOTrainer(
        policy, broken, PROMPTS, make_config(PPOConfig, tmp_path, max_steps=1), tokenizer=tokenizer
    )
    with pytest.raises(RewardError, match=r"Reward 'broken' returned a non-finite score .* sample 0"):
        trainer.train()


def test_wrong_count_from_a_reward_is_an_error(tokenizer, policy, tmp_path):
    def short(prompts, completions, completion_ids, **kwargs):
        return [1.0]

    trainer = PPOTrainer(
        policy, short, PROMPTS, make_config(PPOConfig, tmp_path, max_steps=1), tokenizer=tokenizer
    )
    with pytest.raises(RewardError, match="exactly one score per completion"):
        trainer.train()


def test_configs_that_cannot_work_fail_at_start(tokenizer, policy, tmp_path):
    with pytest.raises(ValueError, match="multiple of mini_batch_size"):
        PPOConfig(batch_size=10, mini_batch_size=4)
    with pytest.raises(ValueError, match="multiple of num_generations"):
        ReinforceConfig(batch_size=10, mini_batch_size=5, num_generations=4)
    with pytest.raises(ValueError, match="densify"):
        PPOConfig(densify="sparse")
    with pytest.raises(ValueError, match="num_generations >= 2"):
        PPOConfig(advantage_estimator="grpo")
    with pytest.raises(ValueError, match="advantage_estimator='vtrace' is unknown"):
        PPOConfig(advantage_estimator="vtrace")
    with pytest.raises(ValueError, match="needs a value head"):
        ReinforceConfig(advantage_estimator="gae")
    with pytest.raises(ValueError, match="scale_rewards"):
        ReinforceConfig(scale_rewards=True)
    with pytest.raises(ValueError, match="baseline_per_source needs a group baseline"):
        PPOConfig(baseline_per_source=True)
    with pytest.raises(ValueError, match="several reward sources"):
        ReinforceTrainer(
            policy,
            CountToken(3),
            PROMPTS,
            make_config(ReinforceConfig, tmp_path, baseline_per_source=True),
            tokenizer=tokenizer,
        )
    bad_lora = make_config(PPOConfig, tmp_path, use_peft=True, lora_target_modules=["c_attn"])
    with pytest.raises(
        ValueError, match=r"lora_target_modules \['c_attn'\] are not in the model; choose from"
    ):
        PPOTrainer(policy, CountToken(3), PROMPTS, bad_lora, tokenizer=tokenizer)
    long_prompt = Dataset.from_dict({"prompt": ["ok", "x" * 300]})
    with pytest.raises(ValueError, match="row 1 has 300 prompt tokens"):
        PPOTrainer(policy, CountToken(3), long_prompt, make_config(PPOConfig, tmp_path), tokenizer=tokenizer)
    with pytest.raises(ValueError, match="needs a 'prompt'"):
        PPOTrainer(
            policy,
            CountToken(3),
            Dataset.from_dict({"text": ["a"]}),
            make_config(PPOConfig, tmp_path),
            tokenizer=tokenizer,
        )


def test_saved_adapter_loads_with_peft(tokenizer, policy, tmp_path):
    from conftest import tiny_llama
    from peft import PeftModel

    config = make_config(PPOConfig, tmp_path, use_peft=True, max_steps=2, learning_rate=1e-2)
    trainer = PPOTrainer(policy, CountToken(4), PROMPTS, config, tokenizer=tokenizer)
    trainer.train()
    out = trainer.save_model(tmp_path / "final")
    assert (out / "adapter_config.json").exists() and (out / "value_head.safetensors").exists()
    assert "Final metrics" in (out / "README.md").read_text()
    loaded = PeftModel.from_pretrained(tiny_llama(len(tokenizer)), out)
    ids = torch.tensor([[5, 6, 7]])
    trained = trainer.actor_critic.policy
    assert torch.allclose(loaded(ids).logits, trained(input_ids=ids).logits, atol=1e-5)


def test_sampling_is_seeded_per_completion(tokenizer, policy, tmp_path):
    """A completion depends on its own seed, not on the other rows of its batch."""
    trainer = PPOTrainer(
        policy, CountToken(4), PROMPTS, make_config(PPOConfig, tmp_path), tokenizer=tokenizer
    )
    together = trainer.generate(trainer.train_data, [0, 1, 2], [11, 22, 33])
    alone = trainer.generate(trainer.train_data, [1], [22])
    assert together.completions[1] == alone.completions[0]
    width = alone.completion_ids.shape[1]
    assert torch.allclose(together.logprobs[1, :width], alone.logprobs[0], atol=1e-5)


def test_evaluate_reports_reward_kl_and_perplexity(tokenizer, policy, tmp_path):
    trainer = PPOTrainer(
        policy, CountToken(4), PROMPTS, make_config(PPOConfig, tmp_path), tokenizer=tokenizer
    )
    result = trainer.evaluate(PROMPTS.select(range(4)))
    assert len(result.rows) == 4
    assert result.metrics["eval/kl"] == pytest.approx(0.0, abs=1e-5)  # untrained: policy == reference
    assert 1.0 < result.metrics["eval/ref_perplexity"] < 1e4


@pytest.mark.parametrize(
    "trainer_cls,config_cls", [(PPOTrainer, PPOConfig), (ReinforceTrainer, ReinforceConfig)]
)
def test_micro_batch_split_does_not_change_the_gradient(trainer_cls, config_cls, tokenizer, tmp_path):
    """Losses are normalised by the mini-batch's token count, so gradient accumulation is exact."""
    from conftest import tiny_llama

    grads, logged = {}, {}
    for micro in (8, 4, 2):
        config = make_config(
            config_cls, tmp_path, max_steps=1, batch_size=8, micro_batch_size=micro, learning_rate=1e-3
        )
        config.num_epochs = 1
        trainer = trainer_cls(tiny_llama(len(tokenizer)), CountToken(4), PROMPTS, config, tokenizer=tokenizer)
        step = trainer.optimizer.step

        def capture(*args, _t=trainer, _m=micro, _step=step, **kwargs):
            grads[_m] = torch.cat(
                [p.grad.flatten() for p in _t.actor_critic.parameters() if p.grad is not None]
            )
            return _step(*args, **kwargs)

        trainer.optimizer.step = capture
        logged[micro] = trainer.train()[0]
    assert grads[8].norm() > 0
    for micro in (4, 2):
        assert torch.allclose(grads[micro], grads[8], rtol=1e-4, atol=1e-7), micro
        # The logged losses are the mini-batch's, not a micro-batch's share of it.
        for key in ("losses/policy", "losses/value", "losses/clipfrac", "losses/approx_kl"):
            if key in logged[8]:
                assert logged[micro][key] == pytest.approx(logged[8][key], rel=1e-4, abs=1e-7), (micro, key)
    if trainer_cls is PPOTrainer:  # (REINFORCE's first-epoch policy loss is -mean(A) = 0 by construction)
        assert logged[8]["losses/value"] > 1e-4


@pytest.mark.parametrize(
    "trainer_cls,config_cls", [(ReinforceTrainer, ReinforceConfig), (PPOTrainer, PPOConfig)]
)
def test_one_epoch_reuses_the_samplers_logprobs_and_values(
    trainer_cls, config_cls, tokenizer, policy, tmp_path, monkeypatch
):
    """With one epoch the rollout's log-probs (and PPO's values) come from the sampler, with no policy
    pass of their own; they must match the full forward pass."""
    from rlreward.trainers import base
    from rlreward.trainers.rollout import score_tokens

    config = make_config(config_cls, tmp_path, batch_size=8, mini_batch_size=8, num_epochs=1)
    trainer = trainer_cls(policy, CountToken(4), PROMPTS, config, tokenizer=tokenizer)
    if trainer.uses_value_head:
        torch.nn.init.normal_(trainer.actor_critic.value_head.linear.weight)
    rows, seeds = trainer._local_batch(0)
    passes = []
    monkeypatch.setattr(
        base, "score_tokens", lambda model, *a: passes.append(model) or score_tokens(model, *a)
    )
    rollout = trainer.generate(trainer.train_data, rows, seeds)
    assert len(passes) == 1 and passes[0].value_head is None  # the reference's pass only
    inputs = (rollout.prompt_ids, rollout.prompt_mask, rollout.completion_ids, rollout.completion_mask)
    fresh, values = score_tokens(trainer.actor_critic, *inputs)
    mask = rollout.completion_mask.bool()
    assert torch.allclose(rollout.logprobs[mask], fresh[mask], atol=1e-4)
    assert (rollout.values is None) == (values is None) == (not trainer.uses_value_head)
    if values is not None:
        assert values[mask].abs().max() > 0.1
        assert torch.allclose(rollout.values[mask], values[mask], atol=1e-4)


def test_report_to_tensorboard_writes_event_files(tokenizer, policy, tmp_path):
    config = make_config(PPOConfig, tmp_path, max_steps=2, report_to="tensorboard")
    PPOTrainer(policy, CountToken(4), PROMPTS, config, tokenizer=tokenizer).train()
    events = list((tmp_path / "run").rglob("events.out.tfevents.*"))
    assert events, "no TensorBoard event file written"


def test_init_adapter_resumes_the_saved_adapter_against_the_base_reference(tokenizer, policy, tmp_path):
    from conftest import tiny_llama

    config = make_config(PPOConfig, tmp_path, use_peft=True, max_steps=2, learning_rate=1e-2)
    trained = PPOTrainer(policy, CountToken(4), PROMPTS, config, tokenizer=tokenizer)
    trained.train()
    saved = trained.save_model(tmp_path / "final")
    again = make_config(
        PPOConfig, tmp_path, use_peft=True, init_adapter=str(saved), output_dir=str(tmp_path / "b")
    )
    warm = PPOTrainer(tiny_llama(len(tokenizer)), CountToken(4), PROMPTS, again, tokenizer=tokenizer)
    ids = torch.tensor([[5, 6, 7]])
    policy_logits = warm.actor_critic.policy(input_ids=ids).logits
    assert torch.allclose(policy_logits, trained.actor_critic.policy(input_ids=ids).logits, atol=1e-6)
    with warm.actor_critic.policy.disable_adapter():  # the reference is the untouched base model
        assert torch.allclose(
            warm.actor_critic.policy(input_ids=ids).logits, tiny_llama(len(tokenizer))(ids).logits
        )
    assert not torch.allclose(policy_logits, tiny_llama(len(tokenizer))(ids).logits, atol=1e-4)
    assert any(p.requires_grad for p in warm.actor_critic.policy.parameters())  # trained on, not frozen
    with pytest.raises(ValueError, match="init_adapter=.*adapter_config.json"):
        bad = make_config(PPOConfig, tmp_path, use_peft=True, init_adapter=str(tmp_path))
        PPOTrainer(tiny_llama(len(tokenizer)), CountToken(4), PROMPTS, bad, tokenizer=tokenizer)


class Recorder:
    """A callback: records what it sees and stops training after ``stop_at`` steps."""

    def __init__(self, stop_at=None):
        self.stop_at, self.steps, self.evaluations, self.ended = stop_at, [], [], None

    def on_step_end(self, trainer, metrics):
        self.steps.append(metrics["step"])
        if metrics["step"] == self.stop_at:
            trainer.should_stop = True

    def on_evaluate(self, trainer, result):
        self.evaluations.append((trainer.step, result.metrics["eval/reward"]))

    def on_train_end(self, trainer, history):
        self.ended = len(history)


def test_callbacks_see_every_step_periodic_evaluations_and_can_stop_a_run(tokenizer, policy, tmp_path):
    config = make_config(PPOConfig, tmp_path, max_steps=4, eval_steps=2, batch_size=8, mini_batch_size=8)
    recorder = Recorder(stop_at=3)
    trainer = PPOTrainer(
        policy,
        CountToken(4),
        PROMPTS,
        config,
        tokenizer=tokenizer,
        eval_dataset=PROMPTS,
        callbacks=[recorder],
    )
    history = trainer.train()
    assert recorder.steps == [1, 2, 3] and recorder.ended == 3 and len(history) == 3
    assert [step for step, _ in recorder.evaluations] == [2]
    assert "eval/reward" in history[1] and "eval/reward" not in history[0]
    assert (tmp_path / "run" / "checkpoint-3").is_dir()  # a stopped run can be resumed
    resumed = make_config(
        PPOConfig,
        tmp_path,
        max_steps=4,
        eval_steps=2,
        batch_size=8,
        mini_batch_size=8,
        resume_from_checkpoint="latest",
    )
    from conftest import tiny_llama

    rest = Recorder()
    again = PPOTrainer(
        tiny_llama(len(tokenizer)),
        CountToken(4),
        PROMPTS,
        resumed,
        tokenizer=tokenizer,
        eval_dataset=PROMPTS,
        callbacks=[rest],
    )
    again.train()
    assert rest.steps == [4] and [step for step, _ in rest.evaluations] == [4]
    with pytest.raises(ValueError, match="eval_steps=2 needs an eval_dataset"):
        PPOTrainer(tiny_llama(len(tokenizer)), CountToken(4), PROMPTS, config, tokenizer=tokenizer).train()


@pytest.mark.parametrize("temperature", [0.0, 0.7])
def test_eval_kl_is_zero_for_an_untrained_adapter_whatever_the_temperatures(tokenizer, tmp_path, temperature):
    """Policy and reference log-probs are both taken at temperature 1 in evaluate()."""
    from conftest import tiny_llama

    results = {}
    for train_temperature in (0.7, 1.0):
        config = make_config(
            PPOConfig, tmp_path / str(train_temperature), use_peft=True, temperature=train_temperature
        )
        trainer = PPOTrainer(tiny_llama(len(tokenizer)), CountToken(4), PROMPTS, config, tokenizer=tokenizer)
        results[train_temperature] = trainer.evaluate(PROMPTS.select(range(4)), temperature=temperature)
    for result in results.values():
        assert result.metrics["eval/kl"] == pytest.approx(0.0, abs=1e-5)  # policy == reference
    # The reference's perplexity of the same text does not depend on the training temperature.
    assert [r["completion"] for r in results[0.7].rows] == [r["completion"] for r in results[1.0].rows]
    assert results[0.7].metrics["eval/ref_perplexity"] == pytest.approx(
        results[1.0].metrics["eval/ref_perplexity"], rel=1e-5
    )


def count_a(prompts, completions, completion_ids, **kwargs):
    """A sequence-only reward (the trainer densifies it): the number of 'a' tokens (id 3)."""
    return [float(sum(1 for t in ids if t == 3)) for ids in completion_ids]


def test_resume_with_a_normalized_reward_equals_an_uninterrupted_run(tokenizer, tmp_path):
    from conftest import tiny_llama

    drop = lambda h: {k: v for k, v in h.items() if not k.startswith("perf/")}  # noqa: E731

    def run(folder, max_steps, resume=None):
        config = make_config(
            PPOConfig, folder, max_steps=max_steps, save_steps=2, resume_from_checkpoint=resume
        )
        reward = NormalizedReward(FunctionReward(count_a))
        trainer = PPOTrainer(tiny_llama(len(tokenizer)), reward, PROMPTS, config, tokenizer=tokenizer)
        return trainer, reward, trainer.train()

    full, full_reward, full_history = run(tmp_path / "full", 4)
    run(tmp_path / "part", 2)
    _, resumed_reward, _ = run(tmp_path / "part", 4, resume="latest")
    resumed_history = [
        json.loads(line) for line in (tmp_path / "part" / "run" / "metrics.jsonl").read_text().splitlines()
    ]
    assert resumed_reward.moments.count == full_reward.moments.count == 4 * 16
    assert resumed_reward.moments.mean == pytest.approx(full_reward.moments.mean, rel=1e-9)
    for a, b in zip(full_history, resumed_history):
        for k in drop(a):
            assert a[k] == pytest.approx(b[k], rel=1e-5, abs=1e-6), (a["step"], k)
    # Evaluation uses the statistics without moving them.
    before = full.reward.state_dict()
    full.evaluate(PROMPTS.select(range(4)))
    assert full.reward.state_dict() == before and not full_reward.frozen


def test_eos_rate_counts_an_eos_in_the_last_column_as_stopped(tokenizer, policy, tmp_path):
    config = make_config(PPOConfig, tmp_path, max_steps=1, batch_size=8, mini_batch_size=8)
    trainer = PPOTrainer(policy, CountToken(4), PROMPTS, config, tokenizer=tokenizer)
    generate = trainer.generate

    def generate_with_known_endings(*args, **kwargs):
        rollout = generate(*args, **kwargs)
        b, t = rollout.completion_ids.shape
        ids = torch.full((b, t), 5)
        ids[: b // 2, -1] = 1  # half end with EOS exactly at max_new_tokens, half are cut off
        rollout.completion_ids, rollout.completion_mask = ids, torch.ones(b, t, dtype=torch.long)
        return rollout

    trainer.generate = generate_with_known_endings
    assert trainer.train()[0]["completions/eos_rate"] == 0.5


def test_baseline_per_source_takes_each_rewards_group_baseline_then_sums(tokenizer, tmp_path):
    from conftest import tiny_llama

    from rlreward.rl import discounted_returns, group_advantages

    rewards = [CountToken(3), CountToken(4, other=0.5)]
    advantages = {}
    for per_source in (False, True):
        for estimator, scale in (("rloo", False), ("grpo", True)):
            config = make_config(
                ReinforceConfig,
                tmp_path,
                advantage_estimator=estimator,
                scale_rewards=scale,
                baseline_per_source=per_source,
                kl_coef=0.1,
                use_peft=True,
            )
            trainer = ReinforceTrainer(
                tiny_llama(len(tokenizer)), rewards, PROMPTS, config, tokenizer=tokenizer
            )
            rows, seeds = trainer._local_batch(0)
            rollout = trainer.generate(trainer.train_data, rows, seeds)
            rollout.ref_logprobs = rollout.ref_logprobs - 0.1  # a KL penalty that is not zero
            sources = trainer.score(rollout)
            assert set(sources) == {"count_token_0", "count_token_1"}
            torch.testing.assert_close(sum(sources.values()), rollout.token_rewards)
            penalty = -0.1 * trainer.kl_per_token(rollout)
            total = rollout.token_rewards + penalty
            sources["kl_penalty"] = penalty  # as update() adds it
            adv = trainer.compute_advantages(rollout, total, sources)["advantages"]
            advantages[per_source, estimator] = adv
            mask = rollout.completion_mask

            def group(r, mask=mask, estimator=estimator, scale=scale):
                return group_advantages(discounted_returns(r, mask), mask, 4, estimator, scale)

            parts = list(sources.values()) if per_source else [total]
            torch.testing.assert_close(adv, sum(group(r) for r in parts))
    # The leave-one-out baseline is linear: per source or of the sum, the same advantages; GRPO's
    # per-source std scaling is not.
    torch.testing.assert_close(advantages[True, "rloo"], advantages[False, "rloo"], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(advantages[True, "grpo"], advantages[False, "grpo"], atol=1e-3)
    config = make_config(
        ReinforceConfig, tmp_path / "train", max_steps=2, advantage_estimator="grpo", scale_rewards=True
    )
    config.baseline_per_source, config.kl_coef = True, 0.1
    history = ReinforceTrainer(
        tiny_llama(len(tokenizer)), rewards, PROMPTS, config, tokenizer=tokenizer
    ).train()
    assert all(math.isfinite(h["losses/policy"]) for h in history)


def test_the_last_step_is_checkpointed_and_a_finished_run_extends(tokenizer, tmp_path):
    from conftest import tiny_llama

    from rlreward.trainers.checkpoint import list_checkpoints

    target = tokenizer.convert_tokens_to_ids("a")
    cfg = make_config(PPOConfig, tmp_path / "r", max_steps=2, save_steps=0)
    PPOTrainer(tiny_llama(len(tokenizer)), CountToken(target), PROMPTS, cfg, tokenizer=tokenizer).train()
    out = tmp_path / "r" / "run"
    assert [p.name for p in list_checkpoints(out)] == ["checkpoint-2"]
    more = make_config(PPOConfig, tmp_path / "r", max_steps=3, save_steps=0, resume_from_checkpoint="latest")
    trainer = PPOTrainer(tiny_llama(len(tokenizer)), CountToken(target), PROMPTS, more, tokenizer=tokenizer)
    assert [h["step"] for h in trainer.train()] == [1, 2, 3]


def test_a_broken_or_mismatched_checkpoint_is_one_sentence_naming_it(tokenizer, tmp_path):
    from conftest import tiny_llama

    target = tokenizer.convert_tokens_to_ids("a")
    lora = dict(use_peft=True, lora_r=8, lora_alpha=16)
    cfg = make_config(PPOConfig, tmp_path / "r", max_steps=1, save_steps=1, **lora)
    PPOTrainer(tiny_llama(len(tokenizer)), CountToken(target), PROMPTS, cfg, tokenizer=tokenizer).train()
    checkpoint = tmp_path / "r" / "run" / "checkpoint-1"
    resume = dict(max_steps=2, save_steps=1, resume_from_checkpoint="latest", use_peft=True, lora_alpha=16)
    # Another LoRA rank: the shapes differ, said in one sentence rather than a state-dict dump.
    other = make_config(PPOConfig, tmp_path / "r", lora_r=4, **resume)  # saved with r=8
    trainer = PPOTrainer(tiny_llama(len(tokenizer)), CountToken(target), PROMPTS, other, tokenizer=tokenizer)
    with pytest.raises(ValueError, match=r"was trained with other shapes .*another lora_r") as caught:
        trainer.train()
    assert len(str(caught.value).splitlines()) == 1
    # A truncated file: named, with what to do.
    data = (checkpoint / "trainable.pt").read_bytes()
    (checkpoint / "trainable.pt").write_bytes(data[: len(data) // 2])
    same = make_config(PPOConfig, tmp_path / "r", lora_r=8, **resume)
    trainer = PPOTrainer(tiny_llama(len(tokenizer)), CountToken(target), PROMPTS, same, tokenizer=tokenizer)
    with pytest.raises(ValueError, match=r"trainable\.pt cannot be read .*truncated or corrupt; delete"):
        trainer.train()


@pytest.mark.parametrize(
    "trainer_cls,config_cls", [(PPOTrainer, PPOConfig), (ReinforceTrainer, ReinforceConfig)]
)
def test_held_out_evaluations_leave_training_unchanged(trainer_cls, config_cls, tokenizer, tmp_path):
    from conftest import tiny_llama

    runs = []
    for eval_steps in (0, 1):  # none, or a sampled held-out evaluation after every step
        config = make_config(
            config_cls, tmp_path, output_dir=tmp_path / f"run{eval_steps}", max_steps=3, eval_steps=eval_steps,
            batch_size=8, mini_batch_size=8, use_peft=True, lora_dropout=0.1, temperature=1.0,
        )  # fmt: skip
        trainer = trainer_cls(
            tiny_llama(len(tokenizer)), CountToken(4), PROMPTS, config, tokenizer=tokenizer,
            eval_dataset=PROMPTS if eval_steps else None, eval_temperature=1.0,
        )  # fmt: skip
        history = trainer.train()
        weights = {
            n: p.detach().clone() for n, p in trainer.actor_critic.named_parameters() if p.requires_grad
        }
        runs.append(([m["rewards/mean"] for m in history], weights))
    (rewards, weights), (rewards_evaluated, weights_evaluated) = runs
    assert "eval/reward" in history[0]  # the second run did evaluate
    assert rewards == rewards_evaluated
    assert weights.keys() == weights_evaluated.keys()
    assert all(torch.equal(weights[n], weights_evaluated[n]) for n in weights)
    assert any(
        not torch.equal(w, torch.zeros_like(w)) for n, w in weights.items() if "lora_B" in n
    )  # trained
