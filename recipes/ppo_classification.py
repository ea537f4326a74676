"""RL with an instant label reward: teach a policy to classify messages by topic.

The algorithm, as run by default:

1. prompts: messages from the chatterbot corpus, each labelled by the topic file it comes from (10
   topics: ai, coding, emotion, food, literature, money, movies, politics, science, sports; 347
   training and 115 held-out messages, stratified), with the topic list in the prompt;
2. policy: SmolLM2-135M-Instruct (chat template on) with a LoRA adapter; the reference is the same
   model, adapter off;
3. reward, per token (``label_prefix``): the prefix deltas of a potential that is 1 once the first
   label the answer names is the gold one (0 once it is another; before that, the share of the gold
   label its unfinished last word spells), so the tokens that write the right label are credited as
   they are written; ``--reward correct`` is the 1/0 outcome on the last token;
4. a group baseline (RLOO): 4 answers per message, each token's return against the mean of the other
   three answers' returns at that token, per-token KL penalty, one clipped epoch, no value head
   (``--advantage_estimator gae --num_generations 1 --num_epochs 2`` is PPO with a value head).

Reported before and after: accuracy (with a paired bootstrap CI), macro recall and macro F1 of the
greedy answers on the held-out messages; ``--sft_baseline true`` trains on the gold labels instead
(cross-entropy on the label tokens: the supervised reference at equal samples).

Default budget: 30 steps x 16 completions (4 messages x 4 answers) x at most 6 tokens (prompts ~120
tokens): about 7.5 minutes on 2 idle cores, both evaluations included.

Learning is weak (docs/recipes.md): over 3 seeds the default gains +0.043 in held-out accuracy
(median; range +0.009 to +0.061; the median seed's interval [+0.009, +0.087]); SFT on the gold labels
at equal samples reaches 0.704, and the supervised MiniLM reference (``recipes/train_classifier.py``)
0.878. ``--reward <that folder>`` pays the classifier's probability of the named label instead of the
gold label.

Defaults: ``recipes/configs/ppo_classification.yaml``. The task: ``rlreward/tasks/classification.py``.

Launch:

    accelerate launch recipes/ppo_classification.py
    python recipes/ppo_classification.py --reward correct --output_dir outputs/cls_outcome
    python recipes/ppo_classification.py --sft_baseline true --output_dir outputs/cls_sft

Own data: ``--dataset reviews.csv --dataset_column text --reference_column label`` (the label set is
every label in the file).
"""

from pathlib import Path

from rlreward.cli import main
from rlreward.tasks.classification import TASK

if __name__ == "__main__":
    main(TASK, Path(__file__).parent / "configs" / "ppo_classification.yaml")
