"""The sampler: the same seeds give the same completions as the straightforward loop, at no extra forward."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import char_tokenizer, tiny_llama

from rlreward.trainers.rollout import _filter_logits, left_pad, sample

PROMPTS = ["hello", "abc", "the cat", "zz top", "a b c d e", "why?"]


@torch.no_grad()
def reference_sample(
    model, prompt_ids, prompt_mask, seeds, max_new_tokens, eos, pad, temperature, top_k, top_p
):
    """The sampler as first written (one out-of-place Gumbel draw per row and token): the completions
    that the published seed-0 numbers came from."""
    generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
    attention_mask = prompt_mask.long()
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    out = model(
        input_ids=prompt_ids,
        attention_mask=attention_mask,
        position_ids=position_ids,
        use_cache=True,
        logits_to_keep=1,
    )
    finished = torch.zeros(len(seeds), dtype=torch.bool)
    tokens, logprobs, entropies = [], [], []
    for _ in range(max_new_tokens):
        logits = out.logits[:, -1].float() / (temperature or 1.0)
        log_p = torch.log_softmax(logits, dim=-1)
        if temperature > 0:
            filtered = _filter_logits(logits, top_k, top_p)
            uniform = torch.stack([torch.rand(logits.shape[-1], generator=g) for g in generators])
            gumbel = -torch.log(-torch.log(uniform.clamp(1e-20, 1.0 - 1e-7)))
            next_token = (filtered + gumbel).argmax(-1)
        else:
            next_token = logits.argmax(-1)
        next_token = torch.where(finished, torch.full_like(next_token, pad), next_token)
        tokens.append(next_token)
        logprobs.append(log_p.gather(-1, next_token[:, None]).squeeze(-1))
        entropies.append(-(log_p.exp() * log_p).sum(-1))
        finished |= torch.isin(next_token, torch.tensor(eos))
        if finished.all():
            break
        attention_mask = F.pad(attention_mask, (0, 1), value=1)
        position_ids = position_ids[:, -1:] + 1
        out = model(
            input_ids=next_token[:, None],
            attention_mask=attention_mask,
            position_ids=position_ids,
            use_cache=True,
            past_key_values=out.past_key_values,
        )
    return torch.stack(tokens, 1), torch.stack(logprobs, 1), torch.stack(entropies, 1)


@pytest.mark.parametrize(
    "temperature,top_k,top_p", [(1.0, 0, 1.0), (0.7, 0, 1.0), (1.0, 5, 1.0), (1.0, 0, 0.9), (0.0, 0, 1.0)]
)
def test_sampler_gives_the_reference_loops_completions_bit_for_bit(temperature, top_k, top_p):
    tok = char_tokenizer()
    model = tiny_llama(len(tok)).eval()
    ids, mask = left_pad([tok(p)["input_ids"] for p in PROMPTS], tok.pad_token_id)
    seeds = [hash((0, 3, j)) & 0x7FFFFFFF for j in range(len(PROMPTS))]
    args = (seeds, 20, [tok.eos_token_id], tok.pad_token_id, temperature, top_k, top_p)
    expected = reference_sample(model, ids, mask, *args)
    got = sample(model, ids, mask, *args)
    assert torch.equal(got.ids, expected[0])
    assert torch.equal(got.logprobs, expected[1])
    assert torch.equal(got.entropy, expected[2])


class CountingModel(torch.nn.Module):
    """Wraps a causal LM and counts its forward calls."""

    def __init__(self, model):
        super().__init__()
        self.model, self.calls = model, 0

    def get_base_model(self):  # what the sampler inspects for the cache argument's name
        return self.model

    def forward(self, **kwargs):
        self.calls += 1
        return self.model(**kwargs)


def test_the_last_token_costs_no_forward_pass():
    tok = char_tokenizer()
    model = CountingModel(tiny_llama(len(tok)).eval())
    ids, mask = left_pad([tok(p)["input_ids"] for p in PROMPTS], tok.pad_token_id)
    never = 10_000  # an EOS id outside the vocabulary: every completion runs to the limit
    out = sample(model, ids, mask, list(range(len(PROMPTS))), 7, [never], tok.pad_token_id, 1.0)
    assert out.ids.shape == (len(PROMPTS), 7)
    assert model.calls == 7  # the prompt, then one pass for each of the first 6 new tokens


def test_a_large_batch_draws_its_rows_on_threads_and_gets_the_same_completions(monkeypatch):
    import rlreward.trainers.rollout as rollout

    tok = char_tokenizer()
    model = tiny_llama(len(tok)).eval()
    ids, mask = left_pad([tok(p)["input_ids"] for p in PROMPTS], tok.pad_token_id)
    seeds = [11 * j + 5 for j in range(len(PROMPTS))]
    args = (seeds, 16, [tok.eos_token_id], tok.pad_token_id, 1.0, 0, 1.0)
    expected = reference_sample(model, ids, mask, *args)
    monkeypatch.setattr(rollout, "PARALLEL_NOISE_ELEMENTS", 0)
    monkeypatch.setattr(rollout.os, "cpu_count", lambda: 4)
    pools = []
    original_init = rollout._GumbelNoise.__init__

    def spy(self, *a, **k):
        original_init(self, *a, **k)
        pools.append((self.pool, [len(c) for c in self.chunks]))

    monkeypatch.setattr(rollout._GumbelNoise, "__init__", spy)
    got = sample(model, ids, mask, *args)
    assert pools and pools[0][0] is not None and pools[0][1] == [1, 2, 1, 2]  # 6 rows over 4 threads
    assert torch.equal(got.ids, expected[0]) and torch.equal(got.logprobs, expected[1])


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_actor_critic_logits_equal_the_full_forwards_at_the_completion_positions(dtype):
    from rlreward.trainers.rollout import ActorCritic, ValueHead

    tok = char_tokenizer()
    model = tiny_llama(len(tok)).eval().to(dtype)
    ids, mask = left_pad([tok(p)["input_ids"] for p in PROMPTS], tok.pad_token_id)
    head = ValueHead(model.config.hidden_size)
    torch.nn.init.normal_(head.linear.weight)
    with torch.no_grad():
        logits, values = ActorCritic(model, head)(ids, mask, 3)
        position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
        full = model(input_ids=ids, attention_mask=mask, position_ids=position_ids, output_hidden_states=True)
    torch.testing.assert_close(logits, full.logits[:, -4:-1], atol=0, rtol=0)
    torch.testing.assert_close(values, head(full.hidden_states[-1][:, -4:-1]), atol=0, rtol=0)


@pytest.mark.parametrize("lora", [False, True])
def test_sampler_values_equal_the_scoring_pass_and_leave_the_tokens_alone(lora):
    from peft import LoraConfig, get_peft_model

    from rlreward.trainers.rollout import ActorCritic, ValueHead, completion_mask_from_ids, score_tokens

    tok = char_tokenizer()
    model = tiny_llama(len(tok)).eval()
    if lora:
        model = get_peft_model(
            model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
        )
    ids, mask = left_pad([tok(p)["input_ids"] for p in PROMPTS], tok.pad_token_id)
    head = ValueHead(model.config.hidden_size)
    torch.nn.init.normal_(head.linear.weight)
    eos = [tok.convert_tokens_to_ids("z")]
    args = (list(range(len(PROMPTS))), 7, eos, tok.pad_token_id, 1.0)
    plain = sample(model, ids, mask, *args)
    with_values = sample(model, ids, mask, *args, value_head=head)
    assert plain.values is None and with_values.values.shape == with_values.ids.shape
    assert torch.equal(plain.ids, with_values.ids) and torch.equal(plain.logprobs, with_values.logprobs)
    completion_mask = completion_mask_from_ids(with_values.ids, eos)
    completion_ids = with_values.ids.masked_fill(completion_mask == 0, tok.pad_token_id)
    logprobs, values = score_tokens(ActorCritic(model, head), ids, mask, completion_ids, completion_mask)
    m = completion_mask.bool()
    assert m.sum() > len(PROMPTS)
    torch.testing.assert_close(with_values.values[m], values[m], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(with_values.logprobs[m], logprobs[m], atol=1e-5, rtol=1e-5)
