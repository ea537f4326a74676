"""Reading comprehension written for rlreward: short passages with questions answered by a span.

The policy is given the facts, so a reward for exact, brief answers has something to sharpen (a
135M policy does not know trivia answers: ``shared/FINDINGS.md``). Each passage tells of two
invented people (where they live, their jobs, a pet, a shared sport, a favourite food); each question
asks one fact, and its gold answers are the span in the passage (numbers also as words). Passages
are generated from a seed, so the set is the same everywhere; training and held-out questions come
from different passages.
"""

from __future__ import annotations

import random
from typing import Any

import datasets

from rlreward.data.base import DataError

FIRST_NAMES = (
    "Amara", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Keiko",
    "Lars", "Maya", "Nikolai", "Olga", "Pablo", "Quinn", "Rosa", "Samir", "Tilda", "Umar", "Vera",
    "Wendell", "Ximena", "Yusuf", "Zora",
)  # fmt: skip
CITIES = (
    "Lisbon", "Oslo", "Nairobi", "Toronto", "Kyoto", "Valparaiso", "Tbilisi", "Dublin", "Hanoi",
    "Marseille", "Krakow", "Adelaide", "Cusco", "Tallinn", "Bergen", "Porto",
)  # fmt: skip
JOBS = (
    "baker", "nurse", "pilot", "carpenter", "teacher", "librarian", "plumber", "chemist", "tailor",
    "gardener", "dentist", "firefighter",
)  # fmt: skip
PETS = (("cat", "cats"), ("dog", "dogs"), ("parrot", "parrots"), ("rabbit", "rabbits"), ("goat", "goats"))
PET_NAMES = (
    "Biscuit",
    "Pepper",
    "Comet",
    "Mango",
    "Noodle",
    "Juniper",
    "Pickles",
    "Socks",
    "Waffle",
    "Ziggy",
)
SPORTS = ("chess", "tennis", "badminton", "volleyball", "table tennis", "cricket", "basketball", "golf")
FOODS = ("lentil soup", "dumplings", "paella", "pancakes", "grilled fish", "mushroom risotto", "tacos")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
RELATIONS = ("cousin", "neighbour", "friend", "colleague", "flatmate")


def _passage(rng: random.Random) -> tuple[str, list[tuple[str, list[str]]]]:
    a, b = rng.sample(FIRST_NAMES, 2)
    city_a, city_b = rng.sample(CITIES, 2)
    job_a, job_b = rng.sample(JOBS, 2)
    (pet, _), (_, pets_b) = rng.sample(PETS, 2)
    pet_name, sport, food, day, relation = (
        rng.choice(PET_NAMES), rng.choice(SPORTS), rng.choice(FOODS), rng.choice(DAYS), rng.choice(RELATIONS),
    )  # fmt: skip
    count = rng.randint(2, 9)
    sentences = [
        f"{a} lives in {city_a} and works as a {job_a}.",
        f"{a}'s {relation}, {b}, is a {job_b} in {city_b}.",
        f"{a} has a {pet} named {pet_name}, and {b} keeps {NUMBER_WORDS[count]} {pets_b}.",
        f"On {day}s the two of them play {sport} together.",
        f"{a}'s favourite food is {food}.",
    ]
    questions = [
        (f"Where does {a} live?", [city_a]),
        (f"What is {b}'s job?", [job_b, f"a {job_b}"]),
        (f"What is the name of {a}'s {pet}?", [pet_name]),
        (f"How many {pets_b} does {b} keep?", [NUMBER_WORDS[count], str(count)]),
        (f"What do {a} and {b} play on {day}s?", [sport]),
        (f"What is {a}'s favourite food?", [food]),
        (f"In which city does {b} work?", [city_b]),
        (f"What does {a} work as?", [job_a, f"a {job_a}"]),
    ]
    return " ".join(sentences), questions


def reading_prompt(passage: str, question: str) -> str:
    """The passage, then the question, then what a good answer looks like."""
    return f"{passage}\n\nQuestion: {question}\nAnswer with the words from the text only."


def reading_rows(passages: int, seed: int, questions_per_passage: int = 3) -> list[dict[str, Any]]:
    """``passages`` generated passages with ``questions_per_passage`` distinct questions each.

    Columns: ``prompt`` (passage + question), ``answers`` (gold spans), ``context``, ``question``,
    ``passage_id``.
    """
    rng = random.Random(seed)
    rows = []
    for p in range(passages):
        passage, questions = _passage(rng)
        for question, answers in rng.sample(questions, questions_per_passage):
            rows.append(
                {
                    "prompt": reading_prompt(passage, question),
                    "answers": answers,
                    "context": passage,
                    "question": question,
                    "passage_id": p,
                }
            )
    return rows


def load_reading_qa(
    train_passages: int = 200, eval_passages: int = 40, seed: int = 0
) -> datasets.DatasetDict:
    """Training questions from ``train_passages`` passages and held-out ones from ``eval_passages`` other
    passages (3 questions each; the held-out set is drawn with another seed, so no passage is shared)."""
    if train_passages < 1 or eval_passages < 0:
        raise DataError(
            f"train_passages={train_passages} and eval_passages={eval_passages}: pass at least 1 and 0."
        )
    train = reading_rows(train_passages, seed * 2)
    held_out = reading_rows(eval_passages, seed * 2 + 1)
    return datasets.DatasetDict(
        train=datasets.Dataset.from_list(train),
        eval=datasets.Dataset.from_list(held_out)
        if held_out
        else datasets.Dataset.from_list(train).select([]),
    )
