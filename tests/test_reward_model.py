"""recipes/train_reward_model.py: tiny end-to-end runs whose output loads as a ClassifierReward.

The encoder run is a subprocess, as a user launches it; the causal run (LoRA, merged on save) calls the
recipe's ``main`` in this process to save the interpreter start-up. Both check that the reward scores
the saved model gives at RL time are the ones it was trained on.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    LlamaConfig,
    LlamaForSequenceClassification,
    PreTrainedTokenizerFast,
)

from rlreward.rewards import ClassifierReward, evaluate_reward

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "train_reward_model.py"

PROMPTS = ["how are you ?", "what is your name ?", "do you like music ?", "tell me a joke ."]
GOOD = [" i am fine , thank you .", " my name is bot .", " yes , i like music .", " why did the cat sit ?"]
BAD = [" the sky is green .", " music is a name .", " fine thank you joke .", " i am bot ."]


def load_recipe():
    spec = importlib.util.spec_from_file_location("train_reward_model", RECIPE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def wordpiece_tokenizer(template: str = "[CLS] $A [SEP]") -> PreTrainedTokenizerFast:
    """A small lower-casing WordPiece tokenizer trained on the test sentences, BERT-style."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    corpus = PROMPTS + GOOD + BAD
    tok.train_from_iterator(corpus, trainers.WordPieceTrainer(vocab_size=200, special_tokens=specials))
    tok.post_processor = processors.TemplateProcessing(
        single=template, special_tokens=[(s, tok.token_to_id(s)) for s in specials]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]"
    )


def write_pairs(path: Path, chat: bool = False) -> Path:
    """Six copies of four pairs; ``chat=True`` writes prompts as one-message chats."""
    with open(path, "w") as f:
        for _ in range(6):
            for prompt, good, bad in zip(PROMPTS, GOOD, BAD):
                row_prompt = [{"role": "user", "content": prompt}] if chat else prompt
                f.write(json.dumps({"prompt": row_prompt, "chosen": good, "rejected": bad}) + "\n")
    return path


def check_accuracies(report: dict) -> None:
    for when in ("before", "after"):
        assert 0.0 <= report[when]["eval/accuracy"] <= 1.0
    assert report["steps"] == 2
    assert report["train_pairs"] + report["eval_pairs"] + report["dropped_pairs"] == 24


def check_scores_match_training_text(
    recipe, folder: Path, prompts: list, chosen: list[str]
) -> ClassifierReward:
    """ClassifierReward(folder, include_prompt=True) gives the model's score of the exact training ids."""
    reward = ClassifierReward(str(folder), include_prompt=True, per_token=None)
    tokenizer, model = reward.tokenizer, reward.model
    for prompt, text in zip(prompts, chosen):
        ids = recipe.encode(tokenizer, recipe.reward_model_text(prompt, text))
        with torch.no_grad():
            trained_on = model(input_ids=torch.tensor([ids])).logits[0, 0].item()
        assert reward(prompts=[prompt], completions=[text])[0] == pytest.approx(trained_on, abs=1e-5)
    return reward


