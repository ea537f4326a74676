"""Step time, throughput, peak memory and the hardware floor: rlreward PPO and REINFORCE against TRL's RLOO.

Same policy (SmolLM2-135M-Instruct + LoRA r=16 on all linear layers), same reward (VADER), same
prompts, ``--batch_size`` completions x at most ``--max_new_tokens`` new tokens per step (16 x 24 by
default), one optimizer step per step (PPO also shown with its recipe default of 2 epochs x 2
mini-batches). Each method runs in its own process so peak memory (max RSS on CPU, max allocated on
CUDA) is its own; the first ``--warmup`` steps are not timed and the table shows medians.

Phases of a step: generation (the sampler), the log-prob/value pass (policy, reference and, for PPO,
values; for TRL it is inside its generation), reward, update. Each has a floor, from the machine's
memory bandwidth ``BW`` and GEMM rate ``R`` measured in the same run (a large copy; matrix products at
the step's shapes), for a model of ``N`` body parameters (``w`` bytes each) and an LM head of ``H = vocab
x hidden`` parameters, ``b`` completions, ``p`` prompt and ``t`` completion tokens:

* generation: the prompt's forward ``2 (N b p + H b) / R``, then per new token
  ``max(w N / BW, 2 N b / R) + max(w H / BW, 2 H b / R)`` (weights read once, or the FLOPs done);
* log-prob/value pass: ``2 (N b (p + t) + H b t) / R`` per pass (policy and reference: 2 for PPO,
  1 for REINFORCE, which reuses the sampler's log-probs);
* update: a forward and backward through the frozen base with LoRA, ``3x`` a pass, per epoch;
* reward: no hardware floor (VADER is Python on the CPU); measured only.

    python benchmarks/trainer_throughput.py                   # all methods, prints markdown tables
    python benchmarks/trainer_throughput.py --steps 3 --warmup 1 --threads 2
    python benchmarks/trainer_throughput.py --batch_size 256 --max_new_tokens 128 --micro_batch_size 64 \\
        --json throughput.json                                # a GPU-sized batch (on CUDA when present)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

METHODS = ("rlreward_reinforce", "rlreward_ppo", "rlreward_ppo_2epochs", "trl_rloo")
PHASES = ("generate", "logprob", "reward", "update")
DEFAULT_MALLOC = " [glibc default]"  # the same method with retain_freed_memory=False (--malloc both)


def peak_memory_mb() -> float:
    import resource

    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def load_policy(args):
    import torch

    from rlreward.models import load_causal_lm

    model, tok = load_causal_lm(args.model, dtype=getattr(torch, args.dtype))
    if torch.cuda.is_available():
        model = model.cuda()
    return model, tok


def model_shape(model) -> dict[str, int]:
    """Body parameters ``N`` (everything but the LM head), LM head ``H``, and the dimensions."""
    head = model.get_output_embeddings().weight
    total = sum(p.numel() for p in model.parameters())
    tied = any(p is head for p in model.get_input_embeddings().parameters())
    config = model.config
    return {
        "body_params": total - (0 if tied else head.numel()) - model.get_input_embeddings().weight.numel(),
        "head_params": head.numel(),
        "hidden": config.hidden_size,
        "intermediate": getattr(config, "intermediate_size", 4 * config.hidden_size),
        "vocab": head.shape[0],
        "bytes_per_param": head.element_size(),
    }


def run_rlreward(method: str, args) -> tuple[list[dict], dict]:
    import rlreward.trainers.base as base
    from rlreward.data import load_sentiment_prompts
    from rlreward.rewards import SentimentLexiconReward
    from rlreward.trainers import PPOConfig, PPOTrainer, ReinforceConfig, ReinforceTrainer

    model, tok = load_policy(args)
    shape = model_shape(model)
    data = load_sentiment_prompts()["train"]
    b = args.batch_size
    common = dict(
        output_dir=tempfile.mkdtemp(prefix="rlreward_bench_"),
        max_steps=args.steps,
        batch_size=b,
        mini_batch_size=b,
        micro_batch_size=min(args.micro_batch_size, b),
        max_new_tokens=args.max_new_tokens,
        use_chat_template=False,
        lora_r=16,
        lora_alpha=32,
        save_steps=0,
        sample_steps=0,
        progress_bar=False,
        seed=args.seed,
        retain_freed_memory=args.malloc == "tuned",
    )
    reward = SentimentLexiconReward(tokenizer=tok)
    if method == "rlreward_reinforce":
        trainer = ReinforceTrainer(
            model, reward, data, ReinforceConfig(num_generations=4, num_epochs=1, **common), tokenizer=tok
        )
        passes, epochs = 1, 1
    else:
        epochs, mini = (2, b // 2) if method == "rlreward_ppo_2epochs" else (1, b)
        common.update(mini_batch_size=mini, micro_batch_size=min(args.micro_batch_size, mini))
        trainer = PPOTrainer(
            model, reward, data, PPOConfig(num_epochs=epochs, densify="prefix_delta", **common), tokenizer=tok
        )
        passes = 1 if epochs == 1 else 2  # one epoch: values come with the samples, so the reference only
    # Time the sampler alone: the rest of perf/generate_s is the log-prob/value (and reference) pass.
    calls: list[dict] = []
    sampler = base.sample

    def timed_sample(model, prompt_ids, *a, **k):
        _sync()
        t0 = time.perf_counter()
        out = sampler(model, prompt_ids, *a, **k)
        _sync()
        calls.append(
            {
                "s": time.perf_counter() - t0,
                "p": prompt_ids.shape[1],
                "t": out.ids.shape[1],
                "b": len(out.ids),
            }
        )
        return out

    base.sample = timed_sample
    rows = []
    for h in trainer.train():
        call = calls[-1]
        rows.append(
            {
                "generate_s": call["s"],
                "logprob_s": h["perf/generate_s"] - call["s"],
                "reward_s": h["perf/reward_s"],
                "update_s": h["perf/update_s"],
                "step_s": h["perf/step_s"],
                "tokens": h["completions/mean_length"] * b,
                "prompt_len": call["p"],
                "completion_len": call["t"],
            }
        )
    return rows, {**shape, "passes": passes, "epochs": epochs}


def run_trl(args) -> tuple[list[dict], dict]:
    import torch
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import RLOOConfig, RLOOTrainer

    from rlreward.data import load_sentiment_prompts
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
            timings["prompt_len"] = out["prompt_ids"].shape[1]
            timings["completion_len"] = out["completion_ids"].shape[1]
            return out

        def _calculate_rewards(self, *a, **k):
            t0 = time.perf_counter()
            out = super()._calculate_rewards(*a, **k)
            timings["reward"] += time.perf_counter() - t0
            return out

    rows: list[dict] = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, *a, **k):
            _sync()
            self.t0 = time.perf_counter()

        def on_step_end(self, *a, **k):
            _sync()
            step = time.perf_counter() - self.t0
            rows.append(
                {
                    "generate_s": timings["generate"],
                    "logprob_s": 0.0,  # inside TRL's generation phase
                    "reward_s": timings["reward"],
                    "update_s": step - timings["generate"] - timings["reward"],
                    "step_s": step,
                    "tokens": timings.get("tokens", 0.0),
                    "prompt_len": timings.get("prompt_len", 0),
                    "completion_len": timings.get("completion_len", 0),
                }
            )

    model, tok = load_policy(args)
    shape = model_shape(model)
    data = load_sentiment_prompts()["train"]
    config = RLOOConfig(
        output_dir=tempfile.mkdtemp(prefix="trl_bench_"),
        per_device_train_batch_size=args.batch_size,
        num_generations=4,
        steps_per_generation=1,
        max_completion_length=args.max_new_tokens,
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
    # With one iteration per generation RLOO needs no old log-probs: one pass, for the reference.
    return rows, {**shape, "passes": 1, "epochs": 1}


def child(args) -> None:
    import resource

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    runner = run_trl if args.method == "trl_rloo" else lambda a: run_rlreward(args.method, a)
    rows, shape = runner(args)
    timed = rows[args.warmup :]
    med = {k: statistics.median(r[k] for r in timed) for k in timed[0]}
    med["tokens_per_s"] = statistics.median(r["tokens"] / r["step_s"] for r in timed)
    med["peak_memory_mb"] = peak_memory_mb()
    med["system_s"] = resource.getrusage(resource.RUSAGE_SELF).ru_stime  # the whole process, set-up included
    print("RESULT " + json.dumps({"method": args.method, **med, **shape}))


# ---------------------------------------------------------------- the machine's ceilings and the floors


def _best_time(fn, repeats: int, min_seconds: float = 0.3) -> float:
    """The fastest call of at least ``repeats`` timed calls spread over at least ``min_seconds``, after one
    warm-up: the one least disturbed by other jobs on a shared machine."""
    fn()
    _sync()
    best, spent, done = float("inf"), 0.0, 0
    while done < repeats or spent < min_seconds:
        t0 = time.perf_counter()
        fn()
        _sync()
        elapsed = time.perf_counter() - t0
        best, spent, done = min(best, elapsed), spent + elapsed, done + 1
    return best


def measure_ceilings(shape: dict, batch: int, tokens: int, copy_mb: int = 256) -> dict[str, float]:
    """Memory bandwidth (GB/s, bytes read + written by a large copy) and GEMM rates (GFLOP/s) in fp32 and bf16
    at the step's two shapes: ``(b*(p+t), hidden) x (hidden, intermediate)`` for the passes and updates,
    ``(b, hidden) x (hidden, intermediate)`` for one decode step."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    n = copy_mb * 2**20 // 4
    src = torch.randn(n, device=device)
    dst = torch.empty_like(src)
    copy_s = _best_time(lambda src=src, dst=dst: dst.copy_(src), 5)
    out = {"device": device, "bandwidth_gbs": 2 * src.numel() * 4 / copy_s / 1e9}
    del src, dst
    k, m = shape["hidden"], shape["intermediate"]
    for dtype in ("float32", "bfloat16"):
        for name, rows in (("pass", batch * tokens), ("decode", batch)):
            a = torch.randn(rows, k, device=device, dtype=getattr(torch, dtype))
            w = torch.randn(k, m, device=device, dtype=getattr(torch, dtype))
            repeats = max(3, min(50, int(2e9 / (2 * rows * k * m))))
            seconds = _best_time(lambda a=a, w=w: a @ w, repeats)
            out[f"gemm_{name}_{dtype}_gflops"] = 2 * rows * k * m / seconds / 1e9
    return out


