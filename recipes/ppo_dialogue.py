"""PPO with an instant reward-model reward: teach a policy to reply coherently in short conversations.

The algorithm, as run by default:

1. prompts: chatterbot-corpus conversations cut into (up to 3 context turns -> the real next reply),
   1,178 of them, 48 held out for evaluation; the policy sees the context as a chat;
2. policy: SmolLM2-135M-Instruct (chat template on) with a LoRA adapter; the reference is the same
   model, adapter off;
3. reward, per token: a reply-coherence reward model (``recipes/train_reward_model.py``: the real
   next reply beats a reply from another conversation) scoring the context turns and the reply,
   given per token as the change in its score over the reply's prefixes,
   ``r_t = phi(y_<=t) - phi(y_<t)`` (one forward pass for a causal classifier, one per distinct
   prefix for an encoder such as the default minilm-l6); plus ``-1/m`` on every token that repeats
   one of the reply's m trigrams (RepetitionPenalty) and ``-0.02`` on every token after the 20th
   (LengthPenalty);
4. PPO: value head, per-token KL penalty, GAE, clipped updates (as in ppo_sentiment.py).

Reported before and after: the reward model's score and chrF against the real reply (0-100), on
greedy replies to the held-out contexts.

Default budget, for about 20 minutes on 2 CPU cores: contexts are ~40 tokens and real replies ~8
(90th percentile 30), so replies get at most 32 tokens. A 1-step run took 28.5 s per step of 16
(15 s generation, 1.5 s for the default minilm-l6 reward model re-scoring every prefix, 12 s update)
on a lightly loaded 2-core machine, so at ~33 s 32 steps take ~18 min, plus ~2 min for two greedy
evaluations of 48 contexts.

Launch (train the reward model first; it lands in outputs/reward_model_dialogue):

    python recipes/train_reward_model.py
    accelerate launch recipes/ppo_dialogue.py                                    # 1 process
    accelerate launch --multi_gpu --num_processes 2 recipes/ppo_dialogue.py  # 2 processes: GPUs, or CPUs (gloo)
    accelerate launch --config_file recipes/accelerate/multi_gpu.yaml recipes/ppo_dialogue.py
    python recipes/ppo_dialogue.py --config recipes/configs/ppo_dialogue.yaml --max_steps 10

Another reward model: ``--reward path/to/rm --reward repetition --reward length --reward_weights 1 1 1``
(``--reward`` replaces the whole default list). Own data: ``--dataset chats.jsonl --dataset_column
messages --reference_column reply`` (a column of chats, or of plain user texts).
"""

from __future__ import annotations

import os
import sys

from rlreward.data import load_dialogue
from rlreward.recipe import load_own_dataset, parse_args, reference_metrics, run
from rlreward.rewards.classifier import ClassifierReward
from rlreward.rewards.metrics import LengthPenalty, RepetitionPenalty
from rlreward.trainers import PPOConfig

DEFAULT_REWARD_MODEL = "outputs/reward_model_dialogue"

# ---- defaults of this recipe (a YAML or CLI flags override them) ------------------------
DEFAULTS = dict(
    output_dir="outputs/ppo_dialogue",
    eval_size=48,
    eval_temperature=0.0,
    max_steps=32,
    batch_size=16,
    mini_batch_size=8,
    micro_batch_size=8,
    num_epochs=2,
    max_new_tokens=32,
    learning_rate=3e-4,
    kl_coef=0.05,
    densify="prefix_delta",
    save_steps=16,
    sample_steps=8,
)

BUILTIN_REWARDS = {
    "repetition": lambda tokenizer: RepetitionPenalty(n=3),
    "length": lambda tokenizer: LengthPenalty(target_tokens=20, per_token_cost=0.02),
}


class RewardModels:
    """Loads classifier ``--reward`` specs as reward models of the reply given its context, and
    reports the first one's mean score on evaluation replies."""

    def __init__(self):
        self.loaded: list[ClassifierReward] = []

    def __call__(self, spec: str, tokenizer, label) -> ClassifierReward:
        model = ClassifierReward(spec, label=label, include_prompt=True, policy_tokenizer=tokenizer)
        # train_reward_model.py records whether it scored the context too; the default is yes.
        model.include_prompt = getattr(model.model.config, "rlreward_include_prompt", True)
        model.name = "reward_model"
        self.loaded.append(model)
        return model

    def metrics(self, result) -> dict[str, float]:
        metrics = reference_metrics(result, bleu=False)
        if self.loaded:
            rows = result.rows
            scores = self.loaded[0]([r["prompt"] for r in rows], [r["completion"] for r in rows])
            metrics["eval/reward_model"] = sum(scores) / len(scores)
        return metrics


def main() -> None:
    # ---- config --------------------------------------------------------------------------
    args, config = parse_args(PPOConfig, defaults=DEFAULTS)
    needs_default_model = DEFAULT_REWARD_MODEL in (args.reward or [DEFAULT_REWARD_MODEL])
    if needs_default_model and not os.path.isdir(DEFAULT_REWARD_MODEL):
        sys.exit(
            f"No reward model at {DEFAULT_REWARD_MODEL}: run `python recipes/train_reward_model.py` first, "
            "or pass --reward <reward model folder> (plus --reward repetition --reward length)."
        )
    # ---- data: messages (the context as a chat), reference (the real next reply) ------------
    if args.dataset:
        data = load_own_dataset(args, f"dialogue: {args.dataset}", reference=("reference", "reference"))
    else:
        data = load_dialogue(eval_size=args.eval_size, seed=0)
    # The policy and the reward model see the context as chat messages (the reward model's text:
    # the turns joined by newlines, then the reply, as train_reward_model.py trains it).
    if "messages" not in data["train"].column_names:
        data = data.map(lambda row: {"messages": [{"role": "user", "content": row["prompt"]}]})
    data = data.remove_columns("prompt")
    # ---- model, reward, trainer, train, evaluate, save, report ----------------------------
    reward_models = RewardModels()
    run(
        args,
        config,
        data,
        BUILTIN_REWARDS,
        [DEFAULT_REWARD_MODEL, "repetition", "length"],
        reward_models.metrics,
        title="PPO dialogue (instant reward-model score + repetition and length terms)",
        classifier=reward_models,
        reference=lambda row: row["reference"],  # --sft_baseline imitates the real reply
    )


if __name__ == "__main__":
    main()
