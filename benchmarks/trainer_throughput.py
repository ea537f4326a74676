"""Step time, throughput and peak memory: rlreward PPO and REINFORCE against TRL's RLOOTrainer.

Same policy (SmolLM2-135M-Instruct + LoRA r=16 on all linear layers), same reward (VADER), same
prompts, 16 completions x at most 24 new tokens per step, one optimizer step per step (PPO also
shown with its recipe default of 2 epochs x 2 mini-batches). Each method runs in its own process so
peak memory (max RSS on CPU, max allocated on CUDA) is its own. Time is split into generation (with
the log-prob/value passes), reward and update; the first ``--warmup`` steps are not timed.

    python benchmarks/trainer_throughput.py                   # all methods, prints a markdown table
    python benchmarks/trainer_throughput.py --steps 3 --warmup 1 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

METHODS = ("rlreward_reinforce", "rlreward_ppo", "rlreward_ppo_2epochs", "trl_rloo")


def peak_memory_mb() -> float:
    import resource

    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_rlreward(method: str, args) -> list[dict]:
    from rlreward.data import load_sentiment_prompts
    from rlreward.models import load_causal_lm
    from rlreward.rewards import SentimentLexiconReward
    from rlreward.trainers import PPOConfig, PPOTrainer, ReinforceConfig, ReinforceTrainer

    model, tok = load_causal_lm("smollm2-135m-instruct")
    data = load_sentiment_prompts()["train"]
    common = dict(
        output_dir="/tmp/rlreward_bench",
        max_steps=args.steps,
        batch_size=16,
        mini_batch_size=16,
        micro_batch_size=8,
        max_new_tokens=24,
        use_chat_template=False,
        lora_r=16,
        lora_alpha=32,
        save_steps=0,
        sample_steps=0,
        progress_bar=False,
        seed=args.seed,
    )
    reward = SentimentLexiconReward(tokenizer=tok)
    if method == "rlreward_reinforce":
        trainer = ReinforceTrainer(
            model, reward, data, ReinforceConfig(num_generations=4, num_epochs=1, **common), tokenizer=tok
        )
    else:
        epochs, mini = (2, 8) if method == "rlreward_ppo_2epochs" else (1, 16)
        common.update(mini_batch_size=mini)
        trainer = PPOTrainer(
            model, reward, data, PPOConfig(num_epochs=epochs, densify="prefix_delta", **common), tokenizer=tok
        )
    rows = []
    for h in trainer.train():
        rows.append(
            {
                "generate_s": h["perf/generate_s"],
                "reward_s": h["perf/reward_s"],
                "update_s": h["perf/update_s"],
                "step_s": h["perf/step_s"],
                "tokens": h["completions/mean_length"] * 16,
            }
        )
    return rows


def run_trl(args) -> list[dict]:
    import torch
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import RLOOConfig, RLOOTrainer

    from rlreward.data import load_sentiment_prompts
    from rlreward.models import load_causal_lm
    from rlreward.rewards import SentimentLexiconReward

    timings: dict[str, float] = {"generate": 0.0, "reward": 0.0}

    class TimedRLOO(RLOOTrainer):
        """Times TRL's own phases; nothing else is changed."""

        def _generate_and_score_completions(self, inputs):
            t0 = time.perf_counter()
            timings["reward"] = 0.0
            out = super()._generate_and_score_completions(inputs)
            timings["generate"] = time.perf_counter() - t0 - timings["reward"]
            timings["tokens"] = float(out["completion_mask"].sum())
            return out

        def _calculate_rewards(self, *a, **k):
            t0 = time.perf_counter()
            out = super()._calculate_rewards(*a, **k)
            timings["reward"] += time.perf_counter() - t0
            return out

    rows: list[dict] = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, *a, **k):
            self.t0 = time.perf_counter()

        def on_step_end(self, *a, **k):
            step = time.perf_counter() - self.t0
            rows.append(
                {
                    "generate_s": timings["generate"],
                    "reward_s": timings["reward"],
                    "update_s": step - timings["generate"] - timings["reward"],
                    "step_s": step,
                    "tokens": timings.get("tokens", 0.0),
                }
            )

    model, tok = load_causal_lm("smollm2-135m-instruct")
    data = load_sentiment_prompts()["train"]
    config = RLOOConfig(
        output_dir="/tmp/trl_bench",
        per_device_train_batch_size=16,
        num_generations=4,
        steps_per_generation=1,
        max_completion_length=24,
        max_steps=args.steps,
        learning_rate=1e-4,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        use_cpu=not torch.cuda.is_available(),
        bf16=False,
        seed=args.seed,
        temperature=1.0,
    )
    tok.chat_template = None  # plain-text prompts, as for rlreward
    lora = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM")
    trainer = TimedRLOO(
        model=model,
        reward_funcs=[SentimentLexiconReward()],
        args=config,
        train_dataset=data,
        processing_class=tok,
        peft_config=lora,
        callbacks=[StepTimer()],
    )
    trainer.train()
    return rows


def child(args) -> None:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    rows = run_trl(args) if args.method == "trl_rloo" else run_rlreward(args.method, args)
    timed = rows[args.warmup :]
    med = {k: statistics.median(r[k] for r in timed) for k in timed[0]}
    med["tokens_per_s"] = statistics.median(r["tokens"] / r["step_s"] for r in timed)
    med["peak_memory_mb"] = peak_memory_mb()
    print("RESULT " + json.dumps({"method": args.method, **med}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=4, help="training steps per method")
    parser.add_argument("--warmup", type=int, default=1, help="untimed first steps")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--method", help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    if args.method:
        return child(args)
    results = {}
    for method in args.methods:
        cmd = [
            sys.executable,
            __file__,
            "--method",
            method,
            "--steps",
            str(args.steps),
            "--warmup",
            str(args.warmup),
        ]
        cmd += ["--threads", str(args.threads), "--seed", str(args.seed)]
        out = subprocess.run(
            cmd, capture_output=True, text=True, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"}
        )
        line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
        if not line:
            print(f"{method} failed:\n{out.stderr[-3000:]}", file=sys.stderr)
            continue
        results[method] = json.loads(line[0][7:])
        print(f"done: {method}", file=sys.stderr)
    base = results.get("trl_rloo")
    print(
        "| method | step (s) | generate (s) | reward (s) | update (s) | tokens/s | peak memory (MB) | step vs TRL RLOO |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for method, r in results.items():
        ratio = f"{r['step_s'] / base['step_s']:.2f}x" if base else "n/a"
        print(
            f"| {method} | {r['step_s']:.2f} | {r['generate_s']:.2f} | {r['reward_s']:.3f} | {r['update_s']:.2f} "
            f"| {r['tokens_per_s']:.1f} | {r['peak_memory_mb']:.0f} | {ratio} |"
        )
    if "rlreward_ppo" in results and "rlreward_reinforce" in results:
        mem = results["rlreward_ppo"]["peak_memory_mb"] / results["rlreward_reinforce"]["peak_memory_mb"]
        print(f"\npeak memory PPO / REINFORCE: {mem:.2f}x")


if __name__ == "__main__":
    main()