def test_encoder_run_writes_a_classifier_reward_folder(tmp_path):
    tokenizer = wordpiece_tokenizer()
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        num_labels=1,
    )
    BertForSequenceClassification(config).save_pretrained(tmp_path / "base")
    tokenizer.save_pretrained(tmp_path / "base")
    pairs = write_pairs(tmp_path / "pairs.jsonl")
    out = tmp_path / "rm"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    result = subprocess.run(
        [
            sys.executable, str(RECIPE), "--config", str(ROOT / "recipes/configs/train_reward_model.yaml"),
            "--model_name_or_path", str(tmp_path / "base"), "--dataset", str(pairs), "--eval_size", "6",
            "--max_steps", "2", "--per_device_train_batch_size", "4", "--warmup_steps", "0",
            "--output_dir", str(out),
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "held-out pairwise accuracy" in result.stdout
    check_accuracies(json.loads((out / "eval.json").read_text()))

    recipe = load_recipe()
    check_scores_match_training_text(recipe, out, PROMPTS, GOOD)
    # Per-token rewards for an encoder: each prefix re-scored; rows sum to the sequence score.
    reward = ClassifierReward(str(out), include_prompt=True, policy_tokenizer=tokenizer)
    assert not reward.causal
    ids = [tokenizer(g, add_special_tokens=False)["input_ids"] for g in GOOD]
    scored = evaluate_reward(reward, PROMPTS, GOOD, ids)
    assert scored.tokens.shape == (4, max(len(i) for i in ids))
    torch.testing.assert_close(scored.tokens.sum(1), scored.sequence, atol=1e-5, rtol=1e-5)
    assert (scored.tokens[:, :-1] != 0).any()  # credit before the last token, not terminal-only


def test_causal_lora_run_merges_and_scores_in_one_pass(tmp_path):
    tokenizer = wordpiece_tokenizer(template="$A")  # a causal model's tokenizer: no special frame
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
        num_labels=1,
    )
    LlamaForSequenceClassification(config).save_pretrained(tmp_path / "base")
    tokenizer.save_pretrained(tmp_path / "base")
    pairs = write_pairs(tmp_path / "pairs.jsonl", chat=True)
    out = tmp_path / "rm"
    recipe = load_recipe()
    report = recipe.main(
        [
            "--model_name_or_path", str(tmp_path / "base"), "--dataset", str(pairs), "--eval_size", "6",
            "--max_steps", "2", "--per_device_train_batch_size", "4", "--use_peft", "--lora_r", "4",
            "--lora_target_modules", "q_proj", "v_proj", "--output_dir", str(out), "--learning_rate", "1e-2",
        ]
    )  # fmt: skip
    check_accuracies(report)
    assert json.loads((out / "eval.json").read_text()) == report
    assert not (out / "adapter_config.json").exists()  # LoRA merged: a plain classifier folder

    chats = [[{"role": "user", "content": p}] for p in PROMPTS]
    reward = check_scores_match_training_text(recipe, out, chats, GOOD)
    assert reward.model.config.rlreward_include_prompt is True
    # Per-token rewards for a causal classifier: one forward pass reads every prefix score.
    reward = ClassifierReward(str(out), include_prompt=True, policy_tokenizer=tokenizer)
    assert reward.causal and reward.single_pass
    ids = [tokenizer(g, add_special_tokens=False)["input_ids"] for g in GOOD]
    scored = evaluate_reward(reward, chats, GOOD, ids)
    assert reward.single_pass  # no fallback to re-scoring
    torch.testing.assert_close(scored.tokens.sum(1), scored.sequence, atol=1e-5, rtol=1e-5)


def test_shipped_config_parses_to_the_recipe_defaults():
    recipe = load_recipe()
    args, config, model_args = recipe.make_parser().parse_args_and_config(
        ["--config", str(ROOT / "recipes/configs/train_reward_model.yaml")]
    )
    assert model_args.model_name_or_path == recipe.DEFAULTS["model_name_or_path"]
    assert config.output_dir == "outputs/reward_model_dialogue"
    assert (config.max_length, config.num_train_epochs, config.learning_rate) == (
        recipe.DEFAULTS["max_length"],
        recipe.DEFAULTS["num_train_epochs"],
        recipe.DEFAULTS["learning_rate"],
    )
    assert args.dataset is None and args.include_prompt and args.dialogue_format == "chat"


def test_reward_model_text_follows_classifier_reward_convention():
    recipe = load_recipe()
    chat = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hey"}]
    assert recipe.reward_model_text(chat, [{"role": "assistant", "content": "Bye"}]) == "Hi\nHey\nBye"
    assert recipe.reward_model_text("User: Hi\nAssistant:", " Bye") == "User: Hi\nAssistant: Bye"
    assert recipe.reward_model_text("Hi", " Bye", include_prompt=False) == " Bye"
    assert recipe.reward_model_text(None, "Bye") == "Bye"


def test_chat_pairs_without_prompt_column_get_their_shared_turns_as_prompt(tmp_path):
    recipe = load_recipe()
    user = {"role": "user", "content": "Hi"}
    rows = [
        {"chosen": [user, {"role": "assistant", "content": f"Hello {i}"}],
         "rejected": [user, {"role": "assistant", "content": "Go away"}]}
        for i in range(3)
    ]  # fmt: skip
    path = tmp_path / "implicit.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    pairs = recipe.load_pairs(recipe.RewardModelArguments(dataset=str(path), eval_size=1), seed=0)
    row = pairs["train"][0]
    assert row["prompt"] == [user]
    assert recipe.reward_model_text(row["prompt"], row["rejected"]) == "Hi\nGo away"
    with pytest.raises(recipe.DataError, match="no 'chosen' column"):
        path.write_text(json.dumps({"good": "a", "rejected": "b"}) + "\n")
        recipe.load_pairs(recipe.RewardModelArguments(dataset=str(path)), seed=0)


# ---------------------------------------------------------------- pointwise: logged user feedback
def write_feedback(path: Path, copies: int = 6) -> Path:
    """Clicks: each prompt shown its good reply (clicked, 1) and three bad ones (0): a quarter positive."""
    with open(path, "w") as f:
        for _ in range(copies):
            for i, (prompt, good) in enumerate(zip(PROMPTS, GOOD)):
                f.write(json.dumps({"prompt": prompt, "completion": good, "feedback": True}) + "\n")
                for bad in BAD[i:] + BAD[:i]:
                    if bad != BAD[i - 1]:
                        f.write(json.dumps({"prompt": prompt, "completion": bad, "feedback": False}) + "\n")
    return path


def tiny_bert(folder: Path) -> Path:
    tokenizer = wordpiece_tokenizer()
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64, num_labels=1,
    )  # fmt: skip
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_pointwise_run_learns_clicks_and_saves_a_calibrated_classifier_reward(tmp_path):
    base = tiny_bert(tmp_path / "base")
    log = write_feedback(tmp_path / "clicks.jsonl")
    out = tmp_path / "rm"
    recipe = load_recipe()
    report = recipe.main(
        [
            "--objective", "pointwise", "--model_name_or_path", str(base), "--dataset", str(log),
            "--eval_size", "24", "--max_steps", "30", "--per_device_train_batch_size", "8",
            "--warmup_steps", "0", "--learning_rate", "1e-2", "--output_dir", str(out),
        ]
    )  # fmt: skip
    assert json.loads((out / "eval.json").read_text()) == report
    assert report["train_rows"] + report["eval_rows"] + report["dropped_rows"] == 96
    train = recipe.load_feedback(recipe.RewardModelArguments(dataset=str(log), eval_size=24), seed=0)["train"]
    positives = sum(train["feedback"])
    assert report["positive_weight"] == pytest.approx((len(train) - positives) / positives)
    assert report["binary_feedback"] and report["score"] == "log-odds of positive feedback"
    # The toy clicks are separable: the held-out good replies (copies of training ones) rank first.
    assert report["after"]["eval/auc"] == 1.0 > report["before"]["eval/auc"] - 1e-9
    # The bias shift undoes the class weight: predicted click rate near the real one, not near 1/2.
    assert abs(report["after"]["eval/mean_probability"] - report["after"]["eval/mean_feedback"]) < 0.15
    check_scores_match_training_text(recipe, out, PROMPTS, GOOD)
    with pytest.raises(ValueError, match="already holds a trained reward model"):  # nothing is overwritten
        recipe.main(["--objective", "pointwise", "--model_name_or_path", str(base), "--dataset", str(log),
                     "--output_dir", str(out)])  # fmt: skip


