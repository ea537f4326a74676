"""PPO with instant chrF rewards: teach a policy to translate English interface strings to German or French.

The algorithm, as run by default:

1. prompts: ``Translate to German: <English>`` built from the human translations in Django's and
   Sphinx's gettext catalogs (``--language de``: 253 pairs, ``fr``: 631; 48 held out for evaluation);
2. policy: SmolLM2-135M-Instruct (chat template on) with a LoRA adapter; the reference is the same
   model, adapter off;
3. reward, per token: the sentence-chrF gain of the prefix against the human translation,
   ``r_t = chrF(y_<=t) - chrF(y_<t)`` on a 0-1 scale, summing to the completion's chrF;
4. PPO: value head, per-token KL penalty, GAE, clipped updates (as in ppo_sentiment.py).

Reported before and after: corpus chrF and BLEU (sacrebleu, 0-100) of greedy translations of the
held-out sentences.

Default budget, for about 20 minutes on 2 CPU cores: prompts are ~45 tokens and German references
~14 (90th percentile 48), so completions get at most 48 tokens, about twice the generation of a
24-token recipe (~45-50 s per step of 16, from a 28 s step with 32-token replies on a lightly loaded
2-core machine; 140-275 s under heavy load from other jobs). 20 steps take ~16 min, plus ~2.5 min for
two greedy evaluations of 48 sentences. chrF's prefix re-scoring costs 0.1-0.2 s per step.

Defaults: ``recipes/configs/ppo_translation.yaml`` (``--config`` another YAML; flags override it).
The task (data, rewards, metrics): ``rlreward/tasks/translation.py``.

Launch:

    accelerate launch recipes/ppo_translation.py --language de                       # 1 process
    accelerate launch --multi_gpu --num_processes 2 recipes/ppo_translation.py --language fr
    accelerate launch --config_file recipes/accelerate/multi_gpu.yaml recipes/ppo_translation.py
    python recipes/ppo_translation.py --max_steps 10 --output_dir outputs/short

Own data: ``--dataset pairs.jsonl --dataset_column en --reference_column de --language German``
(the English column is wrapped in ``Translate to <language>: ...``).
Own reward: ``--reward chrf++``, ``--reward bleu`` or ``--reward my_pkg.mod:fn``.
"""

from pathlib import Path

from rlreward.cli import main
from rlreward.tasks.translation import TASK

if __name__ == "__main__":
    main(TASK, Path(__file__).parent / "configs" / "ppo_translation.yaml")
