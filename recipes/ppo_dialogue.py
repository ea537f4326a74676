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
    python recipes/ppo_dialogue.py --max_steps 10 --output_dir outputs/short

Another reward model: ``--reward path/to/rm --reward repetition --reward length --reward_weights 1 1 1``
(``--reward`` replaces the whole default list). Own data: ``--dataset chats.jsonl --dataset_column
messages --reference_column reply`` (a column of chats, or of plain user texts).
"""

from pathlib import Path

from rlreward.cli import main
from rlreward.tasks.dialogue import TASK

if __name__ == "__main__":
    main(TASK, Path(__file__).parent / "configs" / "ppo_dialogue.yaml")
