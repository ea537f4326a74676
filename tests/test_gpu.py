"""The CUDA path: bf16 with LoRA, sampling and classifier scores against the CPU, trainers, DeepSpeed, FSDP.

Every test here is marked ``gpu`` and skips without CUDA. Run them with ``pytest -m gpu tests/test_gpu.py``
(``benchmarks/gpu_suite.sh`` does). ``RLREWARD_GPU_TESTS_ON_CPU=1`` runs the single-process tests on the
CPU instead, where "CUDA equals CPU" compares the CPU with itself: that only checks that the tests still
run (the smoke mode of ``benchmarks/gpu_suite.sh`` uses it); the sharded ones still need CUDA.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import PRINTABLE, CountToken, char_tokenizer, save_tiny_reward_model, tiny_config, tiny_llama
from datasets import Dataset

from rlreward.rewards.classifier import ClassifierReward
from rlreward.trainers import PPOConfig, PPOTrainer, ReinforceConfig, ReinforceTrainer
from rlreward.trainers.rollout import ActorCritic, left_pad, sample, score_tokens

pytestmark = pytest.mark.gpu

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = ["hello", "abc", "the cat", "zz top", "a b c d e", "why?"]


@pytest.fixture
def device() -> str:
    if torch.cuda.is_available():
        return "cuda"
    if os.environ.get("RLREWARD_GPU_TESTS_ON_CPU") == "1":
        return "cpu"
    pytest.skip("needs a CUDA device")


@pytest.fixture(autouse=True)
def fresh_accelerator_state():
    """Each trainer here may ask for another mixed precision; accelerate keeps one state per process."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


def batch(tokenizer, prompts=PROMPTS, device="cpu"):
    return left_pad([tokenizer(p)["input_ids"] for p in prompts], tokenizer.pad_token_id, device)


def config(cls, tmp_path, **overrides):
    return tiny_config(
        cls, tmp_path / "run", **{"max_new_tokens": 8, "lora_r": 4, "lora_alpha": 8, **overrides}
    )


def trainable(trainer) -> dict[str, torch.Tensor]:
    model = trainer.accelerator.unwrap_model(trainer.actor_critic)
    return {n: p.detach().float().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}


# ---------------------------------------------------------------- sampling and scoring, CUDA against CPU


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_completions_on_cuda_equal_the_cpus(device, temperature):
    """fp32, same prompts, same per-completion seeds: the same tokens (the Gumbel noise is drawn on the CPU
    for every device, so sampling agrees too, not only greedy decoding)."""
    tok = char_tokenizer()
    model = tiny_llama(len(tok)).eval()
    ids, mask = batch(tok)
    seeds = list(range(100, 100 + len(PROMPTS)))
    args = (seeds, 12, [tok.eos_token_id], tok.pad_token_id, temperature)
    on_cpu = sample(model, ids, mask, *args)
    on_device = sample(model.to(device), ids.to(device), mask.to(device), *args)
    assert torch.equal(on_device.ids.cpu(), on_cpu.ids)
    torch.testing.assert_close(on_device.logprobs.cpu(), on_cpu.logprobs, atol=1e-4, rtol=1e-4)


def test_bf16_log_probs_on_cuda_are_within_tolerance_of_fp32_on_cpu(device):
    tok = char_tokenizer()
    model = tiny_llama(len(tok)).eval()
    ids, mask = batch(tok)
    completion = sample(model, ids, mask, [0] * len(PROMPTS), 10, [tok.eos_token_id], tok.pad_token_id).ids
    completion_mask = torch.ones_like(completion)
    fp32, _ = score_tokens(ActorCritic(model), ids, mask, completion, completion_mask)
    model_bf16 = model.to(device=device, dtype=torch.bfloat16)
    on_device = [t.to(device) for t in (ids, mask, completion, completion_mask)]
    bf16, _ = score_tokens(ActorCritic(model_bf16), *on_device)
    assert bf16.dtype == torch.float32 and torch.isfinite(bf16).all()
    # bf16 keeps 8 bits of mantissa: log-probs of about -3.5 move by a few hundredths at most.
    torch.testing.assert_close(bf16.cpu(), fp32, atol=5e-2, rtol=0)


