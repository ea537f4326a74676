"""PPO with instant token-F1 rewards: teach a policy to answer questions briefly and correctly.

The algorithm, as run by default:

1. prompts: reading comprehension written for rlreward (``rlreward/data/reading.py``): a five-sentence
   passage about two invented people, then a question whose answer is a span of it; 600 training
   questions from 200 passages, 120 held out from 40 other passages (``--qa_data trivia`` for the
   chatterbot corpus's closed-book trivia instead);
2. policy: SmolLM2-135M-Instruct (chat template on) with a LoRA adapter; the reference is the same
   model, adapter off;
3. reward, per token: the SQuAD token-F1 gain of the prefix, ``r_t = F1(y_<=t) - F1(y_<t)`` (summing to
   the answer's F1 against its best gold answer), plus a brevity term ``-0.02`` on every token after
   the 6th (LengthPenalty), so the policy learns to give the answer and stop;
4. PPO: value head, per-token KL penalty, GAE, clipped updates (as in ppo_sentiment.py).

Reported before and after: exact match and token F1 of greedy answers on the held-out questions, with
paired bootstrap intervals of the per-question change.

Default budget: 36 steps x 16 completions x at most 24 tokens (prompts ~110 tokens with the passage):
about 60 s a step at one thread beside another one-thread job on the 2-core machine (42 min for the
run with its two evaluations), 38 s a step at two threads beside a one-thread job. The run alone on
2 idle cores has not been timed; it is over the 20 minutes aimed at unless a step takes under ~30 s.

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
