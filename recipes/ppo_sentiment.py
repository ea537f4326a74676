"""PPO with instant VADER rewards: teach a policy to write positive movie-review continuations.

The algorithm, as run by default:

1. prompts: 326 movie-review openings written for rlreward (64 more held out for evaluation);
2. policy: SmolLM2-135M-Instruct with a LoRA adapter; the reference is the same model, adapter off;
3. reward: VADER compound sentiment of the completion, given *per token* as the change in the
   prefix's score (``r_t = phi(y_<=t) - phi(y_<t)``, summing to the sequence score);
4. PPO: a value head on the shared backbone, per-token KL penalty, GAE, clipped updates.

Launch:

    accelerate launch recipes/ppo_sentiment.py                                   # 1 process
    accelerate launch --multi_gpu --num_processes 2 recipes/ppo_sentiment.py  # 2 processes: GPUs, or CPUs (gloo)
    accelerate launch --config_file recipes/accelerate/multi_gpu.yaml recipes/ppo_sentiment.py
    python recipes/ppo_sentiment.py --config recipes/configs/ppo_sentiment.yaml --max_steps 10

Own data: ``--dataset stanfordnlp/imdb --dataset_column text`` (first 8 words of each review).
Own reward: ``--reward my_pkg.rewards:positivity`` or ``--reward path/to/classifier --reward_label POSITIVE``.
"""

from __future__ import annotations

from rlreward.data import load_sentiment_prompts
from rlreward.recipe import parse_args, run
from rlreward.rewards.lexicon import SentimentLexiconReward
from rlreward.trainers import PPOConfig

# ---- defaults of this recipe (a YAML or CLI flags override them) ------------------------
DEFAULTS = dict(
    output_dir="outputs/ppo_sentiment",
    max_steps=40,
    batch_size=16,
    mini_batch_size=8,
    micro_batch_size=8,
    num_epochs=2,
    max_new_tokens=24,
    learning_rate=3e-4,
    kl_coef=0.05,
    densify="prefix_delta",
    use_chat_template=False,  # plain continuation of the review opening: short prompts, fast steps
    save_steps=10,
    sample_steps=10,
)

BUILTIN_REWARDS = {
    "vader": lambda tokenizer: SentimentLexiconReward(tokenizer=tokenizer),
    "vader_sequence": lambda tokenizer: SentimentLexiconReward(per_token=None),
}


def positive_share(result) -> dict[str, float]:
    """Share of held-out completions VADER calls positive (compound >= 0.05, VADER's own threshold)."""
    return {"eval/positive_share": sum(r["reward"] >= 0.05 for r in result.rows) / len(result.rows)}


def main() -> None:
    # ---- config --------------------------------------------------------------------------
    args, config = parse_args(PPOConfig, defaults=DEFAULTS)
    # ---- data ----------------------------------------------------------------------------
    if args.dataset:
        data = load_sentiment_prompts(args.dataset, column=args.dataset_column or "text", prefix_words=8)
    else:
        data = load_sentiment_prompts(eval_size=args.eval_size, seed=0)
    # ---- model, reward, trainer, train, evaluate, save, report ----------------------------
    run(args, config, data, BUILTIN_REWARDS, ["vader"], positive_share, title="PPO sentiment (instant VADER)")


if __name__ == "__main__":
    main()
