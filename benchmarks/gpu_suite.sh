#!/usr/bin/env bash
# rlreward on a GPU: the gpu tests, the trainer throughput against the floor, and two recipes at a GPU budget.
#
#   bash benchmarks/gpu_suite.sh OUT_DIR [--stage tests|bench|all] [--smoke]
#
# Made for a CUDA machine without network that takes one command of at most ~8 minutes and at most
# 64 MiB of files per command (see benchmarks/gpu_carry.py, which prepares what travels: run
# `python benchmarks/gpu_carry.py prepare` here first). The embedded policy's wheel (93 MB) travels in two
# halves, so on such a machine the suite runs as two consecutive commands, the second while the machine
# is still warm (carried paths and /tmp stay on it between commands):
#
#   1. carry [".whl/base", ".whl/model1"]:  bash benchmarks/gpu_suite.sh $OUT --stage tests
#      installs what the machine lacks, keeps the model's first half, runs `pytest -m gpu tests/test_gpu.py`
#      (tiny models; DeepSpeed ZeRO-2 and FSDP through accelerate launch): about 2-3 min.
#   2. carry [".whl/task", ".whl/model2"]:  bash benchmarks/gpu_suite.sh $OUT --stage bench
#      joins the model, then benchmarks/trainer_throughput.py at 16 x 24 and 256 x 128 tokens (fp32; bf16
#      if time is left) and recipes/ppo_sentiment.py and recipes/ppo_translation.py (French) at 10x
#      their CPU budget in samples: about 6-7 min.
#
# With the whole model present (or with --smoke) `--stage all` (the default) runs both in one go.
# --smoke runs every step on the CPU with a tiny random model and tiny budgets (tests/test_gpu_suite.py
# runs it, so the script does not rot). Steps past the time budget (SUITE_DEADLINE_S, default 460 s) are
# skipped and say so.
#
# OUT_DIR receives at most 8 files (what a device command brings back): suite.log (every step's output),
# summary.json (each step's exit code and seconds; the recipes' before/after metrics; throughput medians),
# env.txt (GPU, driver, package versions), gpu_tests.xml (JUnit), throughput.md (the tables, with the
# floors), throughput.json (all numbers), runs.tar.gz (the recipes' metrics.jsonl, eval.json, report.md,
# samples; no weights). Exit status: 0 when every step that ran passed.
set -uo pipefail

usage() { echo "usage: $0 OUT_DIR [--stage tests|bench|all] [--smoke]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
OUT=$(mkdir -p "$1" && cd "$1" && pwd) || usage
shift
STAGE=all
SMOKE=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --smoke) SMOKE=1 ;;
    --stage) STAGE=${2:-}; shift ;;
    *) usage ;;
  esac
  shift
done
[[ $STAGE == tests || $STAGE == bench || $STAGE == all ]] || usage

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 2
PY=${PYTHON:-python3}
WORK=${RLREWARD_GPU_WORK:-/tmp/rlreward_gpu}  # outside the repository: stays between commands
DEADLINE=${SUITE_DEADLINE_S:-460}
mkdir -p "$WORK/runs"
LOG=$OUT/suite.log
STEPS=$WORK/steps.$$.tsv
: >"$LOG"
: >"$STEPS"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export RLREWARD_CACHE=${RLREWARD_CACHE:-$WORK/cache}
export PYTHONPATH="$WORK/site:$REPO${PYTHONPATH:+:$PYTHONPATH}"
export DS_ACCELERATOR=cuda  # the carried deepspeed wheel was built on a machine without CUDA

# Budgets: batch 64 x 100 steps is 10x the sentiment recipe's 16 x 40 samples; 64 x 50, 10x translation's 16 x 20.
if [[ $SMOKE == 1 ]]; then
  export RLREWARD_GPU_TESTS_ON_CPU=1
  DEADLINE=${SUITE_DEADLINE_S:-900}
  TP_SMALL=(--steps 2 --warmup 1 --batch_size 8 --max_new_tokens 6 --micro_batch_size 4)
  TP_LARGE=(--steps 2 --warmup 1 --batch_size 16 --max_new_tokens 8 --micro_batch_size 8)
  RECIPE=(--max_steps 2 --batch_size 4 --mini_batch_size 4 --micro_batch_size 2 --max_new_tokens 6 --eval_size 4)
  SENTIMENT=("${RECIPE[@]}")
  TRANSLATION=("${RECIPE[@]}" --max_prompt_length 1024)  # one token per character
