"""benchmarks/gpu_suite.sh and benchmarks/gpu_carry.py: what travels to the GPU machine, and (slow) the
whole suite in its CPU smoke mode, so the script keeps working between GPU sessions."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "benchmarks" / "gpu_suite.sh"


def load_carry():
    spec = importlib.util.spec_from_file_location("gpu_carry", ROOT / "benchmarks" / "gpu_carry.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


carry = load_carry()


def make_wheel(folder: Path, name: str, version: str = "0.1") -> Path:
    """A minimal pure-Python wheel holding ``<name>.py`` (``VALUE = 42``)."""
    info = f"{name}-{version}.dist-info"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(f"{name}.py", "VALUE = 42\n")
        z.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        z.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        z.writestr(f"{info}/RECORD", f"{name}.py,,\n{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n")
    return wheel


def test_split_then_join_gives_back_the_file_and_a_missing_part_is_named(tmp_path):
    original = tmp_path / "model.whl"
    original.write_bytes(os.urandom(100_001))  # not a multiple of the part count
    parts = carry.split(original, [tmp_path / "model1", tmp_path / "model2"])
    assert [p.name for p in parts] == ["model.whl.part1of2", "model.whl.part2of2"]
    assert abs(parts[0].stat().st_size - parts[1].stat().st_size) <= 1
    found = carry.find_parts("model.whl", [tmp_path / "model2", tmp_path / "model1", tmp_path / "absent"])
    assert found == parts  # in part order, whichever folder holds each
    joined = tmp_path / "joined.whl"
    digest = carry.join(found, joined)
    assert joined.read_bytes() == original.read_bytes()
    assert digest == __import__("hashlib").sha256(original.read_bytes()).hexdigest()
    parts[1].unlink()
    with pytest.raises(SystemExit, match=r"missing \(found: model.whl.part1of2\).*warm"):
        carry.find_parts("model.whl", [tmp_path / "model1", tmp_path / "model2"])


def test_stash_keeps_the_model_parts_outside_the_repository(tmp_path):
    folder = tmp_path / "model1"
    folder.mkdir()
    (folder / f"{carry.MODEL_WHEEL}.part1of2").write_bytes(b"half")
    carry.stash([folder, tmp_path / "model2"], tmp_path / "keep")
    assert (tmp_path / "keep" / f"{carry.MODEL_WHEEL}.part1of2").read_bytes() == b"half"


def test_only_the_wheels_the_machine_lacks_are_installed(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    probe = make_wheel(wheels, "rlreward_carry_probe")
    present = make_wheel(wheels, "pytest", "0.0.1")  # installed here: must not be replaced
    assert carry.distribution_of(Path("Django-5.2-py3-none-any.whl")) == "django"
    assert carry.distribution_of(Path("pydantic_core-2.5-cp312-cp312-x.whl")) == "pydantic-core"
    assert carry.missing_wheels([probe, present]) == [probe]
    target = tmp_path / "site"
    assert carry.install([wheels, tmp_path / "absent"], target) == [probe.name]
    assert (target / "rlreward_carry_probe.py").read_text() == "VALUE = 42\n"
    assert not (target / "pytest-0.0.1.dist-info").exists()


def test_suite_rejects_unknown_arguments_and_parses():
    assert subprocess.run(["bash", "-n", str(SUITE)]).returncode == 0
    result = subprocess.run(["bash", str(SUITE)], capture_output=True, text=True)
    assert result.returncode == 2 and "usage" in result.stderr
    result = subprocess.run(["bash", str(SUITE), "/tmp/x", "--stage", "nope"], capture_output=True, text=True)
    assert result.returncode == 2


@pytest.mark.slow
def test_smoke_mode_runs_every_step_on_the_cpu(tmp_path):
    """The whole suite with a tiny model and tiny budgets: every step passes and writes what it should."""
    out, work = tmp_path / "out", tmp_path / "work"
    env = {**os.environ, "PYTHON": sys.executable, "RLREWARD_GPU_WORK": str(work), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        ["bash", str(SUITE), str(out), "--smoke"], capture_output=True, text=True, env=env, timeout=1500
    )
    log = (out / "suite.log").read_text() if (out / "suite.log").exists() else ""
    assert result.returncode == 0, result.stdout[-3000:] + log[-5000:]
    assert sorted(p.name for p in out.iterdir()) == [
        "env.txt",
        "gpu_tests.xml",
        "runs.tar.gz",
        "suite.log",
        "summary.json",
        "throughput.json",
        "throughput.md",
    ]
    summary = json.loads((out / "summary.json").read_text())
    names = [s["name"] for s in summary["steps"]]
    assert names == [
        "install",
        "imports",
        "gpu_tests",
        "model",
        "throughput_b16",
        "throughput_b256",
        "ppo_sentiment",
        "ppo_translation",
        "throughput_b256_bf16",
    ]
    assert summary["failed"] == [] and all(s["exit"] == "0" for s in summary["steps"])
    assert 'tests="10"' in (out / "gpu_tests.xml").read_text()
    assert 'failures="0"' in (out / "gpu_tests.xml").read_text()
    throughput = json.loads((out / "throughput.json").read_text())
    assert set(throughput) == {"throughput_b16_fp32", "throughput_b256_fp32", "throughput_b256_bf16"}
    b16 = throughput["throughput_b16_fp32"]
    assert set(b16["results"]) == {"rlreward_reinforce", "rlreward_ppo", "rlreward_ppo_2epochs", "trl_rloo"}
    assert all(f["generate"] > 0 and f["update"] > 0 for f in b16["floors"].values())
    assert b16["ceilings"]["bandwidth_gbs"] > 0
    for run in ("ppo_sentiment", "ppo_translation_fr"):
        assert summary["runs"][run]["metrics_steps"] == 2
        assert "after" in summary["runs"][run]["eval"]
    with tarfile.open(out / "runs.tar.gz") as tar:
        members = tar.getnames()
    assert "./ppo_translation_fr/eval.json" in members
    assert not any(m.endswith(".safetensors") for m in members)