def phase_floors(r: dict, ceilings: dict, batch: int) -> dict[str, float]:
    """Seconds each phase needs at least on this machine (the formulas in the module docstring)."""
    dtype = "float32" if r["bytes_per_param"] == 4 else "bfloat16"
    rate = ceilings[f"gemm_pass_{dtype}_gflops"] * 1e9  # the best rate the step's shapes reach
    bw = ceilings["bandwidth_gbs"] * 1e9
    n, h, w = r["body_params"], r["head_params"], r["bytes_per_param"]
    p, t, b = r["prompt_len"], r["completion_len"], batch
    per_token = max(w * n / bw, 2 * n * b / rate) + max(w * h / bw, 2 * h * b / rate)
    one_pass = 2 * (n * b * (p + t) + h * b * t) / rate
    return {
        "generate": 2 * (n * b * p + h * b) / rate + t * per_token,
        "logprob": r["passes"] * one_pass,
        "reward": 0.0,
        "update": 3 * one_pass * r["epochs"],
    }


def ratio(measured: float, floor: float) -> str:
    return f"{measured / floor:.1f}x" if floor > 0 else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=4, help="training steps per method")
    parser.add_argument("--warmup", type=int, default=1, help="untimed first steps")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--model", default="smollm2-135m-instruct", help="registry name or model folder")
    parser.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"), help="policy weights")
    parser.add_argument("--batch_size", type=int, default=16, help="completions per step")
    parser.add_argument("--max_new_tokens", type=int, default=24)
    parser.add_argument(
        "--micro_batch_size", type=int, default=8, help="rows per forward/backward (rlreward)"
    )
    parser.add_argument(
        "--malloc",
        default="tuned",
        choices=("tuned", "default", "both"),
        help="rlreward's trainers with retain_freed_memory (tuned, their default), with glibc's defaults, or "
        "both, side by side with their ratios (TRL runs with glibc's defaults)",
    )
    parser.add_argument("--json", help="also write the results, ceilings and floors to this file")
    parser.add_argument("--method", help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    if args.method:
        return child(args)
    results = {}
    flags = ["--steps", str(args.steps), "--warmup", str(args.warmup), "--threads", str(args.threads)]
    flags += ["--seed", str(args.seed), "--model", args.model, "--dtype", args.dtype]
    flags += ["--batch_size", str(args.batch_size), "--max_new_tokens", str(args.max_new_tokens)]
    flags += ["--micro_batch_size", str(args.micro_batch_size)]
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    runs = []  # (name in the tables, method, malloc)
    for method in args.methods:
        if method == "trl_rloo":
            runs.append((method, method, "default"))
        else:
            modes = ("tuned", "default") if args.malloc == "both" else (args.malloc,)
            runs += [
                (method + (DEFAULT_MALLOC if m == "default" and len(modes) > 1 else ""), method, m)
                for m in modes
            ]
    for name, method, malloc in runs:
        cmd = [sys.executable, __file__, "--method", method, "--malloc", malloc, *flags]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
        line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
        if not line:
            print(f"{name} failed:\n{out.stderr[-3000:]}", file=sys.stderr)
            continue
        results[name] = json.loads(line[0][7:])
        print(f"done: {name}", file=sys.stderr)
    if not results:
        sys.exit("every method failed")
    report(results, args)
    failed = sorted({name for name, _, _ in runs} - set(results))
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


def report(results: dict[str, dict], args) -> None:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    any_result = next(iter(results.values()))
    tokens = round(any_result["prompt_len"] + any_result["completion_len"])  # medians: may be halves
    ceilings = measure_ceilings(any_result, args.batch_size, tokens)
    base = results.get("trl_rloo")
    print(
        f"\n{args.batch_size} completions x <= {args.max_new_tokens} tokens, {args.dtype}, "
        f"{ceilings['device']}, {torch.get_num_threads()} threads\n"
    )
    print(
        "| method | step (s) | generate (s) | log-prob/value (s) | reward (s) | update (s) | tokens/s "
        "| peak memory (MB) | step vs TRL RLOO |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for method, r in results.items():
        vs = f"{r['step_s'] / base['step_s']:.2f}x" if base else "n/a"
        print(
            f"| {method} | {r['step_s']:.2f} | {r['generate_s']:.2f} | {r['logprob_s']:.2f} "
            f"| {r['reward_s']:.3f} | {r['update_s']:.2f} | {r['tokens_per_s']:.1f} "
            f"| {r['peak_memory_mb']:.0f} | {vs} |"
        )
    if "rlreward_ppo" in results and "rlreward_reinforce" in results:
        mem = results["rlreward_ppo"]["peak_memory_mb"] / results["rlreward_reinforce"]["peak_memory_mb"]
        print(f"\npeak memory PPO / REINFORCE: {mem:.2f}x")

    print(
        f"\nmachine: copy bandwidth {ceilings['bandwidth_gbs']:.1f} GB/s; GEMM GFLOP/s at the pass shape "
        f"fp32 {ceilings['gemm_pass_float32_gflops']:.0f}, bf16 {ceilings['gemm_pass_bfloat16_gflops']:.0f}; "
        f"at the decode shape fp32 {ceilings['gemm_decode_float32_gflops']:.0f}, "
        f"bf16 {ceilings['gemm_decode_bfloat16_gflops']:.0f}\n"
    )
    print("| method | phase | measured (s) | floor (s) | measured / floor |")
    print("|---|---|---|---|---|")
    floors = {}
    for method, r in results.items():
        floors[method] = phase_floors(r, ceilings, args.batch_size)
        if method == "trl_rloo":  # TRL's log-prob passes run inside its generation phase
            floors[method]["generate"] += floors[method].pop("logprob")
        phases = [p for p in PHASES if p in floors[method]]
        for phase in phases:
            f = floors[method][phase]
            print(f"| {method} | {phase} | {r[phase + '_s']:.3f} | {f:.3f} | {ratio(r[phase + '_s'], f)} |")
        step_floor = sum(floors[method].values())
        print(
            f"| {method} | **step** | {r['step_s']:.3f} | {step_floor:.3f} | {ratio(r['step_s'], step_floor)} |"
        )
    pairs = [(m, m + DEFAULT_MALLOC) for m in results if m + DEFAULT_MALLOC in results]
    if pairs:
        print("\nretain_freed_memory against glibc's defaults, same method (ratio tuned / default):\n")
        print("| method | step | generate | log-prob/value | update | system s (process) | peak memory |")
        print("|---|---|---|---|---|---|---|")
        for tuned, default in pairs:
            a, b = results[tuned], results[default]
            cells = [
                a[k] / b[k] if b[k] else float("nan")
                for k in ("step_s", "generate_s", "logprob_s", "update_s")
            ]
            print(
                f"| {tuned} | " + " | ".join(f"{c:.3f}" for c in cells) + f" | {a['system_s']:.1f} / "
                f"{b['system_s']:.1f} | {a['peak_memory_mb']:.0f} / {b['peak_memory_mb']:.0f} MB |"
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"config": vars(args), "ceilings": ceilings, "results": results, "floors": floors},
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