else
  TP_SMALL=(--steps 5 --warmup 1 --batch_size 16 --max_new_tokens 24 --micro_batch_size 8)
  TP_LARGE=(--steps 4 --warmup 1 --batch_size 256 --max_new_tokens 128 --micro_batch_size 64)
  SENTIMENT=(--max_steps "${SENTIMENT_STEPS:-100}" --batch_size 64 --mini_batch_size 32 --micro_batch_size 32)
  TRANSLATION=(--max_steps "${TRANSLATION_STEPS:-50}" --batch_size 64 --mini_batch_size 32 --micro_batch_size 32)
fi

say() { echo "$*" | tee -a "$LOG"; }

# step NAME LIMIT_S COMMAND...: run COMMAND into the log under a time limit that never passes the deadline.
step() {
  local name=$1 limit=$2 left start rc
  shift 2
  left=$((DEADLINE - SECONDS))
  if ((left < 30)); then
    say "-- $name: skipped, ${left}s left of the ${DEADLINE}s budget"
    printf '%s\tskipped\t0\n' "$name" >>"$STEPS"
    return 0
  fi
  ((limit > left)) && limit=$left
  say "== $name (limit ${limit}s, $(date -u +%H:%M:%S) UTC)"
  start=$SECONDS
  # bash -c: the command may be one of the functions below (exported with export -f)
  timeout --kill-after=10 "$limit" bash -c '"$@"' "$name" "$@" >>"$LOG" 2>&1
  rc=$?
  ((rc == 124 || rc == 137)) && say "   $name: stopped at its ${limit}s limit"
  printf '%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - start))" >>"$STEPS"
  say "-- $name: exit $rc in $((SECONDS - start))s"
  return 0
}

launch() { "$PY" -m accelerate.commands.launch --num_processes 1 --num_machines 1 --mixed_precision no \
  --dynamo_backend no "$@"; }

environment() {
  nvidia-smi 2>&1 || echo "no nvidia-smi"
  "$PY" - <<'EOF'
import importlib.metadata as md, platform, sys
print("python", sys.version.split()[0], platform.machine())
for name in ("torch", "transformers", "accelerate", "peft", "trl", "datasets", "deepspeed", "sacrebleu",
             "vaderSentiment", "gguf", "pyarrow", "fsspec", "huggingface-hub", "django", "sphinx"):
    try:
        print(f"{name}=={md.version(name)}")
    except md.PackageNotFoundError:
        print(f"{name}: not installed")
import torch
print("cuda", torch.cuda.is_available(), torch.version.cuda, torch.cuda.get_device_name() if torch.cuda.is_available() else "")
EOF
}

imports() {
  "$PY" -c "import trl, datasets, vaderSentiment, gguf, peft, accelerate, sacrebleu, rlreward.trainers; print('imports ok')"
  "$PY" -c "import deepspeed; print('deepspeed', deepspeed.__version__)" || echo "deepspeed does not import (its tests skip)"
}

tiny_model() {
  "$PY" -c "import sys; sys.path.insert(0, 'tests'); from pathlib import Path
from conftest import save_tiny_chat_model; save_tiny_chat_model(Path('$WORK/tiny_model'))"
}

throughput() { # NAME ARGS...: trainer_throughput.py into $WORK/NAME.{md,json}
  local name=$1
  shift
  "$PY" benchmarks/trainer_throughput.py --model "$MODEL" --json "$WORK/$name.json" "$@" | tee "$WORK/$name.md"
}

recipe() { # NAME SCRIPT ARGS...
  local name=$1 script=$2
  shift 2
  rm -rf "$WORK/runs/$name"
  launch "recipes/$script" --model_name_or_path "$MODEL" --output_dir "$WORK/runs/$name" \
    --save_steps 0 --progress_bar false "$@"
}

