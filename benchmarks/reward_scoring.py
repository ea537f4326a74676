"""What per-token classifier rewards cost: sequence scores vs one-pass prefix scores vs naive re-scoring.

A causal classifier at the size of SmolLM2-135M (hidden 576, 30 layers, 9 heads, 3 kv heads,
intermediate 1536, vocab 49152; the real weights from ``~/.cache/rlreward/smollm2-135m-instruct``
when present, else random) scores a batch of completions three ways, all through ClassifierReward:

1. sequence only (``per_token=None``): one forward pass, the pooled logit;
2. per-token, single pass (``per_token="prefix_delta"``): the same forward pass, with the score
   head's output read at every position (``T`` prefix scores for free);
3. naive per-prefix re-scoring: every prefix ``prompt + y_{<=j}`` as its own sequence, in batches.

Prints a markdown table of median wall-clock and CPU times and checks that (2) and (3) agree.

    python benchmarks/reward_scoring.py --threads 2
    python benchmarks/reward_scoring.py --quick
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForSequenceClassification, PreTrainedTokenizerFast

from rlreward.rewards.classifier import ClassifierReward

SMOLLM2_135M = dict(
    vocab_size=49152,
    hidden_size=576,
    num_hidden_layers=30,
    num_attention_heads=9,
    num_key_value_heads=3,
    intermediate_size=1536,
    max_position_embeddings=2048,
    tie_word_embeddings=True,
)
QUICK = dict(
    vocab_size=1024, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128
)
CACHED = Path.home() / ".cache" / "rlreward" / "smollm2-135m-instruct"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch.set_num_threads")
    parser.add_argument("--batch", type=int, default=16, help="completions per batch")
    parser.add_argument("--tokens", type=int, default=64, help="completion tokens per completion")
    parser.add_argument("--prompt-tokens", type=int, default=16, help="prompt tokens per completion")
    parser.add_argument("--repeats", type=int, default=9, help="timed repeats after one warm-up")
    parser.add_argument("--naive-repeats", type=int, default=1, help="timed repeats of the (slow) naive mode")
    parser.add_argument("--batch-size", type=int, default=32, help="ClassifierReward batch_size (naive mode)")
    parser.add_argument("--quick", action="store_true", help="tiny model and batch: a smoke run in seconds")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.quick:
        args.batch, args.tokens, args.prompt_tokens, args.repeats, args.naive_repeats = 4, 16, 4, 5, 3
    return args


def synthetic_tokenizer(vocab_size: int) -> PreTrainedTokenizerFast:
    """A word-level tokenizer over ``w0 .. w{n-1}``: any id sequence decodes and re-encodes exactly."""
    vocab = {"<pad>": 0, "<unk>": 1, **{f"w{i}": i for i in range(2, vocab_size)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>")


def load_classifier(quick: bool) -> tuple[LlamaForSequenceClassification, PreTrainedTokenizerFast, str]:
    if not quick and CACHED.is_dir():
        from transformers import AutoTokenizer

        try:
            model = LlamaForSequenceClassification.from_pretrained(CACHED, num_labels=1)
            return model.eval(), AutoTokenizer.from_pretrained(CACHED), f"SmolLM2-135M weights ({CACHED})"
        except (OSError, ValueError) as err:
            print(f"could not load {CACHED} ({err}); using random weights")
    config = LlamaConfig(**(QUICK if quick else SMOLLM2_135M), num_labels=1, pad_token_id=0)
    model = LlamaForSequenceClassification(config).eval()
    label = "tiny random Llama (--quick)" if quick else "random init at SmolLM2-135M size"
    return model, synthetic_tokenizer(config.vocab_size), label


def timed(modes: dict, repeats: dict, warmup: tuple[str, ...]) -> tuple[dict, dict, dict]:
    """Median wall-clock and CPU milliseconds per mode, and each mode's last result.

    The ``warmup`` modes run once untimed first (the naive mode is long enough not to need it). Modes
    take turns within each round, so a change in machine load hits them alike. CPU time (this
    process, all threads) is the steadier measure on a machine shared with other jobs.
    """
    results = {name: modes[name]() for name in warmup}
    wall: dict[str, list[float]] = {name: [] for name in modes}
    cpu: dict[str, list[float]] = {name: [] for name in modes}
    for round_ in range(max(repeats.values())):
        for name, fn in modes.items():
            if round_ < repeats[name]:
                start, start_cpu = time.perf_counter(), time.process_time()
                results[name] = fn()
                cpu[name].append((time.process_time() - start_cpu) * 1e3)
                wall[name].append((time.perf_counter() - start) * 1e3)
    median = statistics.median
    return {k: median(v) for k, v in wall.items()}, {k: median(v) for k, v in cpu.items()}, results


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model, tokenizer, model_label = load_classifier(args.quick)
    low, high = 2, len(tokenizer.get_vocab())
    special = set(tokenizer.all_special_ids)
    pool = torch.tensor([i for i in range(low, high) if i not in special])

    def sample(n: int) -> list[list[int]]:
        return pool[torch.randint(len(pool), (args.batch, n))].tolist()

    prompts = tokenizer.batch_decode(sample(args.prompt_tokens))
    completion_ids = sample(args.tokens)
    completions = tokenizer.batch_decode(completion_ids)

    common = dict(include_prompt=True, policy_tokenizer=tokenizer, batch_size=args.batch_size)
    sequence_only = ClassifierReward(model, tokenizer, per_token=None, **common)
    single_pass = ClassifierReward(model, tokenizer, per_token="prefix_delta", **common)

    # naive: every prefix of every completion as its own sequence
    flat_prompts = [p for p, ids in zip(prompts, completion_ids) for _ in ids]
    flat_ids = [ids[: j + 1] for ids in completion_ids for j in range(len(ids))]
    flat_completions = tokenizer.batch_decode(flat_ids)

    def naive():
        return sequence_only.score(flat_prompts, flat_completions, flat_ids).sequence

    wall, cpu, results = timed(
        {
            "sequence": lambda: sequence_only.score(prompts, completions, completion_ids),
            "single": lambda: single_pass.score(prompts, completions, completion_ids),
            "naive": naive,
        },
        {"sequence": args.repeats, "single": args.repeats, "naive": args.naive_repeats},
        warmup=("sequence", "single"),
    )

    potentials = results["single"].tokens.cumsum(1)  # (b, t): phi_j, the score of prompt + y_<=j
    gap = (potentials.flatten() - results["naive"]).abs().max().item()

    print(
        f"\nmodel: {model_label}; batch {args.batch} x {args.tokens} completion tokens "
        f"(+ {args.prompt_tokens} prompt tokens); torch threads {args.threads}; "
        f"median of {args.repeats} after a warm-up ({args.naive_repeats} naive, no warm-up)\n"
    )
    rows = [
        ("sequence only", "sequence", "sequence", "of sequence"),
        ("per-token, single pass", "single", "sequence", "of sequence"),
        ("per-token, naive per-prefix re-scoring", "naive", "single", "of single pass"),
    ]
    print("| scoring | wall ms | CPU ms | ratio (wall) | ratio (CPU) |")
    print("|---|---:|---:|---:|---:|")
    for label, mode, base, of in rows:
        print(
            f"| {label} | {wall[mode]:.0f} | {cpu[mode]:.0f} | {wall[mode] / wall[base]:.2f}x {of} "
            f"| {cpu[mode] / cpu[base]:.2f}x {of} |"
        )
    print(f"\nmax |single-pass - naive| prefix score: {gap:.2e}")


if __name__ == "__main__":
    main()