def test_class_weight_moves_the_optimal_logit_by_its_log_and_the_shift_undoes_it():
    """Weighted sigmoid cross-entropy on a constant logit has its minimum at logit(p) + log(w)."""
    recipe = load_recipe()
    targets = torch.tensor([1.0] + [0.0] * 3)  # p = 1/4
    weight = 3.0
    logit = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([logit], lr=1.0, max_iter=100)

    def loss():
        optimizer.zero_grad()
        value = torch.nn.functional.binary_cross_entropy_with_logits(
            logit.expand(4), targets, pos_weight=torch.tensor(weight)
        )
        value.backward()
        return value

    optimizer.step(loss)
    assert logit.item() == pytest.approx(math.log(1 / 3) + math.log(weight), abs=1e-4)  # = 0
    head = BertForSequenceClassification(
        BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
                   intermediate_size=8, num_labels=1)
    ).eval()  # fmt: skip
    ids = torch.tensor([[1, 2, 3]])
    with torch.no_grad():
        before = head(input_ids=ids).logits[0, 0].item()
    assert recipe.shift_score_bias(head, -math.log(weight))
    with torch.no_grad():
        assert head(input_ids=ids).logits[0, 0].item() == pytest.approx(before - math.log(weight), abs=1e-6)
    no_bias = torch.nn.Module()
    no_bias.score = torch.nn.Linear(4, 1, bias=False)
    assert not recipe.shift_score_bias(no_bias, 1.0)