export -f launch imports tiny_model throughput recipe
export PY WORK
rm -f "$WORK"/throughput_*.json "$WORK"/throughput_*.md
say "rlreward gpu suite: stage $STAGE, smoke $SMOKE, budget ${DEADLINE}s, out $OUT"
environment >"$OUT/env.txt" 2>&1
# In smoke mode the wheels go to a folder off the path: this machine's environment is the one tested.
SITE=$WORK/site
[[ $SMOKE == 1 ]] && SITE=$WORK/smoke_site
step install 90 "$PY" benchmarks/gpu_carry.py install .whl/base .whl/task --target "$SITE"
step imports 60 imports

if [[ $STAGE != bench ]]; then
  [[ $SMOKE == 1 ]] || step stash_model_parts 60 "$PY" benchmarks/gpu_carry.py stash .whl/model1 .whl/model2 --keep "$WORK/parts"
  step gpu_tests 300 "$PY" -m pytest -m gpu tests/test_gpu.py -v -rs -p no:cacheprovider --junitxml="$OUT/gpu_tests.xml"
fi

if [[ $STAGE != tests ]]; then
  if [[ $SMOKE == 1 ]]; then
    export MODEL=$WORK/tiny_model
    step model 120 tiny_model
  else
    export MODEL=smollm2-135m-instruct
    step model 150 "$PY" benchmarks/gpu_carry.py model .whl/model1 .whl/model2 "$WORK/parts"
  fi
  step throughput_b16 180 throughput throughput_b16_fp32 "${TP_SMALL[@]}"
  step throughput_b256 200 throughput throughput_b256_fp32 "${TP_LARGE[@]}"
  step ppo_sentiment 180 recipe ppo_sentiment ppo_sentiment.py "${SENTIMENT[@]}"
  step ppo_translation 180 recipe ppo_translation_fr ppo_translation.py --language fr "${TRANSLATION[@]}"
  step throughput_b256_bf16 150 throughput throughput_b256_bf16 "${TP_LARGE[@]}" --dtype bfloat16 \
    --methods rlreward_reinforce rlreward_ppo
  cat "$WORK"/throughput_*.md >"$OUT/throughput.md" 2>/dev/null
  (cd "$WORK/runs" && tar -czf "$OUT/runs.tar.gz" --exclude='*.safetensors' --exclude='*.bin' \
    --exclude='*.pt' --exclude='checkpoint-*' --exclude='*.png' .)
fi

"$PY" - "$STEPS" "$WORK" "$OUT" "$STAGE" "$SMOKE" <<'EOF'
import json, sys
from pathlib import Path
steps_file, work, out, stage, smoke = sys.argv[1:]
work, out = Path(work), Path(out)
steps = [dict(zip(("name", "exit", "seconds"), line.split("\t"))) for line in Path(steps_file).read_text().splitlines()]
summary = {"stage": stage, "smoke": smoke == "1", "steps": steps, "throughput": {}, "runs": {}}
merged = {}
for path in sorted(work.glob("throughput_*.json")):
    data = json.loads(path.read_text())
    merged[path.stem] = data
    summary["throughput"][path.stem] = {
        m: {k: round(r[k], 4) for k in ("step_s", "generate_s", "logprob_s", "reward_s", "update_s",
                                         "tokens_per_s", "peak_memory_mb")}
        for m, r in data["results"].items()
    }
if merged:
    (out / "throughput.json").write_text(json.dumps(merged, indent=2))
for run in sorted((work / "runs").glob("*")) if stage != "tests" else []:
    record = {"metrics_steps": len((run / "metrics.jsonl").read_text().splitlines()) if (run / "metrics.jsonl").exists() else 0}
    if (run / "eval.json").exists():
        record["eval"] = json.loads((run / "eval.json").read_text())
    summary["runs"][run.name] = record
failed = [s["name"] for s in steps if s["exit"] not in ("0", "skipped")]
summary["failed"] = failed
(out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
print(json.dumps({"failed": failed, "skipped": [s["name"] for s in steps if s["exit"] == "skipped"],
                  "steps": {s["name"]: f"{s['exit']} ({s['seconds']}s)" for s in steps}}, indent=1))
sys.exit(1 if failed else 0)
EOF
rc=$?
rm -f "$STEPS"
[[ -f $OUT/throughput.md ]] && tail -c 6000 "$OUT/throughput.md"
exit $rc
