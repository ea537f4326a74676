"""PPO with instant VADER rewards: teach a policy to write positive movie-review continuations.

The algorithm, as run by default:

1. prompts: 326 movie-review openings written for rlreward (64 more held out for evaluation);
2. policy: SmolLM2-135M-Instruct with a LoRA adapter; the reference is the same model, adapter off;
3. reward: VADER compound sentiment of the completion, given *per token* as the change in the
   prefix's score (``r_t = phi(y_<=t) - phi(y_<t)``, summing to the sequence score);
4. PPO: a value head on the shared backbone, per-token KL penalty, GAE, clipped updates.

Defaults: ``recipes/configs/ppo_sentiment.yaml`` (``--config`` another YAML; flags override it).
The task (data, rewards, metrics): ``rlreward/tasks/sentiment.py``.

Launch:

    accelerate launch recipes/ppo_sentiment.py                                   # 1 process, every core
    accelerate launch --multi_gpu --num_processes 2 recipes/ppo_sentiment.py  # 2 processes: GPUs, or CPUs (gloo)
    accelerate launch --config_file recipes/accelerate/multi_gpu.yaml recipes/ppo_sentiment.py
    python recipes/ppo_sentiment.py --max_steps 10 --output_dir outputs/short

Own data: ``--dataset stanfordnlp/imdb --dataset_column text --prefix_words 8`` (the first 8 words of
each review). Own reward: ``--reward my_pkg.rewards:positivity`` or ``--reward path/to/classifier
--reward_label POSITIVE``.
"""

from pathlib import Path

from rlreward.cli import main
from rlreward.tasks.sentiment import TASK

if __name__ == "__main__":
    main(TASK, Path(__file__).parent / "configs" / "ppo_sentiment.yaml")