def test_feedback_targets_keep_clicks_scale_ratings_and_refuse_bad_columns(tmp_path):
    recipe = load_recipe()
    assert recipe.feedback_targets([True, False, 1], [0], "x") == ([1.0, 0.0, 1.0], [0.0], True)
    train, held_out, binary = recipe.feedback_targets([1, 3, 5], [0, 4, 9], "x")
    assert (train, held_out, binary) == ([0.0, 0.5, 1.0], [0.0, 0.75, 1.0], False)
    with pytest.raises(recipe.DataError, match="every training rating is 2"):
        recipe.feedback_targets([2, 2], [1], "x")
    with pytest.raises(recipe.DataError, match="numbers or true/false"):
        recipe.feedback_targets(["liked", "no"], [], "x")
    path = tmp_path / "log.jsonl"
    path.write_text(json.dumps({"prompt": "a", "completion": "b", "clicked": 1}) + "\n")
    with pytest.raises(recipe.DataError, match="rename the click/thumbs/rating column to 'feedback'"):
        recipe.load_feedback(recipe.RewardModelArguments(dataset=str(path), objective="pointwise"), seed=0)


def test_built_in_click_log_shows_each_context_its_reply_and_others_and_flips_training_labels_only():
    from rlreward.data import dialogue_feedback_log

    log = dialogue_feedback_log(0, shown=4, flip=0.2, eval_size=20)
    held_out = log["eval"]
    assert len(held_out) == 80 and sum(held_out["feedback"]) == 20  # one real reply in four, labels clean
    assert held_out["feedback"] == held_out["clean_feedback"]
    train = log["train"]
    flipped = sum(a != b for a, b in zip(train["feedback"], train["clean_feedback"])) / len(train)
    assert 0.15 < flipped < 0.25
    assert sum(train["clean_feedback"]) * 4 == len(train)
    assert held_out["clean_feedback"][::4] == [1.0] * 20  # each context: its real reply, then three others
    assert len(set(held_out["prompt"][::4])) >= 18
    assert dialogue_feedback_log(0, shown=4, flip=0.2, eval_size=20)["train"][:5] == train[:5]  # seeded
    with pytest.raises(Exception, match="shown=1"):
        dialogue_feedback_log(0, shown=1)


def test_bad_objective_and_bad_feedback_column_are_one_line_errors(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps({"prompt": "a", "completion": "b", "clicked": 1}) + "\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    for flags, message in [
        (["--objective", "listwise"], "--objective must be 'pairwise' or 'pointwise'"),
        (["--objective", "pointwise", "--dataset", str(log), "--model_name_or_path", str(tiny_bert(tmp_path / "m"))],
         "rename the click/thumbs/rating column to 'feedback'"),
    ]:  # fmt: skip
        done = subprocess.run(
            [sys.executable, str(RECIPE), *flags, "--output_dir", str(tmp_path / "out")],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
        assert message in done.stderr.strip().splitlines()[-1]
