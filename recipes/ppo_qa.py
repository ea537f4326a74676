"""PPO with instant token-F1 rewards: teach a policy to answer trivia questions briefly and correctly.

The algorithm, as run by default:

1. prompts: the chatterbot corpus's trivia questions with every gold answer seen for them
   (261 questions, 48 held out for evaluation);
2. policy: SmolLM2-135M-Instruct (chat template on) with a LoRA adapter; the reference is the same
   model, adapter off;
3. reward, per token: the SQuAD token-F1 gain of the prefix, ``r_t = F1(y_<=t) - F1(y_<t)`` (summing to
   the answer's F1 against its best gold answer), plus a brevity term ``-0.02`` on every token after
   the 6th (LengthPenalty), so the policy learns to give the answer and stop;
4. PPO: value head, per-token KL penalty, GAE, clipped updates (as in ppo_sentiment.py).

Reported before and after: exact match and token F1 of greedy answers on the held-out questions.

Default budget, for about 20 minutes on 2 CPU cores: prompts are ~45 tokens with the chat template
and gold answers 3-4, so completions get at most 24. A step of 16 such completions took 28 s in a
1-step run of the dialogue recipe, which has the same shape, on a lightly loaded 2-core machine
(160 s for this recipe under heavy load from other jobs); at ~30 s, 36 steps take ~18 min, plus ~1.5
min for two greedy evaluations of 48 questions. The brevity term moves within a few steps (the base
model answers in full sentences); F1 needs the rest.

Defaults: ``recipes/configs/ppo_qa.yaml`` (``--config`` another YAML; flags override it).
The task (data, rewards, metrics): ``rlreward/tasks/qa.py``.

Launch:

    accelerate launch recipes/ppo_qa.py                                          # 1 process
    accelerate launch --multi_gpu --num_processes 2 recipes/ppo_qa.py  # 2 processes: GPUs, or CPUs (gloo)
    accelerate launch --config_file recipes/accelerate/multi_gpu.yaml recipes/ppo_qa.py
    python recipes/ppo_qa.py --max_steps 10 --output_dir outputs/short

Own data (SQuAD style, a ``context`` column is used when present):
``--dataset rajpurkar/squad --dataset_column question --reference_column answers``.
Own reward: ``--reward exact_match --reward length --reward_weights 1 1`` or ``--reward my_pkg.mod:fn``.
"""

from pathlib import Path

from rlreward.cli import main
from rlreward.tasks.qa import TASK

if __name__ == "__main__":
    main(TASK, Path(__file__).parent / "configs" / "ppo_qa.yaml")