def test_single_pass_classifier_scores_on_cuda_equal_the_cpus(device, tmp_path):
    """The causal classifier's one-pass prefix scores (per-token rewards and their sequence sum)."""
    folder = save_tiny_reward_model(tmp_path / "rm", num_labels=2)
    tok = char_tokenizer(PRINTABLE)
    texts = ["what a great film", "bad. boring!", "ok", "the cast was fine but the plot was not"]
    ids = tok(texts, add_special_tokens=False)["input_ids"]
    on_cpu = ClassifierReward(str(folder), tok, label=1, device="cpu")
    on_device = ClassifierReward(str(folder), tok, label=1, device=device)
    assert on_cpu.single_pass and on_device.single_pass
    expected = on_cpu.score(["review:"] * 4, texts, ids)
    actual = on_device.score(["review:"] * 4, texts, ids)
    torch.testing.assert_close(actual.tokens.cpu(), expected.tokens, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(actual.sequence.cpu(), expected.sequence, atol=1e-5, rtol=1e-5)
    assert expected.tokens.abs().sum() > 0


# ---------------------------------------------------------------- training steps on CUDA


@pytest.mark.parametrize(
    "trainer_cls,config_cls", [(PPOTrainer, PPOConfig), (ReinforceTrainer, ReinforceConfig)]
)
def test_two_steps_on_cuda_change_the_parameters_and_keep_them_finite(
    trainer_cls, config_cls, device, tmp_path
):
    tok = char_tokenizer()
    data = Dataset.from_dict({"prompt": PROMPTS[:4] * 2})
    reward = CountToken(tok.convert_tokens_to_ids("a"), other=-0.1)
    trainer = trainer_cls(tiny_llama(len(tok)), reward, data, config(config_cls, tmp_path), tokenizer=tok)
    assert trainer.accelerator.device.type == device
    assert {p.device.type for p in trainer.actor_critic.parameters()} == {device}
    before = trainable(trainer)
    history = trainer.train()
    after = trainable(trainer)
    assert len(history) == 2
    assert all(torch.isfinite(p).all() for p in after.values())
    assert any(not torch.equal(before[n], after[n]) for n in before)
    for h in history:
        assert all(torch.isfinite(torch.tensor(float(v))) for k, v in h.items() if k.startswith("losses/"))
    if device == "cuda":
        assert history[-1]["perf/peak_memory_mb"] > 0


@pytest.mark.parametrize("precision", ["bf16_weights", "bf16_autocast"])
def test_bf16_lora_training_step_on_cuda(precision, device, tmp_path, monkeypatch):
    """A LoRA step on a bf16 base (weights stored in bf16), or on an fp32 base under accelerate's bf16
    autocast: the adapter moves, stays finite, and the base weights do not move."""
    tok = char_tokenizer()
    model = tiny_llama(len(tok))
    if precision == "bf16_weights":
        model = model.to(torch.bfloat16)
    else:
        monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "bf16")
    base = {n: p.detach().clone() for n, p in model.named_parameters()}
    data = Dataset.from_dict({"prompt": PROMPTS[:4] * 2})
    reward = CountToken(tok.convert_tokens_to_ids("a"), other=-0.1)
    trainer = ReinforceTrainer(
        model, reward, data, config(ReinforceConfig, tmp_path, max_steps=1, use_peft=True), tokenizer=tok
    )
    if precision == "bf16_autocast":
        assert trainer.accelerator.mixed_precision == "bf16"
    before = trainable(trainer)
    assert before and all("lora_" in n for n in before)
    history = trainer.train()
    after = trainable(trainer)
    assert all(torch.isfinite(p).all() for p in after.values())
    assert any(not torch.equal(before[n], after[n]) for n in before if "lora_B" in n)
    assert all(torch.isfinite(torch.tensor(v)) for k, v in history[0].items() if k.startswith("losses/"))
    policy = trainer.accelerator.unwrap_model(trainer.actor_critic).policy.get_base_model()
    for name, p in policy.named_parameters():
        if "lora_" not in name:
            original = name.replace("base_layer.", "")
            assert torch.equal(p.cpu(), base[original]), name


# ---------------------------------------------------------------- DeepSpeed and FSDP under accelerate launch


@pytest.mark.parametrize("config_file", ["deepspeed_zero2.yaml", "fsdp.yaml"])
def test_sharded_configs_take_ppo_steps_through_accelerate_launch(config_file, tmp_path):
    """The shipped configs as a user launches them (one process), PPO with LoRA and a value head."""
    if not torch.cuda.is_available():
        pytest.skip("DeepSpeed and FSDP configs need a CUDA device")
    if config_file.startswith("deepspeed") and importlib.util.find_spec("deepspeed") is None:
        pytest.skip("deepspeed is not installed")
    cmd = [sys.executable, "-m", "accelerate.commands.launch"]
    cmd += ["--config_file", str(ROOT / "recipes" / "accelerate" / config_file), "--num_processes", "1"]
    cmd += [str(ROOT / "tests" / "scripts" / "accelerate_step.py"), str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["distributed_type"] == ("DEEPSPEED" if config_file.startswith("deepspeed") else "FSDP")
    assert report["steps"] == 2
    assert report["finite"], report
    assert report["changed"] > 0, report
