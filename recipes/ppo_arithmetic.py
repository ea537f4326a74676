"""PPO with process rewards: teach a policy to do multi-step arithmetic one checked step at a time.

The algorithm, as run by default:

1. prompts: problems such as ``Compute 7 + 5 - 3`` generated from ``problem_seed`` (3 terms of one
   digit by default, 1000 for training, 200 held out), each after two worked examples of the same
   size (``Compute 5 + 1 + 1`` / ``5 + 1 = 6`` / ``6 + 1 = 7`` / ``Answer: 7``), as plain text: the
   policy continues the pattern, one operation per line, then ``Answer: <number>``;
2. policy: SmolLM2-135M-Instruct with a LoRA adapter; the reference is the same model, adapter off;
3. reward, per token: the outcome (1 if the number after ``Answer:`` is right, on the last token)
   plus 0.5 x the checker's step credit: ``+1/S`` at the last token of each of the ``S`` step lines
   the checker finds right, ``-1/S`` at each wrong one, with first-error semantics (a line after the
   first wrong one is wrong); the per-token rewards sum to ``outcome + 0.5 * (C - W) / S``
   (``rlreward/rewards/process.py``);
4. PPO: value head, per-token KL penalty, GAE, clipped updates (as in ppo_sentiment.py).

Reported before and after: exact-match accuracy of the greedy answers on the 200 held-out problems
(``eval/accuracy``), the share of steps right before the first error (``eval/step_accuracy``) and
the share of completions that state an answer.

Budget: 24 steps of 16 completions of at most 32 tokens (a full solution is at most 24; plain prompts do not stop at EOS, so most
completions run to the limit); the base policy's accuracies and the measured step times are in
``docs/process_rewards.md``.

Defaults: ``recipes/configs/ppo_arithmetic.yaml`` (``--config`` another YAML; flags override it).
The task (data, checker, rewards, metrics): ``rlreward/tasks/arithmetic.py``.

Launch:

    accelerate launch recipes/ppo_arithmetic.py                                     # 1 process
    accelerate launch --multi_gpu --num_processes 2 recipes/ppo_arithmetic.py  # 2 processes: GPUs, or CPUs (gloo)
    python recipes/ppo_arithmetic.py --reward outcome --output_dir outputs/arithmetic_outcome  # outcome only
    python recipes/ppo_arithmetic.py --num_terms 4 --digits 2 --max_new_tokens 64               # harder problems

Own data: ``--dataset problems.jsonl --dataset_column expr`` (a column of chains such as ``47 + 8 - 19``).
Own checker: ``--reward my_pkg.mod:steps`` (a ``CheckerStepReward`` around your checker; ``docs/process_rewards.md``).
"""

from pathlib import Path

from rlreward.cli import main
from rlreward.tasks.arithmetic import TASK

if __name__ == "__main__":
    main(TASK, Path(__file__).parent / "configs" / "ppo_arithmetic.yaml")
