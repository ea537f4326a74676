"""Easy Python function tasks written for rlreward: strings, lists, arithmetic and dictionaries.

Every function decorated with :func:`task` below is one task. :mod:`rlreward.data.code` reads this
file's *source*: the signature and docstring become the ``prompt`` (HumanEval style: the model
writes the body), the body becomes the ``canonical_solution``, and the decorator's expressions
become ``tests`` (one ``assert`` line each). Bodies are self-contained (imports inside them), so
``prompt + canonical_solution + tests`` runs on its own; ``tests/test_data.py`` runs every task.

To add a task: write the function with a docstring (one example in ``>>>`` form) and at least
three checks that would catch a wrong body, including an edge case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)


def task(*checks: str) -> Callable[[F], F]:
    """Mark a function as a task whose tests are ``assert <check>`` for each check expression."""

    def mark(function: F) -> F:
        function.checks = checks  # type: ignore[attr-defined]
        return function

    return mark


# --------------------------------------------------------------------------------------------
# Strings
# --------------------------------------------------------------------------------------------


@task('reverse_text("abc") == "cba"', 'reverse_text("") == ""', 'reverse_text("ab ba!") == "!ab ba"')
def reverse_text(text: str) -> str:
    """Return text with its characters in reverse order.

    >>> reverse_text("hello")
    'olleh'
    """
    return text[::-1]


@task('count_vowels("Hello") == 2', 'count_vowels("xyz") == 0', 'count_vowels("AEIOU aeiou") == 10')
def count_vowels(text: str) -> int:
    """Count the vowels (a, e, i, o, u, in either case) in text.

    >>> count_vowels("banana")
    3
    """
    return sum(1 for ch in text.lower() if ch in "aeiou")


@task(
    'is_palindrome("Racecar") is True',
    'is_palindrome("A man, a plan, a canal: Panama") is True',
    'is_palindrome("hello") is False',
    'is_palindrome("") is True',
)
def is_palindrome(text: str) -> bool:
    """Return True if text reads the same backwards, ignoring case and any non-alphanumeric character.

    >>> is_palindrome("No lemon, no melon")
    True
    """
    cleaned = [ch.lower() for ch in text if ch.isalnum()]
    return cleaned == cleaned[::-1]


@task(
    'capitalize_words("hello world") == "Hello World"',
    'capitalize_words("a") == "A"',
    'capitalize_words("mIxEd cAsE") == "Mixed Case"',
)
def capitalize_words(sentence: str) -> str:
    """Capitalise the first letter of every space-separated word and lower-case the rest.

    >>> capitalize_words("the quick fox")
    'The Quick Fox'
    """
    return " ".join(word[:1].upper() + word[1:].lower() for word in sentence.split(" "))


@task('count_words("one two  three") == 3', 'count_words("") == 0', 'count_words("   ") == 0')
def count_words(text: str) -> int:
    """Count the words in text, where words are separated by any amount of whitespace.

    >>> count_words("to be or not")
    4
    """
    return len(text.split())


@task(
    'longest_word("a bb ccc dd") == "ccc"',
    'longest_word("tie tie") == "tie"',
    'longest_word("one three seven") == "three"',
    'longest_word("") == ""',
)
def longest_word(sentence: str) -> str:
    """Return the longest word in sentence; on a tie, the first one. Return "" for no words.

    >>> longest_word("I love programming")
    'programming'
    """
    best = ""
    for word in sentence.split():
        if len(word) > len(best):
            best = word
    return best


@task('remove_vowels("banana") == "bnn"', 'remove_vowels("AEIOU") == ""', 'remove_vowels("Sky") == "Sky"')
def remove_vowels(text: str) -> str:
    """Return text without its vowels (a, e, i, o, u in either case).

    >>> remove_vowels("Hello World")
    'Hll Wrld'
    """
    return "".join(ch for ch in text if ch.lower() not in "aeiou")


@task(
    'char_counts("aab") == {"a": 2, "b": 1}',
    'char_counts("") == {}',
    'char_counts("Aa") == {"A": 1, "a": 1}',
)
def char_counts(text: str) -> dict[str, int]:
    """Return a dictionary mapping each character of text to how many times it appears.

    >>> char_counts("hello")
    {'h': 1, 'e': 1, 'l': 2, 'o': 1}
    """
    counts: dict[str, int] = {}
    for ch in text:
        counts[ch] = counts.get(ch, 0) + 1
    return counts


@task(
    'is_anagram("listen", "silent") is True',
    'is_anagram("Dormitory", "dirty room") is True',
    'is_anagram("abc", "abd") is False',
    'is_anagram("aab", "abb") is False',
)
def is_anagram(first: str, second: str) -> bool:
    """Return True if the two strings use the same letters, ignoring case and spaces.

    >>> is_anagram("evil", "vile")
    True
    """
    return sorted(first.replace(" ", "").lower()) == sorted(second.replace(" ", "").lower())


@task(
    'first_unique_char("swiss") == "w"',
    'first_unique_char("aabb") == ""',
    'first_unique_char("x") == "x"',
)
def first_unique_char(text: str) -> str:
    """Return the first character that appears exactly once in text, or "" if there is none.

    >>> first_unique_char("leetcode")
    'l'
    """
    for ch in text:
        if text.count(ch) == 1:
            return ch
    return ""


@task(
    'compress_runs("aaabcc") == "a3b1c2"',
    'compress_runs("") == ""',
    'compress_runs("zzzzzzzzzzzz") == "z12"',
)
def compress_runs(text: str) -> str:
    """Replace each run of a repeated character by the character followed by the run length.

    >>> compress_runs("aabbb")
    'a2b3'
    """
    result = []
    i = 0
    while i < len(text):
        j = i
        while j < len(text) and text[j] == text[i]:
            j += 1
        result.append(f"{text[i]}{j - i}")
        i = j
    return "".join(result)


@task(
    'expand_runs("a3b1c2") == "aaabcc"',
    'expand_runs("") == ""',
    'expand_runs("x10") == "xxxxxxxxxx"',
)
def expand_runs(code: str) -> str:
    """Undo run-length encoding: each letter is followed by its count, which may have several digits.

    >>> expand_runs("a2b3")
    'aabbb'
    """
    result = []
    i = 0
    while i < len(code):
        letter = code[i]
        j = i + 1
        while j < len(code) and code[j].isdigit():
            j += 1
        result.append(letter * int(code[i + 1 : j]))
        i = j
    return "".join(result)


@task(
    'caesar_shift("abc", 1) == "bcd"',
    'caesar_shift("xyz", 3) == "abc"',
    'caesar_shift("Hello, World!", 13) == "Uryyb, Jbeyq!"',
    'caesar_shift("abc", -1) == "zab"',
)
def caesar_shift(text: str, shift: int) -> str:
    """Shift every letter of text by shift places in the alphabet, wrapping around and keeping case.

    Characters that are not letters are left unchanged.

    >>> caesar_shift("Zoo", 1)
    'App'
    """
    result = []
    for ch in text:
        if ch.isalpha() and ch.isascii():
            base = ord("A") if ch.isupper() else ord("a")
            result.append(chr(base + (ord(ch) - base + shift) % 26))
        else:
            result.append(ch)
    return "".join(result)


@task(
    'swap_letter_case("Hello") == "hELLO"', 'swap_letter_case("123") == "123"', 'swap_letter_case("") == ""'
)
def swap_letter_case(text: str) -> str:
    """Turn upper-case letters into lower-case ones and vice versa.

    >>> swap_letter_case("PyThOn")
    'pYtHoN'
    """
    return "".join(ch.lower() if ch.isupper() else ch.upper() for ch in text)


@task(
    'count_uppercase("Hello World") == 2', 'count_uppercase("abc") == 0', 'count_uppercase("ABC def G") == 4'
)
def count_uppercase(text: str) -> int:
    """Count the upper-case letters in text.

    >>> count_uppercase("NASA rocks")
    4
    """
    return sum(1 for ch in text if ch.isupper())


@task(
    'snake_to_camel("hello_world") == "helloWorld"',
    'snake_to_camel("single") == "single"',
    'snake_to_camel("make_it_work_now") == "makeItWorkNow"',
)
def snake_to_camel(name: str) -> str:
    """Convert a snake_case name into camelCase.

    >>> snake_to_camel("user_id")
    'userId'
    """
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


@task(
    'camel_to_snake("helloWorld") == "hello_world"',
    'camel_to_snake("simple") == "simple"',
    'camel_to_snake("parseHttpResponseCode") == "parse_http_response_code"',
)
def camel_to_snake(name: str) -> str:
    """Convert a camelCase name into snake_case.

    >>> camel_to_snake("userId")
    'user_id'
    """
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in name)


@task(
    'strip_digits("a1b2c3") == "abc"',
    'strip_digits("2024") == ""',
    'strip_digits("no digits") == "no digits"',
)
def strip_digits(text: str) -> str:
    """Remove every digit from text.

    >>> strip_digits("R2D2")
    'RD'
    """
    return "".join(ch for ch in text if not ch.isdigit())


@task(
    'initials("Ada Lovelace") == "AL"',
    'initials("grace brewster murray hopper") == "GBMH"',
    'initials("") == ""',
)
def initials(full_name: str) -> str:
    """Return the upper-case first letters of each word of a name.

    >>> initials("alan turing")
    'AT'
    """
    return "".join(word[0].upper() for word in full_name.split())


@task(
    'repeat_each_char("abc", 2) == "aabbcc"',
    'repeat_each_char("xy", 0) == ""',
    'repeat_each_char("a b", 3) == "aaa   bbb"',
)
def repeat_each_char(text: str, times: int) -> str:
    """Repeat every character of text the given number of times.

    >>> repeat_each_char("hi", 3)
    'hhhiii'
    """
    return "".join(ch * times for ch in text)


@task(
    'interleave_strings("abc", "123") == "a1b2c3"',
    'interleave_strings("ab", "wxyz") == "awbxyz"',
    'interleave_strings("", "q") == "q"',
)
def interleave_strings(first: str, second: str) -> str:
    """Alternate characters from first and second; append what is left of the longer one.

    >>> interleave_strings("ace", "bdf")
    'abcdef'
    """
    merged = [a + b for a, b in zip(first, second)]
    shorter = min(len(first), len(second))
    return "".join(merged) + first[shorter:] + second[shorter:]


@task(
    'is_pangram("The quick brown fox jumps over the lazy dog") is True',
    'is_pangram("Hello world") is False',
    'is_pangram("abcdefghijklmnopqrstuvwxyZ") is True',
)
def is_pangram(sentence: str) -> bool:
    """Return True if sentence contains every letter of the English alphabet at least once.

    >>> is_pangram("Pack my box with five dozen liquor jugs")
    True
    """
    return set("abcdefghijklmnopqrstuvwxyz") <= set(sentence.lower())


@task(
    'count_overlapping("aaaa", "aa") == 3',
    'count_overlapping("banana", "ana") == 2',
    'count_overlapping("abc", "d") == 0',
)
def count_overlapping(text: str, part: str) -> int:
    """Count occurrences of part in text, counting overlapping occurrences too. part is never empty.

    >>> count_overlapping("abababa", "aba")
    3
    """
    return sum(1 for i in range(len(text) - len(part) + 1) if text[i : i + len(part)] == part)


@task(
    'slugify("Hello World") == "hello-world"',
    'slugify("  Many   spaces here ") == "many-spaces-here"',
    'slugify("Rock & Roll!") == "rock-roll"',
)
def slugify(title: str) -> str:
    """Turn a title into a URL slug: lower-case words of letters and digits joined by single hyphens.

    Any character that is not a letter or digit separates words.

    >>> slugify("My First Post")
    'my-first-post'
    """
    words = "".join(ch.lower() if ch.isalnum() else " " for ch in title).split()
    return "-".join(words)


@task(
    'truncate("Hello world", 8) == "Hello..."',
    'truncate("short", 10) == "short"',
    'truncate("exactly", 7) == "exactly"',
)
def truncate(text: str, limit: int) -> str:
    """Shorten text to at most limit characters; when cut, the last three kept characters become "...".

    limit is at least 3.

    >>> truncate("abcdefgh", 5)
    'ab...'
    """
    if len(text) <= limit:
        return text
    return text[: limit - 3] + "..."


@task('zero_pad(7, 3) == "007"', 'zero_pad(1234, 2) == "1234"', 'zero_pad(0, 1) == "0"')
def zero_pad(number: int, width: int) -> str:
    """Write a non-negative number with leading zeros so that it has at least width digits.

    >>> zero_pad(42, 5)
    '00042'
    """
    return str(number).rjust(width, "0")


@task(
    'word_lengths("a bb ccc") == [1, 2, 3]',
    'word_lengths("") == []',
    'word_lengths("hello  world") == [5, 5]',
)
def word_lengths(sentence: str) -> list[int]:
    """Return the length of each whitespace-separated word of sentence, in order.

    >>> word_lengths("the cat sat")
    [3, 3, 3]
    """
    return [len(word) for word in sentence.split()]


@task(
    'most_common_char("abracadabra") == "a"',
    'most_common_char("abcabc") == "a"',
    'most_common_char("zzy") == "z"',
    'most_common_char("bbaa") == "b"',
)
def most_common_char(text: str) -> str:
    """Return the character that appears most often in a non-empty text; on a tie, the one seen first.

    >>> most_common_char("mississippi")
    'i'
    """
    best = text[0]
    for ch in text:
        if text.count(ch) > text.count(best):
            best = ch
    return best


@task(
    'unique_chars("banana") == "ban"',
    'unique_chars("") == ""',
    'unique_chars("abcABC") == "abcABC"',
)
def unique_chars(text: str) -> str:
    """Return the distinct characters of text in the order they first appear.

    >>> unique_chars("hello")
    'helo'
    """
    seen = []
    for ch in text:
        if ch not in seen:
            seen.append(ch)
    return "".join(seen)


@task(
    'is_rotation("waterbottle", "erbottlewat") is True',
    'is_rotation("abc", "acb") is False',
    'is_rotation("abc", "abcd") is False',
    'is_rotation("", "") is True',
)
def is_rotation(first: str, second: str) -> bool:
    """Return True if second can be obtained by moving some leading characters of first to its end.

    >>> is_rotation("abcde", "cdeab")
    True
    """
    return len(first) == len(second) and second in first + first


@task(
    'alternate_case("hello") == "HeLlO"',
    'alternate_case("") == ""',
    'alternate_case("ABCD") == "AbCd"',
)
def alternate_case(text: str) -> str:
    """Upper-case the characters at even positions and lower-case those at odd positions.

    >>> alternate_case("python")
    'PyThOn'
    """
    return "".join(ch.upper() if i % 2 == 0 else ch.lower() for i, ch in enumerate(text))


@task(
    'reverse_word_order("one two three") == "three two one"',
    'reverse_word_order("solo") == "solo"',
    'reverse_word_order("  spaced   out ") == "out spaced"',
)
def reverse_word_order(sentence: str) -> str:
    """Return the words of sentence in reverse order, separated by single spaces.

    >>> reverse_word_order("hello big world")
    'world big hello'
    """
    return " ".join(reversed(sentence.split()))


@task(
    'sort_words("banana Apple cherry") == "Apple banana cherry"',
    'sort_words("") == ""',
    'sort_words("b a") == "a b"',
)
def sort_words(sentence: str) -> str:
    """Sort the words of sentence alphabetically, ignoring case, and join them with spaces.

    >>> sort_words("the quick brown fox")
    'brown fox quick the'
    """
    return " ".join(sorted(sentence.split(), key=str.lower))


@task(
    'common_prefix(["flower", "flow", "flight"]) == "fl"',
    'common_prefix(["dog", "racecar"]) == ""',
    'common_prefix(["same", "same"]) == "same"',
    'common_prefix([]) == ""',
)
def common_prefix(words: list[str]) -> str:
    """Return the longest prefix shared by every word in words ("" for an empty list).

    >>> common_prefix(["interview", "internet", "interval"])
    'inter'
    """
    if not words:
        return ""
    prefix = words[0]
    for word in words[1:]:
        while not word.startswith(prefix):
            prefix = prefix[:-1]
    return prefix


@task('is_isogram("machine") is True', 'is_isogram("Alpha") is False', 'is_isogram("") is True')
def is_isogram(word: str) -> bool:
    """Return True if no letter occurs more than once in word, ignoring case.

    >>> is_isogram("lumberjacks")
    True
    """
    letters = word.lower()
    return len(set(letters)) == len(letters)


@task(
    'hamming_distance("karolin", "kathrin") == 3',
    'hamming_distance("abc", "abc") == 0',
    'hamming_distance("", "") == 0',
)
def hamming_distance(first: str, second: str) -> int:
    """Count the positions at which two equally long strings differ.

    >>> hamming_distance("1011101", "1001001")
    2
    """
    return sum(1 for a, b in zip(first, second) if a != b)


@task(
    'shared_letters("apple", "plum") == "lp"',
    'shared_letters("abc", "xyz") == ""',
    'shared_letters("Hello", "yellow") == "elo"',
)
def shared_letters(first: str, second: str) -> str:
    """Return the distinct characters found in both strings, sorted alphabetically.

    >>> shared_letters("stone", "notes")
    'enost'
    """
    return "".join(sorted(set(first) & set(second)))


@task(
    'last_word_length("Hello World") == 5',
    'last_word_length("fly me   ") == 2',
    'last_word_length("   ") == 0',
)
def last_word_length(sentence: str) -> int:
    """Return the length of the last word of sentence, or 0 if there is no word.

    >>> last_word_length("the moon is bright")
    6
    """
    words = sentence.split()
    return len(words[-1]) if words else 0


@task(
    'balanced_brackets("([]{})") is True',
    'balanced_brackets("([)]") is False',
    'balanced_brackets("((") is False',
    'balanced_brackets("a(b)c") is True',
)
def balanced_brackets(text: str) -> bool:
    """Return True if the brackets (), [] and {} in text are balanced and properly nested.

    Other characters are ignored.

    >>> balanced_brackets("{[()()]}")
    True
    """
    pairs = {")": "(", "]": "[", "}": "{"}
    stack = []
    for ch in text:
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs and (not stack or stack.pop() != pairs[ch]):
            return False
    return not stack


@task(
    'count_consonants("Hello") == 3', 'count_consonants("aeiou") == 0', 'count_consonants("Rhythm 42!") == 6'
)
def count_consonants(text: str) -> int:
    """Count the letters of text that are not vowels (a, e, i, o, u).

    >>> count_consonants("Python")
    5
    """
    return sum(1 for ch in text if ch.isalpha() and ch.lower() not in "aeiou")


@task(
    'censor_word("the cat sat", "cat") == "the *** sat"',
    'censor_word("Cat cat CAT", "cat") == "*** *** ***"',
    'censor_word("concat", "cat") == "concat"',
)
def censor_word(sentence: str, word: str) -> str:
    """Replace every whole-word occurrence of word (any case) with asterisks of the same length.

    Words of sentence are separated by single spaces.

    >>> censor_word("bad day, bad luck", "bad")
    '*** day, *** luck'
    """
    return " ".join("*" * len(w) if w.lower() == word.lower() else w for w in sentence.split(" "))


@task(
    'has_double_letter("book") is True',
    'has_double_letter("abcd") is False',
    'has_double_letter("aA") is False',
)
def has_double_letter(word: str) -> bool:
    """Return True if the same character appears twice in a row in word.

    >>> has_double_letter("balloon")
    True
    """
    return any(a == b for a, b in zip(word, word[1:]))


@task(
    'kebab_case("Hello World") == "hello-world"',
    'kebab_case("already-kebab") == "already-kebab"',
    'kebab_case("One  Two Three") == "one-two-three"',
)
def kebab_case(text: str) -> str:
    """Lower-case the space-separated words of text and join them with hyphens.

    >>> kebab_case("Make It Work")
    'make-it-work'
    """
    return "-".join(text.lower().split())


@task(
    'abbreviate_name("John Ronald Tolkien") == "J. R. Tolkien"',
    'abbreviate_name("Plato") == "Plato"',
    'abbreviate_name("ada king lovelace") == "A. K. lovelace"',
)
def abbreviate_name(full_name: str) -> str:
    """Shorten every name but the last to its upper-case initial followed by a full stop.

    >>> abbreviate_name("Mary Ann Evans")
    'M. A. Evans'
    """
    *firsts, last = full_name.split()
    return " ".join([f"{name[0].upper()}." for name in firsts] + [last])


@task('count_char("banana", "a") == 3', 'count_char("banana", "z") == 0', 'count_char("", "a") == 0')
def count_char(text: str, char: str) -> int:
    """Count how many times the single character char appears in text.

    >>> count_char("hello", "l")
    2
    """
    return sum(1 for ch in text if ch == char)


@task(
    'split_camel_words("helloBigWorld") == ["hello", "Big", "World"]',
    'split_camel_words("one") == ["one"]',
    'split_camel_words("") == []',
)
def split_camel_words(name: str) -> list[str]:
    """Split a camelCase name into its words, starting a new word at each upper-case letter.

    >>> split_camel_words("getUserName")
    ['get', 'User', 'Name']
    """
    words: list[str] = []
    for ch in name:
        if ch.isupper() or not words:
            words.append(ch)
        else:
            words[-1] += ch
    return words


@task(
    'roman_to_int("III") == 3',
    'roman_to_int("IX") == 9',
    'roman_to_int("MCMXCIV") == 1994',
    'roman_to_int("XL") == 40',
)
def roman_to_int(numeral: str) -> int:
    """Convert a Roman numeral (I, V, X, L, C, D, M, with subtractive pairs like IV) to an integer.

    >>> roman_to_int("LVIII")
    58
    """
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
    total = 0
    for i, ch in enumerate(numeral):
        value = values[ch]
        if i + 1 < len(numeral) and values[numeral[i + 1]] > value:
            total -= value
        else:
            total += value
    return total


@task('int_to_roman(4) == "IV"', 'int_to_roman(1994) == "MCMXCIV"', 'int_to_roman(3888) == "MMMDCCCLXXXVIII"')
def int_to_roman(number: int) -> str:
    """Write a number between 1 and 3999 as a Roman numeral.

    >>> int_to_roman(58)
    'LVIII'
    """
    symbols = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ]
    result = []
    for value, symbol in symbols:
        while number >= value:
            result.append(symbol)
            number -= value
    return "".join(result)


@task('digit_sum_of_text("a1b2c3") == 6', 'digit_sum_of_text("none") == 0', 'digit_sum_of_text("99") == 18')
def digit_sum_of_text(text: str) -> int:
    """Add up every digit character that appears in text.

    >>> digit_sum_of_text("room 404")
    8
    """
    return sum(int(ch) for ch in text if ch.isdigit())


@task(
    'extract_numbers("a12b3c") == [12, 3]',
    'extract_numbers("no numbers") == []',
    'extract_numbers("7 apples and 15 pears") == [7, 15]',
)
def extract_numbers(text: str) -> list[int]:
    """Return the whole numbers formed by runs of consecutive digits in text, in order.

    >>> extract_numbers("call 555 then 12")
    [555, 12]
    """
    numbers = []
    current = ""
    for ch in text + " ":
        if ch.isdigit():
            current += ch
        elif current:
            numbers.append(int(current))
            current = ""
    return numbers


@task(
    'clock_to_minutes("01:30") == 90', 'clock_to_minutes("00:00") == 0', 'clock_to_minutes("23:59") == 1439'
)
def clock_to_minutes(clock: str) -> int:
    """Convert a 24-hour time written "HH:MM" into minutes after midnight.

    >>> clock_to_minutes("02:15")
    135
    """
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


@task(
    'minutes_to_clock(90) == "01:30"', 'minutes_to_clock(0) == "00:00"', 'minutes_to_clock(1439) == "23:59"'
)
def minutes_to_clock(minutes: int) -> str:
    """Write a number of minutes after midnight (0 to 1439) as a 24-hour time "HH:MM".

    >>> minutes_to_clock(135)
    '02:15'
    """
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@task('pig_latin("pig") == "igpay"', 'pig_latin("apple") == "appleway"', 'pig_latin("string") == "ingstray"')
def pig_latin(word: str) -> str:
    """Translate a lower-case word to Pig Latin.

    A word starting with a vowel gets "way" appended; otherwise its leading consonants move to the
    end followed by "ay".

    >>> pig_latin("hello")
    'ellohay'
    """
    vowels = "aeiou"
    if word[0] in vowels:
        return word + "way"
    for i, ch in enumerate(word):
        if ch in vowels:
            return word[i:] + word[:i] + "ay"
    return word + "ay"


@task(
    'words_starting_with("apple avocado banana", "a") == 2',
    'words_starting_with("Apple avocado", "a") == 2',
    'words_starting_with("", "x") == 0',
)
def words_starting_with(sentence: str, letter: str) -> int:
    """Count the words of sentence that start with letter, ignoring case.

    >>> words_starting_with("she sells sea shells", "s")
    4
    """
    return sum(1 for word in sentence.split() if word.lower().startswith(letter.lower()))


@task(
    'remove_punctuation("Hello, world!") == "Hello world"',
    'remove_punctuation("...") == ""',
    'remove_punctuation("it\'s 5 o\'clock") == "its 5 oclock"',
)
def remove_punctuation(text: str) -> str:
    """Remove every character that is not a letter, digit or space.

    >>> remove_punctuation("Wait... what?!")
    'Wait what'
    """
    return "".join(ch for ch in text if ch.isalnum() or ch == " ")


@task('longest_run("aaabbc") == 3', 'longest_run("") == 0', 'longest_run("abcd") == 1')
def longest_run(text: str) -> int:
    """Return the length of the longest block of one repeated character in text.

    >>> longest_run("abbbbcc")
    4
    """
    best = 0
    current = 0
    for i, ch in enumerate(text):
        current = current + 1 if i > 0 and ch == text[i - 1] else 1
        best = max(best, current)
    return best


@task(
    'nth_word("the quick brown fox", 2) == "quick"',
    'nth_word("one two", 3) == ""',
    'nth_word("solo", 1) == "solo"',
)
def nth_word(sentence: str, n: int) -> str:
    """Return the n-th word of sentence, counting from 1, or "" if it has fewer words.

    >>> nth_word("red green blue", 3)
    'blue'
    """
    words = sentence.split()
    return words[n - 1] if 1 <= n <= len(words) else ""


@task(
    'join_with_and(["a", "b", "c"]) == "a, b and c"',
    'join_with_and(["x"]) == "x"',
    'join_with_and([]) == ""',
    'join_with_and(["tea", "milk"]) == "tea and milk"',
)
def join_with_and(items: list[str]) -> str:
    """Join items as in English prose: commas between items and "and" before the last one.

    >>> join_with_and(["red", "green", "blue"])
    'red, green and blue'
    """
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


@task(
    'mirror_text("abc") == "abccba"',
    'mirror_text("") == ""',
    'mirror_text("x") == "xx"',
)
def mirror_text(text: str) -> str:
    """Return text followed by its own reverse.

    >>> mirror_text("ab")
    'abba'
    """
    return text + text[::-1]


@task(
    'binary_to_int("101") == 5',
    'binary_to_int("0") == 0',
    'binary_to_int("11111111") == 255',
)
def binary_to_int(bits: str) -> int:
    """Convert a string of binary digits into the integer it represents.

    >>> binary_to_int("1100")
    12
    """
    value = 0
    for bit in bits:
        value = value * 2 + int(bit)
    return value


@task('int_to_binary(5) == "101"', 'int_to_binary(0) == "0"', 'int_to_binary(256) == "100000000"')
def int_to_binary(number: int) -> str:
    """Write a non-negative integer in binary, without a prefix or leading zeros.

    >>> int_to_binary(12)
    '1100'
    """
    if number == 0:
        return "0"
    digits = []
    while number:
        digits.append(str(number % 2))
        number //= 2
    return "".join(reversed(digits))


@task(
    'vowel_positions("hello") == [1, 4]',
    'vowel_positions("rhythm") == []',
    'vowel_positions("Aha") == [0, 2]',
)
def vowel_positions(word: str) -> list[int]:
    """Return the indices of the vowels (a, e, i, o, u in either case) in word.

    >>> vowel_positions("banana")
    [1, 3, 5]
    """
    return [i for i, ch in enumerate(word) if ch.lower() in "aeiou"]


@task(
    'mask_card_number("1234567812345678") == "************5678"',
    'mask_card_number("1234") == "1234"',
    'mask_card_number("12") == "12"',
)
def mask_card_number(digits: str) -> str:
    """Replace all but the last four characters of digits with "*".

    >>> mask_card_number("987654321")
    '*****4321'
    """
    return "*" * max(0, len(digits) - 4) + digits[-4:]


@task(
    'ends_with_any("report.pdf", [".doc", ".pdf"]) is True',
    'ends_with_any("image.png", [".jpg"]) is False',
    'ends_with_any("x", []) is False',
)
def ends_with_any(text: str, suffixes: list[str]) -> bool:
    """Return True if text ends with at least one of the given suffixes.

    >>> ends_with_any("notes.txt", [".md", ".txt"])
    True
    """
    return any(text.endswith(suffix) for suffix in suffixes)


@task(
    'count_sentences("Hi. How are you? Great!") == 3',
    'count_sentences("no end") == 0',
    'count_sentences("Wait... what?") == 4',
)
def count_sentences(text: str) -> int:
    """Count the sentence-ending marks (".", "!" and "?") in text.

    >>> count_sentences("One. Two!")
    2
    """
    return sum(1 for ch in text if ch in ".!?")


@task(
    'is_numeric_text("12345") is True',
    'is_numeric_text("12a45") is False',
    'is_numeric_text("") is False',
)
def is_numeric_text(text: str) -> bool:
    """Return True if text is non-empty and every character is a digit 0-9.

    >>> is_numeric_text("2024")
    True
    """
    return bool(text) and all(ch in "0123456789" for ch in text)


@task(
    'center_pad("ab", 6, "*") == "**ab**"',
    'center_pad("abc", 2, "-") == "abc"',
    'center_pad("x", 4, ".") == ".x.."',
)
def center_pad(text: str, width: int, fill: str) -> str:
    """Pad text on both sides with the fill character up to width characters.

    When the padding is odd, the extra character goes on the right. Text longer than width is
    returned unchanged.

    >>> center_pad("hi", 6, "-")
    '--hi--'
    """
    missing = max(0, width - len(text))
    left = missing // 2
    return fill * left + text + fill * (missing - left)


@task(
    'char_shift_sum("abc") == 294',
    'char_shift_sum("") == 0',
    'char_shift_sum("A") == 65',
)
def char_shift_sum(text: str) -> int:
    """Return the sum of the Unicode code points (ord values) of the characters of text.

    >>> char_shift_sum("ab")
    195
    """
    return sum(ord(ch) for ch in text)


@task(
    'acronym("Portable Network Graphics") == "PNG"',
    'acronym("as soon as possible") == "ASAP"',
    'acronym("complementary metal-oxide semiconductor") == "CMOS"',
)
def acronym(phrase: str) -> str:
    """Build an upper-case acronym from the first letter of every word; hyphens separate words too.

    >>> acronym("Ruby on Rails")
    'ROR'
    """
    return "".join(word[0].upper() for word in phrase.replace("-", " ").split())


# --------------------------------------------------------------------------------------------
# Lists
# --------------------------------------------------------------------------------------------


@task("sum_list([1, 2, 3]) == 6", "sum_list([]) == 0", "sum_list([-5, 5, 10]) == 10")
def sum_list(numbers: list[int]) -> int:
    """Return the sum of the numbers in the list (0 for an empty list).

    >>> sum_list([4, 5])
    9
    """
    total = 0
    for number in numbers:
        total += number
    return total


@task("product_list([2, 3, 4]) == 24", "product_list([]) == 1", "product_list([5, 0, 2]) == 0")
def product_list(numbers: list[int]) -> int:
    """Return the product of the numbers in the list (1 for an empty list).

    >>> product_list([1, 2, 3])
    6
    """
    product = 1
    for number in numbers:
        product *= number
    return product


@task(
    "second_largest([3, 1, 4, 1, 5]) == 4",
    "second_largest([7, 7, 3]) == 3",
    "second_largest([2, 2]) is None",
)
def second_largest(numbers: list[int]) -> int | None:
    """Return the second largest distinct value in numbers, or None if there is none.

    >>> second_largest([10, 20, 30])
    20
    """
    distinct = sorted(set(numbers))
    return distinct[-2] if len(distinct) >= 2 else None


@task(
    "unique_in_order([1, 2, 1, 3, 2]) == [1, 2, 3]",
    "unique_in_order([]) == []",
    'unique_in_order(["b", "a", "b"]) == ["b", "a"]',
)
def unique_in_order(items: list) -> list:
    """Remove repeated items from the list, keeping the first occurrence of each, in order.

    >>> unique_in_order([3, 3, 1, 3])
    [3, 1]
    """
    seen = set()
    result = []
    for item in items:
        if item not in seen:
            seen.add(item)
            result.append(item)
    return result


@task(
    "flatten_once([[1, 2], [3], []]) == [1, 2, 3]",
    "flatten_once([]) == []",
    "flatten_once([[[1]], [2]]) == [[1], 2]",
)
def flatten_once(nested: list[list]) -> list:
    """Concatenate the inner lists of nested into one list (one level only).

    >>> flatten_once([[1], [2, 3]])
    [1, 2, 3]
    """
    return [item for inner in nested for item in inner]


@task(
    "chunk_list([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]",
    "chunk_list([], 3) == []",
    "chunk_list([1, 2, 3], 3) == [[1, 2, 3]]",
)
def chunk_list(items: list, size: int) -> list[list]:
    """Split items into consecutive chunks of the given size; the last chunk may be shorter.

    >>> chunk_list([1, 2, 3, 4], 3)
    [[1, 2, 3], [4]]
    """
    return [items[i : i + size] for i in range(0, len(items), size)]


@task(
    "rotate_left([1, 2, 3, 4], 1) == [2, 3, 4, 1]",
    "rotate_left([1, 2, 3], 5) == [3, 1, 2]",
    "rotate_left([], 2) == []",
)
def rotate_left(items: list, steps: int) -> list:
    """Rotate items to the left by steps positions (steps may exceed the length).

    >>> rotate_left([1, 2, 3, 4, 5], 2)
    [3, 4, 5, 1, 2]
    """
    if not items:
        return []
    steps %= len(items)
    return items[steps:] + items[:steps]


@task(
    "running_sum([1, 2, 3, 4]) == [1, 3, 6, 10]",
    "running_sum([]) == []",
    "running_sum([5, -5, 5]) == [5, 0, 5]",
)
def running_sum(numbers: list[int]) -> list[int]:
    """Return the running totals of numbers: element i is the sum of numbers[0..i].

    >>> running_sum([2, 2, 2])
    [2, 4, 6]
    """
    totals = []
    total = 0
    for number in numbers:
        total += number
        totals.append(total)
    return totals


@task(
    "pairwise_differences([1, 4, 9, 16]) == [3, 5, 7]",
    "pairwise_differences([5]) == []",
    "pairwise_differences([3, 1]) == [-2]",
)
def pairwise_differences(numbers: list[int]) -> list[int]:
    """Return the differences between each element and the one before it.

    >>> pairwise_differences([10, 13, 11])
    [3, -2]
    """
    return [b - a for a, b in zip(numbers, numbers[1:])]


@task("count_evens([1, 2, 3, 4]) == 2", "count_evens([]) == 0", "count_evens([0, -2, 7]) == 2")
def count_evens(numbers: list[int]) -> int:
    """Count the even numbers in the list (zero and negative even numbers count).

    >>> count_evens([2, 4, 5])
    2
    """
    return sum(1 for number in numbers if number % 2 == 0)


@task(
    "keep_positive([-1, 0, 2, -3, 4]) == [2, 4]",
    "keep_positive([]) == []",
    "keep_positive([-1, -2]) == []",
)
def keep_positive(numbers: list[int]) -> list[int]:
    """Return the numbers greater than zero, in their original order.

    >>> keep_positive([3, -3, 1])
    [3, 1]
    """
    return [number for number in numbers if number > 0]


@task("square_all([1, 2, 3]) == [1, 4, 9]", "square_all([]) == []", "square_all([-2, 0]) == [4, 0]")
def square_all(numbers: list[int]) -> list[int]:
    """Return a new list with every number squared.

    >>> square_all([4, 5])
    [16, 25]
    """
    return [number * number for number in numbers]


@task(
    "index_or_minus_one([5, 6, 7], 6) == 1",
    "index_or_minus_one([5, 6, 7], 9) == -1",
    "index_or_minus_one([1, 1, 1], 1) == 0",
)
def index_or_minus_one(items: list, target) -> int:
    """Return the index of the first occurrence of target in items, or -1 if it is absent.

    >>> index_or_minus_one(["a", "b"], "b")
    1
    """
    for i, item in enumerate(items):
        if item == target:
            return i
    return -1


@task(
    "merge_sorted([1, 3, 5], [2, 4, 6]) == [1, 2, 3, 4, 5, 6]",
    "merge_sorted([], [1, 2]) == [1, 2]",
    "merge_sorted([1, 1], [1]) == [1, 1, 1]",
)
def merge_sorted(first: list[int], second: list[int]) -> list[int]:
    """Merge two ascending lists into one ascending list containing every element of both.

    >>> merge_sorted([1, 4], [2, 3])
    [1, 2, 3, 4]
    """
    merged = []
    i = j = 0
    while i < len(first) and j < len(second):
        if first[i] <= second[j]:
            merged.append(first[i])
            i += 1
        else:
            merged.append(second[j])
            j += 1
    return merged + first[i:] + second[j:]


@task(
    "is_sorted_ascending([1, 2, 2, 3]) is True",
    "is_sorted_ascending([3, 2]) is False",
    "is_sorted_ascending([]) is True",
)
def is_sorted_ascending(numbers: list[int]) -> bool:
    """Return True if each number is at least as large as the one before it.

    >>> is_sorted_ascending([1, 5, 9])
    True
    """
    return all(a <= b for a, b in zip(numbers, numbers[1:]))


@task(
    "common_elements([1, 2, 3, 4], [4, 2, 8]) == [2, 4]",
    "common_elements([1, 1, 2], [1]) == [1]",
    "common_elements([], [1]) == []",
)
def common_elements(first: list, second: list) -> list:
    """Return the distinct items of first that also appear in second, in the order of first.

    >>> common_elements(["a", "b", "c"], ["c", "a"])
    ['a', 'c']
    """
    result = []
    for item in first:
        if item in second and item not in result:
            result.append(item)
    return result


@task(
    "list_difference([1, 2, 3, 2], [2]) == [1, 3]",
    "list_difference([1, 2], []) == [1, 2]",
    "list_difference([1], [1]) == []",
)
def list_difference(first: list, second: list) -> list:
    """Return the items of first that do not appear in second, keeping order and repeats.

    >>> list_difference([5, 6, 7, 5], [6])
    [5, 7, 5]
    """
    return [item for item in first if item not in second]


@task(
    "most_frequent([1, 3, 3, 2, 1, 3]) == 3",
    'most_frequent(["x"]) == "x"',
    "most_frequent([2, 1, 1, 2]) == 2",
)
def most_frequent(items: list):
    """Return the item that occurs most often in a non-empty list; on a tie, the one seen first.

    >>> most_frequent(["a", "b", "b"])
    'b'
    """
    best = items[0]
    for item in items:
        if items.count(item) > items.count(best):
            best = item
    return best


@task(
    "split_even_odd([1, 2, 3, 4, 5]) == ([2, 4], [1, 3, 5])",
    "split_even_odd([]) == ([], [])",
    "split_even_odd([0, -1]) == ([0], [-1])",
)
def split_even_odd(numbers: list[int]) -> tuple[list[int], list[int]]:
    """Return a pair of lists: the even numbers and the odd numbers, each in original order.

    >>> split_even_odd([7, 8])
    ([8], [7])
    """
    return [n for n in numbers if n % 2 == 0], [n for n in numbers if n % 2 != 0]


@task(
    'interleave_lists([1, 2, 3], ["a", "b"]) == [1, "a", 2, "b", 3]',
    "interleave_lists([], [1]) == [1]",
    "interleave_lists([1], []) == [1]",
)
def interleave_lists(first: list, second: list) -> list:
    """Alternate elements of first and second, starting with first; append leftovers of the longer list.

    >>> interleave_lists([1, 3], [2, 4])
    [1, 2, 3, 4]
    """
    result = []
    for i in range(max(len(first), len(second))):
        if i < len(first):
            result.append(first[i])
        if i < len(second):
            result.append(second[i])
    return result


@task("last_n([1, 2, 3, 4], 2) == [3, 4]", "last_n([1, 2], 5) == [1, 2]", "last_n([1, 2, 3], 0) == []")
def last_n(items: list, n: int) -> list:
    """Return the last n items of the list (the whole list if it is shorter; [] when n is 0).

    >>> last_n(["a", "b", "c"], 1)
    ['c']
    """
    return items[len(items) - n :] if n > 0 else []


@task(
    "drop_every_nth([1, 2, 3, 4, 5, 6], 3) == [1, 2, 4, 5]",
    "drop_every_nth([1, 2], 1) == []",
    "drop_every_nth([1, 2, 3], 5) == [1, 2, 3]",
)
def drop_every_nth(items: list, n: int) -> list:
    """Remove every n-th element (the n-th, 2n-th, ...; counting from 1) from the list.

    >>> drop_every_nth(["a", "b", "c", "d"], 2)
    ['a', 'c']
    """
    return [item for i, item in enumerate(items, start=1) if i % n != 0]


@task("sum_of_squares([1, 2, 3]) == 14", "sum_of_squares([]) == 0", "sum_of_squares([-4]) == 16")
def sum_of_squares(numbers: list[int]) -> int:
    """Return the sum of the squares of the numbers.

    >>> sum_of_squares([2, 3])
    13
    """
    return sum(n * n for n in numbers)


@task("largest_gap([1, 9, 4, 10]) == 5", "largest_gap([5]) == 0", "largest_gap([10, 1]) == 9")
def largest_gap(numbers: list[int]) -> int:
    """Return the largest difference between two neighbours once the numbers are sorted (0 if fewer than two).

    >>> largest_gap([3, 6, 9, 1])
    3
    """
    ordered = sorted(numbers)
    return max((b - a for a, b in zip(ordered, ordered[1:])), default=0)


@task(
    "count_above_average([1, 2, 3, 4]) == 2",
    "count_above_average([5, 5]) == 0",
    "count_above_average([]) == 0",
)
def count_above_average(numbers: list[int]) -> int:
    """Count the numbers strictly greater than the average of the list (0 for an empty list).

    >>> count_above_average([1, 1, 10])
    1
    """
    if not numbers:
        return 0
    average = sum(numbers) / len(numbers)
    return sum(1 for n in numbers if n > average)


@task(
    "clamp_all([-5, 3, 12], 0, 10) == [0, 3, 10]",
    "clamp_all([], 0, 1) == []",
    "clamp_all([1, 2], 2, 2) == [2, 2]",
)
def clamp_all(numbers: list[int], low: int, high: int) -> list[int]:
    """Limit every number to the range [low, high].

    >>> clamp_all([1, 50, 100], 10, 60)
    [10, 50, 60]
    """
    return [min(max(n, low), high) for n in numbers]


@task(
    "binary_search([1, 3, 5, 7, 9], 7) == 3",
    "binary_search([1, 3, 5], 4) == -1",
    "binary_search([], 1) == -1",
    "binary_search([2], 2) == 0",
)
def binary_search(sorted_numbers: list[int], target: int) -> int:
    """Return the index of target in an ascending list of distinct numbers, or -1 if absent.

    >>> binary_search([10, 20, 30, 40], 10)
    0
    """
    low, high = 0, len(sorted_numbers) - 1
    while low <= high:
        middle = (low + high) // 2
        if sorted_numbers[middle] == target:
            return middle
        if sorted_numbers[middle] < target:
            low = middle + 1
        else:
            high = middle - 1
    return -1


@task("all_distinct([1, 2, 3]) is True", "all_distinct([1, 2, 1]) is False", "all_distinct([]) is True")
def all_distinct(items: list) -> bool:
    """Return True if no value appears twice in the list.

    >>> all_distinct(["a", "b", "a"])
    False
    """
    return len(set(items)) == len(items)


@task(
    "has_pair_with_sum([1, 4, 6, 9], 10) is True",
    "has_pair_with_sum([5], 10) is False",
    "has_pair_with_sum([5, 5], 10) is True",
    "has_pair_with_sum([1, 2, 3], 7) is False",
)
def has_pair_with_sum(numbers: list[int], target: int) -> bool:
    """Return True if two numbers at different positions of the list add up to target.

    >>> has_pair_with_sum([3, 8, 2], 5)
    True
    """
    seen = set()
    for number in numbers:
        if target - number in seen:
            return True
        seen.add(number)
    return False


@task(
    "two_sum_indices([2, 7, 11, 15], 9) == (0, 1)",
    "two_sum_indices([3, 2, 4], 6) == (1, 2)",
    "two_sum_indices([1, 2], 10) is None",
)
def two_sum_indices(numbers: list[int], target: int) -> tuple[int, int] | None:
    """Return the indices (i, j), i < j, of the first pair adding up to target, or None.

    Pairs are tried with j increasing, and for each j with i increasing.

    >>> two_sum_indices([1, 5, 3], 8)
    (1, 2)
    """
    for j in range(len(numbers)):
        for i in range(j):
            if numbers[i] + numbers[j] == target:
                return (i, j)
    return None


@task(
    "majority_element([3, 3, 4, 3]) == 3",
    "majority_element([1, 2, 1, 2]) is None",
    "majority_element([7]) == 7",
)
def majority_element(items: list):
    """Return the value that fills more than half of the list, or None if there is none.

    >>> majority_element(["a", "b", "a"])
    'a'
    """
    for item in items:
        if items.count(item) * 2 > len(items):
            return item
    return None


@task(
    "longest_increasing_run([1, 2, 0, 3, 4, 5]) == 4",
    "longest_increasing_run([]) == 0",
    "longest_increasing_run([5, 4, 3]) == 1",
)
def longest_increasing_run(numbers: list[int]) -> int:
    """Return the length of the longest block of consecutive, strictly increasing numbers.

    >>> longest_increasing_run([1, 3, 5, 2, 4])
    3
    """
    best = 0
    current = 0
    for i, number in enumerate(numbers):
        current = current + 1 if i > 0 and number > numbers[i - 1] else 1
        best = max(best, current)
    return best


@task(
    "sum_at_odd_indices([10, 1, 20, 2, 30, 3]) == 6",
    "sum_at_odd_indices([5]) == 0",
    "sum_at_odd_indices([]) == 0",
)
def sum_at_odd_indices(numbers: list[int]) -> int:
    """Return the sum of the elements at odd indices (1, 3, 5, ...).

    >>> sum_at_odd_indices([1, 2, 3, 4])
    6
    """
    return sum(numbers[1::2])


@task(
    "zero_negatives([-1, 2, -3]) == [0, 2, 0]",
    "zero_negatives([]) == []",
    "zero_negatives([0, 5]) == [0, 5]",
)
def zero_negatives(numbers: list[int]) -> list[int]:
    """Replace every negative number in the list by 0.

    >>> zero_negatives([4, -4])
    [4, 0]
    """
    return [max(n, 0) for n in numbers]


@task("min_and_max([3, 1, 4]) == (1, 4)", "min_and_max([7]) == (7, 7)", "min_and_max([-2, -9, 0]) == (-9, 0)")
def min_and_max(numbers: list[int]) -> tuple[int, int]:
    """Return the smallest and largest number of a non-empty list as a pair.

    >>> min_and_max([5, 2, 8])
    (2, 8)
    """
    return min(numbers), max(numbers)


@task(
    "cumulative_product([1, 2, 3, 4]) == [1, 2, 6, 24]",
    "cumulative_product([]) == []",
    "cumulative_product([2, 0, 5]) == [2, 0, 0]",
)
def cumulative_product(numbers: list[int]) -> list[int]:
    """Return the running products: element i is the product of numbers[0..i].

    >>> cumulative_product([3, 3, 3])
    [3, 9, 27]
    """
    products = []
    product = 1
    for number in numbers:
        product *= number
        products.append(product)
    return products


@task(
    "transpose([[1, 2, 3], [4, 5, 6]]) == [[1, 4], [2, 5], [3, 6]]",
    "transpose([[1]]) == [[1]]",
    "transpose([]) == []",
)
def transpose(matrix: list[list[int]]) -> list[list[int]]:
    """Return the transpose of a rectangular matrix given as a list of rows.

    >>> transpose([[1, 2], [3, 4]])
    [[1, 3], [2, 4]]
    """
    if not matrix:
        return []
    return [[row[c] for row in matrix] for c in range(len(matrix[0]))]


@task("matrix_total([[1, 2], [3, 4]]) == 10", "matrix_total([]) == 0", "matrix_total([[5], [], [-5]]) == 0")
def matrix_total(matrix: list[list[int]]) -> int:
    """Return the sum of every number in a list of lists.

    >>> matrix_total([[1, 1], [1]])
    3
    """
    return sum(sum(row) for row in matrix)


@task(
    "diagonal_sum([[1, 2], [3, 4]]) == 5",
    "diagonal_sum([[7]]) == 7",
    "diagonal_sum([[1, 0, 0], [0, 2, 0], [0, 0, 3]]) == 6",
)
def diagonal_sum(matrix: list[list[int]]) -> int:
    """Return the sum of the main diagonal (top-left to bottom-right) of a square matrix.

    >>> diagonal_sum([[5, 1], [1, 5]])
    10
    """
    return sum(matrix[i][i] for i in range(len(matrix)))


@task(
    "add_elementwise([1, 2, 3], [10, 20, 30]) == [11, 22, 33]",
    "add_elementwise([], []) == []",
    "add_elementwise([1, 2], [5]) == [6]",
)
def add_elementwise(first: list[int], second: list[int]) -> list[int]:
    """Add the two lists position by position, stopping at the end of the shorter one.

    >>> add_elementwise([1, 1], [2, 2])
    [3, 3]
    """
    return [a + b for a, b in zip(first, second)]


@task(
    "dot_product([1, 2, 3], [4, 5, 6]) == 32", "dot_product([], []) == 0", "dot_product([2, -1], [3, 3]) == 3"
)
def dot_product(first: list[int], second: list[int]) -> int:
    """Return the dot product of two equally long lists of numbers.

    >>> dot_product([1, 1], [2, 3])
    5
    """
    return sum(a * b for a, b in zip(first, second))


@task(
    "count_occurrences([1, 2, 1, 1], 1) == 3",
    "count_occurrences([], 1) == 0",
    'count_occurrences(["a", "A"], "a") == 1',
)
def count_occurrences(items: list, value) -> int:
    """Count how many elements of items equal value.

    >>> count_occurrences([0, 1, 0], 0)
    2
    """
    return sum(1 for item in items if item == value)


@task("index_of_max([3, 9, 2, 9]) == 1", "index_of_max([5]) == 0", "index_of_max([-3, -1, -2]) == 1")
def index_of_max(numbers: list[int]) -> int:
    """Return the index of the largest number in a non-empty list; on a tie, the first index.

    >>> index_of_max([1, 8, 3])
    1
    """
    best = 0
    for i, number in enumerate(numbers):
        if number > numbers[best]:
            best = i
    return best


@task(
    "split_on([1, 0, 2, 3, 0, 4], 0) == [[1], [2, 3], [4]]",
    "split_on([0], 0) == [[], []]",
    "split_on([1, 2], 9) == [[1, 2]]",
)
def split_on(items: list, separator) -> list[list]:
    """Split items into the runs between occurrences of separator, like str.split for lists.

    >>> split_on(["a", "-", "b"], "-")
    [['a'], ['b']]
    """
    parts: list[list] = [[]]
    for item in items:
        if item == separator:
            parts.append([])
        else:
            parts[-1].append(item)
    return parts


@task(
    "second_smallest([4, 1, 3, 1]) == 3",
    "second_smallest([2, 2]) is None",
    "second_smallest([-1, 5]) == 5",
)
def second_smallest(numbers: list[int]) -> int | None:
    """Return the second smallest distinct value in numbers, or None if there is none.

    >>> second_smallest([9, 8, 7])
    8
    """
    distinct = sorted(set(numbers))
    return distinct[1] if len(distinct) >= 2 else None


@task(
    "top_k([5, 1, 9, 3, 7], 3) == [9, 7, 5]",
    "top_k([1, 2], 5) == [2, 1]",
    "top_k([4, 4, 1], 2) == [4, 4]",
)
def top_k(numbers: list[int], k: int) -> list[int]:
    """Return the k largest numbers in descending order (all of them if there are fewer than k).

    >>> top_k([3, 1, 2], 2)
    [3, 2]
    """
    return sorted(numbers, reverse=True)[:k]


@task(
    "pad_list([1, 2], 4, 0) == [1, 2, 0, 0]",
    "pad_list([1, 2, 3], 2, 0) == [1, 2, 3]",
    'pad_list([], 2, "x") == ["x", "x"]',
)
def pad_list(items: list, length: int, fill) -> list:
    """Append fill to a copy of items until it has at least length elements.

    >>> pad_list(["a"], 3, "-")
    ['a', '-', '-']
    """
    return items + [fill] * max(0, length - len(items))


@task(
    "group_runs([1, 1, 2, 3, 3, 3]) == [[1, 1], [2], [3, 3, 3]]",
    "group_runs([]) == []",
    'group_runs(["a", "b", "a"]) == [["a"], ["b"], ["a"]]',
)
def group_runs(items: list) -> list[list]:
    """Group consecutive equal elements into sub-lists.

    >>> group_runs([4, 4, 5])
    [[4, 4], [5]]
    """
    groups: list[list] = []
    for item in items:
        if groups and groups[-1][0] == item:
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


@task(
    "neighbour_pairs([1, 2, 3]) == [(1, 2), (2, 3)]",
    "neighbour_pairs([1]) == []",
    "neighbour_pairs([]) == []",
)
def neighbour_pairs(items: list) -> list[tuple]:
    """Return each element paired with the element after it.

    >>> neighbour_pairs(["a", "b", "c", "d"])
    [('a', 'b'), ('b', 'c'), ('c', 'd')]
    """
    return list(zip(items, items[1:]))


@task(
    "inclusive_range(1, 5, 2) == [1, 3, 5]",
    "inclusive_range(0, 3, 1) == [0, 1, 2, 3]",
    "inclusive_range(1, 6, 2) == [1, 3, 5]",
    "inclusive_range(5, 1, 1) == []",
)
def inclusive_range(start: int, stop: int, step: int) -> list[int]:
    """Return start, start + step, ... up to and including stop when it is reached. step is positive.

    >>> inclusive_range(2, 8, 3)
    [2, 5, 8]
    """
    return list(range(start, stop + 1, step))


@task(
    "moving_average([1, 2, 3, 4, 5], 2) == [1.5, 2.5, 3.5, 4.5]",
    "moving_average([4, 8], 3) == []",
    "moving_average([3, 3, 3], 3) == [3.0]",
)
def moving_average(numbers: list[int], window: int) -> list[float]:
    """Return the averages of every window of consecutive numbers, rounded to 2 decimals.

    >>> moving_average([2, 4, 6], 2)
    [3.0, 5.0]
    """
    return [round(sum(numbers[i : i + window]) / window, 2) for i in range(len(numbers) - window + 1)]


@task(
    "remove_consecutive_duplicates([1, 1, 2, 2, 1]) == [1, 2, 1]",
    "remove_consecutive_duplicates([]) == []",
    "remove_consecutive_duplicates([3, 3, 3]) == [3]",
)
def remove_consecutive_duplicates(items: list) -> list:
    """Collapse each block of equal neighbouring elements into one element.

    >>> remove_consecutive_duplicates(["a", "a", "b"])
    ['a', 'b']
    """
    result = []
    for item in items:
        if not result or result[-1] != item:
            result.append(item)
    return result


@task(
    "nested_sum([1, [2, [3, 4]], 5]) == 15",
    "nested_sum([]) == 0",
    "nested_sum([[[]], [1]]) == 1",
)
def nested_sum(items: list) -> int:
    """Return the sum of all integers in a list that may contain lists nested to any depth.

    >>> nested_sum([1, [1, [1]]])
    3
    """
    total = 0
    for item in items:
        total += nested_sum(item) if isinstance(item, list) else item
    return total


@task(
    "max_depth([1, [2, [3]]]) == 3",
    "max_depth([]) == 1",
    "max_depth([1, 2]) == 1",
)
def max_depth(items: list) -> int:
    """Return how deeply lists are nested in items: a flat list has depth 1.

    >>> max_depth([[1], 2])
    2
    """
    return 1 + max((max_depth(item) for item in items if isinstance(item, list)), default=0)


@task(
    "count_in_range([1, 5, 10, 15], 5, 10) == 2",
    "count_in_range([], 0, 1) == 0",
    "count_in_range([-3, 0, 3], -1, 1) == 1",
)
def count_in_range(numbers: list[int], low: int, high: int) -> int:
    """Count the numbers between low and high, both included.

    >>> count_in_range([1, 2, 3, 4], 2, 3)
    2
    """
    return sum(1 for n in numbers if low <= n <= high)


@task(
    "find_missing_number([3, 0, 1]) == 2",
    "find_missing_number([0]) == 1",
    "find_missing_number([1, 2, 3]) == 0",
)
def find_missing_number(numbers: list[int]) -> int:
    """Given n distinct numbers taken from 0..n, return the one number of that range that is missing.

    >>> find_missing_number([0, 1, 3])
    2
    """
    n = len(numbers)
    return n * (n + 1) // 2 - sum(numbers)


@task(
    "find_duplicates([1, 2, 3, 2, 1, 4]) == [2, 1]",
    "find_duplicates([1, 2]) == []",
    "find_duplicates([5, 5, 5]) == [5]",
)
def find_duplicates(items: list) -> list:
    """Return the values that occur more than once, each once, in the order they are first repeated.

    >>> find_duplicates(["a", "b", "a"])
    ['a']
    """
    seen = set()
    repeated = []
    for item in items:
        if item in seen and item not in repeated:
            repeated.append(item)
        seen.add(item)
    return repeated


@task(
    'sort_by_length(["ccc", "a", "bb"]) == ["a", "bb", "ccc"]',
    'sort_by_length(["bb", "aa", "c"]) == ["c", "bb", "aa"]',
    "sort_by_length([]) == []",
)
def sort_by_length(words: list[str]) -> list[str]:
    """Sort words from shortest to longest, keeping the original order of equally long words.

    >>> sort_by_length(["pear", "fig", "banana"])
    ['fig', 'pear', 'banana']
    """
    return sorted(words, key=len)


@task(
    'reverse_each_word("hello world") == "olleh dlrow"',
    'reverse_each_word("") == ""',
    'reverse_each_word("a bc") == "a cb"',
)
def reverse_each_word(sentence: str) -> str:
    """Reverse the letters of each space-separated word but keep the word order.

    >>> reverse_each_word("abc def")
    'cba fed'
    """
    return " ".join(word[::-1] for word in sentence.split(" "))


@task(
    "sum_of_evens([1, 2, 3, 4]) == 6",
    "sum_of_evens([1, 3]) == 0",
    "sum_of_evens([-2, -4, 5]) == -6",
)
def sum_of_evens(numbers: list[int]) -> int:
    """Return the sum of the even numbers in the list.

    >>> sum_of_evens([10, 11, 12])
    22
    """
    return sum(n for n in numbers if n % 2 == 0)


@task(
    "alternating_sum([1, 2, 3, 4]) == -2",
    "alternating_sum([]) == 0",
    "alternating_sum([5]) == 5",
)
def alternating_sum(numbers: list[int]) -> int:
    """Return numbers[0] - numbers[1] + numbers[2] - numbers[3] + ...

    >>> alternating_sum([10, 3, 2])
    9
    """
    return sum(n if i % 2 == 0 else -n for i, n in enumerate(numbers))


@task(
    "every_other([1, 2, 3, 4, 5]) == [1, 3, 5]",
    "every_other([]) == []",
    'every_other(["a", "b"]) == ["a"]',
)
def every_other(items: list) -> list:
    """Return the elements at even indices (0, 2, 4, ...).

    >>> every_other([9, 8, 7, 6])
    [9, 7]
    """
    return items[::2]


@task(
    "replace_value([1, 2, 1], 1, 9) == [9, 2, 9]",
    "replace_value([], 1, 2) == []",
    'replace_value(["a", "b"], "c", "d") == ["a", "b"]',
)
def replace_value(items: list, old, new) -> list:
    """Return a copy of items with every element equal to old replaced by new.

    >>> replace_value([0, 1, 0], 0, -1)
    [-1, 1, -1]
    """
    return [new if item == old else item for item in items]


@task(
    "count_peaks([1, 3, 2, 4, 1]) == 2",
    "count_peaks([1, 2, 3]) == 0",
    "count_peaks([5]) == 0",
)
def count_peaks(numbers: list[int]) -> int:
    """Count the inner elements that are strictly greater than both of their neighbours.

    >>> count_peaks([0, 5, 0, 5, 0])
    2
    """
    return sum(1 for i in range(1, len(numbers) - 1) if numbers[i - 1] < numbers[i] > numbers[i + 1])


@task(
    "max_subarray_sum([-2, 1, -3, 4, -1, 2, 1, -5, 4]) == 6",
    "max_subarray_sum([-3, -1, -2]) == -1",
    "max_subarray_sum([5]) == 5",
)
def max_subarray_sum(numbers: list[int]) -> int:
    """Return the largest sum of a non-empty block of consecutive numbers.

    >>> max_subarray_sum([1, -2, 3, 4])
    7
    """
    best = current = numbers[0]
    for number in numbers[1:]:
        current = max(number, current + number)
        best = max(best, current)
    return best


@task(
    "stock_profit([7, 1, 5, 3, 6, 4]) == 5",
    "stock_profit([7, 6, 4, 3]) == 0",
    "stock_profit([]) == 0",
)
def stock_profit(prices: list[int]) -> int:
    """Return the best profit from buying on one day and selling on a later day (0 if none is possible).

    >>> stock_profit([2, 4, 1, 3])
    2
    """
    best = 0
    lowest = None
    for price in prices:
        if lowest is None or price < lowest:
            lowest = price
        best = max(best, price - lowest)
    return best


@task(
    "rank_scores([30, 10, 20]) == [1, 3, 2]",
    "rank_scores([5, 5, 1]) == [1, 1, 3]",
    "rank_scores([]) == []",
)
def rank_scores(scores: list[int]) -> list[int]:
    """Return each score's rank: 1 plus the number of scores strictly higher than it.

    >>> rank_scores([2, 9, 4])
    [3, 1, 2]
    """
    return [1 + sum(1 for other in scores if other > score) for score in scores]


# --------------------------------------------------------------------------------------------
# Arithmetic
# --------------------------------------------------------------------------------------------


@task("is_even(4) is True", "is_even(7) is False", "is_even(0) is True", "is_even(-3) is False")
def is_even(number: int) -> bool:
    """Return True if number is even.

    >>> is_even(10)
    True
    """
    return number % 2 == 0


@task("factorial(0) == 1", "factorial(5) == 120", "factorial(10) == 3628800")
def factorial(n: int) -> int:
    """Return n! for a non-negative integer n (0! is 1).

    >>> factorial(4)
    24
    """
    result = 1
    for k in range(2, n + 1):
        result *= k
    return result


@task("fibonacci(0) == 0", "fibonacci(1) == 1", "fibonacci(10) == 55", "fibonacci(20) == 6765")
def fibonacci(n: int) -> int:
    """Return the n-th Fibonacci number, where fibonacci(0) is 0 and fibonacci(1) is 1.

    >>> fibonacci(7)
    13
    """
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


@task("gcd(12, 18) == 6", "gcd(7, 13) == 1", "gcd(0, 5) == 5", "gcd(100, 75) == 25")
def gcd(a: int, b: int) -> int:
    """Return the greatest common divisor of two non-negative integers (gcd(0, n) is n).

    >>> gcd(8, 12)
    4
    """
    while b:
        a, b = b, a % b
    return a


@task("lcm(4, 6) == 12", "lcm(5, 7) == 35", "lcm(3, 9) == 9")
def lcm(a: int, b: int) -> int:
    """Return the least common multiple of two positive integers.

    >>> lcm(2, 3)
    6
    """
    x, y = a, b
    while y:
        x, y = y, x % y
    return a * b // x


@task("is_prime(2) is True", "is_prime(1) is False", "is_prime(97) is True", "is_prime(91) is False")
def is_prime(n: int) -> bool:
    """Return True if n is a prime number.

    >>> is_prime(13)
    True
    """
    if n < 2:
        return False
    k = 2
    while k * k <= n:
        if n % k == 0:
            return False
        k += 1
    return True


@task("digit_sum(123) == 6", "digit_sum(0) == 0", "digit_sum(-45) == 9")
def digit_sum(number: int) -> int:
    """Return the sum of the decimal digits of number (the sign is ignored).

    >>> digit_sum(999)
    27
    """
    return sum(int(d) for d in str(abs(number)))


@task("reverse_digits(123) == 321", "reverse_digits(1200) == 21", "reverse_digits(-45) == -54")
def reverse_digits(number: int) -> int:
    """Reverse the decimal digits of number, keeping its sign; leading zeros disappear.

    >>> reverse_digits(908)
    809
    """
    sign = -1 if number < 0 else 1
    return sign * int(str(abs(number))[::-1])


@task("count_digits(12345) == 5", "count_digits(0) == 1", "count_digits(-700) == 3")
def count_digits(number: int) -> int:
    """Return how many decimal digits number has (the sign does not count).

    >>> count_digits(42)
    2
    """
    return len(str(abs(number)))


@task("is_perfect_square(16) is True", "is_perfect_square(15) is False", "is_perfect_square(0) is True")
def is_perfect_square(n: int) -> bool:
    """Return True if the non-negative integer n is the square of an integer.

    >>> is_perfect_square(49)
    True
    """
    root = 0
    while root * root < n:
        root += 1
    return root * root == n


@task("sum_proper_divisors(12) == 16", "sum_proper_divisors(1) == 0", "sum_proper_divisors(7) == 1")
def sum_proper_divisors(n: int) -> int:
    """Return the sum of the positive divisors of n that are smaller than n.

    >>> sum_proper_divisors(6)
    6
    """
    return sum(d for d in range(1, n) if n % d == 0)


@task("is_perfect_number(28) is True", "is_perfect_number(12) is False", "is_perfect_number(1) is False")
def is_perfect_number(n: int) -> bool:
    """Return True if n equals the sum of its positive divisors smaller than itself.

    >>> is_perfect_number(6)
    True
    """
    return n > 1 and sum(d for d in range(1, n) if n % d == 0) == n


@task(
    "is_power_of_two(1) is True",
    "is_power_of_two(64) is True",
    "is_power_of_two(12) is False",
    "is_power_of_two(0) is False",
)
def is_power_of_two(n: int) -> bool:
    """Return True if n is 1, 2, 4, 8, ... (a positive power of two, including 2**0).

    >>> is_power_of_two(32)
    True
    """
    if n < 1:
        return False
    while n % 2 == 0:
        n //= 2
    return n == 1


@task(
    "celsius_to_fahrenheit(0) == 32.0",
    "celsius_to_fahrenheit(100) == 212.0",
    "celsius_to_fahrenheit(-40) == -40.0",
)
def celsius_to_fahrenheit(celsius: float) -> float:
    """Convert a temperature from degrees Celsius to degrees Fahrenheit, rounded to 1 decimal.

    >>> celsius_to_fahrenheit(37)
    98.6
    """
    return round(celsius * 9 / 5 + 32, 1)


@task("collatz_steps(1) == 0", "collatz_steps(6) == 8", "collatz_steps(27) == 111")
def collatz_steps(n: int) -> int:
    """Count the Collatz steps to reach 1 from a positive n: halve even numbers, map odd n to 3n + 1.

    >>> collatz_steps(4)
    2
    """
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


@task("triangle_number(1) == 1", "triangle_number(4) == 10", "triangle_number(0) == 0")
def triangle_number(n: int) -> int:
    """Return 1 + 2 + ... + n (0 when n is 0).

    >>> triangle_number(5)
    15
    """
    return n * (n + 1) // 2


@task(
    "is_armstrong(153) is True",
    "is_armstrong(154) is False",
    "is_armstrong(9474) is True",
    "is_armstrong(7) is True",
)
def is_armstrong(n: int) -> bool:
    """Return True if the non-negative n equals the sum of its digits each raised to the number of digits.

    >>> is_armstrong(370)
    True
    """
    digits = str(n)
    return n == sum(int(d) ** len(digits) for d in digits)


@task("binomial(5, 2) == 10", "binomial(10, 0) == 1", "binomial(6, 6) == 1", "binomial(3, 5) == 0")
def binomial(n: int, k: int) -> int:
    """Return the number of ways to choose k items out of n (0 when k > n).

    >>> binomial(4, 2)
    6
    """
    if k < 0 or k > n:
        return 0
    result = 1
    for i in range(1, k + 1):
        result = result * (n - k + i) // i
    return result


@task("nth_prime(1) == 2", "nth_prime(5) == 11", "nth_prime(25) == 97")
def nth_prime(n: int) -> int:
    """Return the n-th prime number, counting from 1 (the first prime is 2).

    >>> nth_prime(3)
    5
    """
    count = 0
    candidate = 1
    while count < n:
        candidate += 1
        if all(candidate % d for d in range(2, int(candidate**0.5) + 1)):
            count += 1
    return candidate


@task(
    "primes_below(10) == [2, 3, 5, 7]",
    "primes_below(2) == []",
    "primes_below(20) == [2, 3, 5, 7, 11, 13, 17, 19]",
)
def primes_below(limit: int) -> list[int]:
    """Return all primes smaller than limit, in increasing order.

    >>> primes_below(12)
    [2, 3, 5, 7, 11]
    """
    return [n for n in range(2, limit) if all(n % d for d in range(2, int(n**0.5) + 1))]


@task("sum_multiples_3_or_5(10) == 23", "sum_multiples_3_or_5(1) == 0", "sum_multiples_3_or_5(16) == 60")
def sum_multiples_3_or_5(limit: int) -> int:
    """Return the sum of the positive numbers below limit that are multiples of 3 or of 5.

    >>> sum_multiples_3_or_5(7)
    14
    """
    return sum(n for n in range(1, limit) if n % 3 == 0 or n % 5 == 0)


@task("integer_sqrt(17) == 4", "integer_sqrt(0) == 0", "integer_sqrt(1000000) == 1000")
def integer_sqrt(n: int) -> int:
    """Return the largest integer whose square is at most the non-negative n.

    >>> integer_sqrt(10)
    3
    """
    low, high = 0, n
    while low < high:
        middle = (low + high + 1) // 2
        if middle * middle <= n:
            low = middle
        else:
            high = middle - 1
    return low


@task(
    "is_leap_year(2024) is True",
    "is_leap_year(1900) is False",
    "is_leap_year(2000) is True",
    "is_leap_year(2023) is False",
)
def is_leap_year(year: int) -> bool:
    """Return True for Gregorian leap years: divisible by 4, except centuries not divisible by 400.

    >>> is_leap_year(1996)
    True
    """
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


@task(
    "days_in_month(2, 2024) == 29",
    "days_in_month(2, 2023) == 28",
    "days_in_month(4, 2023) == 30",
    "days_in_month(12, 1999) == 31",
)
def days_in_month(month: int, year: int) -> int:
    """Return the number of days in a month (1-12) of a Gregorian year.

    >>> days_in_month(1, 2020)
    31
    """
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


@task("digital_root(38) == 2", "digital_root(0) == 0", "digital_root(999999999) == 9")
def digital_root(n: int) -> int:
    """Repeatedly replace the non-negative n by the sum of its digits until one digit is left.

    >>> digital_root(1234)
    1
    """
    while n >= 10:
        n = sum(int(d) for d in str(n))
    return n


@task("clamp(5, 0, 10) == 5", "clamp(-3, 0, 10) == 0", "clamp(11, 0, 10) == 10")
def clamp(value: int, low: int, high: int) -> int:
    """Return value limited to the range [low, high].

    >>> clamp(15, 1, 12)
    12
    """
    return max(low, min(value, high))


@task("sign(-7) == -1", "sign(0) == 0", "sign(3) == 1")
def sign(number: int) -> int:
    """Return -1, 0 or 1 depending on whether number is negative, zero or positive.

    >>> sign(-4)
    -1
    """
    if number > 0:
        return 1
    if number < 0:
        return -1
    return 0


@task("round_to_multiple(17, 5) == 15", "round_to_multiple(18, 5) == 20", "round_to_multiple(25, 10) == 30")
def round_to_multiple(number: int, base: int) -> int:
    """Round a non-negative number to the nearest multiple of base; halfway cases round up.

    >>> round_to_multiple(12, 10)
    10
    """
    return (number + base // 2) // base * base


@task("percentage(1, 4) == 25.0", "percentage(1, 3) == 33.33", "percentage(0, 5) == 0.0")
def percentage(part: int, whole: int) -> float:
    """Return part as a percentage of whole (non-zero), rounded to 2 decimals.

    >>> percentage(3, 8)
    37.5
    """
    return round(part / whole * 100, 2)


@task("max_of_three(1, 2, 3) == 3", "max_of_three(9, -1, 4) == 9", "max_of_three(5, 5, 2) == 5")
def max_of_three(a: int, b: int, c: int) -> int:
    """Return the largest of three numbers.

    >>> max_of_three(4, 8, 6)
    8
    """
    largest = a
    if b > largest:
        largest = b
    if c > largest:
        largest = c
    return largest


@task("median_of_three(1, 3, 2) == 2", "median_of_three(5, 5, 1) == 5", "median_of_three(-1, -5, 0) == -1")
def median_of_three(a: int, b: int, c: int) -> int:
    """Return the middle value of three numbers.

    >>> median_of_three(9, 1, 4)
    4
    """
    return sorted([a, b, c])[1]


@task(
    "is_triangle(3, 4, 5) is True",
    "is_triangle(1, 2, 3) is False",
    "is_triangle(2, 2, 3) is True",
    "is_triangle(0, 1, 1) is False",
)
def is_triangle(a: int, b: int, c: int) -> bool:
    """Return True if positive side lengths a, b and c can form a triangle with non-zero area.

    >>> is_triangle(5, 5, 5)
    True
    """
    x, y, z = sorted([a, b, c])
    return x > 0 and x + y > z


@task("rectangle_area(3, 4) == 12", "rectangle_area(0, 9) == 0", "rectangle_area(7, 7) == 49")
def rectangle_area(width: int, height: int) -> int:
    """Return the area of a rectangle with the given width and height.

    >>> rectangle_area(2, 5)
    10
    """
    return width * height


@task("count_divisors(12) == 6", "count_divisors(1) == 1", "count_divisors(13) == 2")
def count_divisors(n: int) -> int:
    """Return how many positive integers divide the positive n exactly.

    >>> count_divisors(6)
    4
    """
    return sum(1 for d in range(1, n + 1) if n % d == 0)


@task("gcd_of_list([12, 18, 24]) == 6", "gcd_of_list([7]) == 7", "gcd_of_list([5, 10, 3]) == 1")
def gcd_of_list(numbers: list[int]) -> int:
    """Return the greatest common divisor of a non-empty list of positive integers.

    >>> gcd_of_list([4, 8, 10])
    2
    """
    result = 0
    for number in numbers:
        a, b = result, number
        while b:
            a, b = b, a % b
        result = a
    return result


@task(
    'to_base(10, 2) == "1010"', 'to_base(255, 16) == "FF"', 'to_base(0, 7) == "0"', 'to_base(35, 36) == "Z"'
)
def to_base(number: int, base: int) -> str:
    """Write a non-negative number in a base from 2 to 36, using digits 0-9 then capital letters A-Z.

    >>> to_base(8, 8)
    '10'
    """
    symbols = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    if number == 0:
        return "0"
    digits = []
    while number:
        digits.append(symbols[number % base])
        number //= base
    return "".join(reversed(digits))


@task("digits_to_int([1, 2, 3]) == 123", "digits_to_int([0, 0, 7]) == 7", "digits_to_int([]) == 0")
def digits_to_int(digits: list[int]) -> int:
    """Combine a list of decimal digits (most significant first) into an integer.

    >>> digits_to_int([4, 0, 2])
    402
    """
    value = 0
    for digit in digits:
        value = value * 10 + digit
    return value


@task("int_to_digits(123) == [1, 2, 3]", "int_to_digits(0) == [0]", "int_to_digits(9001) == [9, 0, 0, 1]")
def int_to_digits(number: int) -> list[int]:
    """Return the decimal digits of a non-negative integer, most significant first.

    >>> int_to_digits(507)
    [5, 0, 7]
    """
    return [int(d) for d in str(number)]


@task("sum_of_cubes(3) == 36", "sum_of_cubes(0) == 0", "sum_of_cubes(1) == 1")
def sum_of_cubes(n: int) -> int:
    """Return 1**3 + 2**3 + ... + n**3.

    >>> sum_of_cubes(2)
    9
    """
    return sum(k**3 for k in range(1, n + 1))


@task(
    "is_palindrome_number(121) is True",
    "is_palindrome_number(123) is False",
    "is_palindrome_number(-121) is False",
    "is_palindrome_number(0) is True",
)
def is_palindrome_number(number: int) -> bool:
    """Return True if number reads the same backwards; negative numbers never do.

    >>> is_palindrome_number(1221)
    True
    """
    return number >= 0 and str(number) == str(number)[::-1]


@task("count_set_bits(0) == 0", "count_set_bits(7) == 3", "count_set_bits(1024) == 1")
def count_set_bits(n: int) -> int:
    """Count the 1 bits in the binary form of the non-negative n.

    >>> count_set_bits(5)
    2
    """
    count = 0
    while n:
        count += n & 1
        n >>= 1
    return count


@task("next_multiple(7, 5) == 10", "next_multiple(10, 5) == 10", "next_multiple(0, 3) == 0")
def next_multiple(number: int, base: int) -> int:
    """Return the smallest multiple of base that is at least number (both non-negative, base > 0).

    >>> next_multiple(11, 4)
    12
    """
    return -(-number // base) * base


@task(
    "factorial_trailing_zeros(5) == 1",
    "factorial_trailing_zeros(4) == 0",
    "factorial_trailing_zeros(100) == 24",
)
def factorial_trailing_zeros(n: int) -> int:
    """Return how many zeros n! ends with.

    >>> factorial_trailing_zeros(10)
    2
    """
    zeros = 0
    power = 5
    while power <= n:
        zeros += n // power
        power *= 5
    return zeros


@task("are_coprime(8, 15) is True", "are_coprime(12, 18) is False", "are_coprime(1, 1) is True")
def are_coprime(a: int, b: int) -> bool:
    """Return True if the positive integers a and b share no common divisor other than 1.

    >>> are_coprime(9, 10)
    True
    """
    while b:
        a, b = b, a % b
    return a == 1


@task("power_mod(2, 10, 1000) == 24", "power_mod(3, 0, 7) == 1", "power_mod(5, 3, 13) == 8")
def power_mod(base: int, exponent: int, modulus: int) -> int:
    """Return base**exponent modulo modulus for a non-negative exponent and a modulus above 1.

    >>> power_mod(2, 5, 10)
    2
    """
    result = 1
    for _ in range(exponent):
        result = result * base % modulus
    return result


@task("average_floor([1, 2, 4]) == 2", "average_floor([5]) == 5", "average_floor([-1, -2]) == -2")
def average_floor(numbers: list[int]) -> int:
    """Return the average of a non-empty list of integers rounded down to an integer.

    >>> average_floor([3, 4])
    3
    """
    return sum(numbers) // len(numbers)


@task("abs_difference(3, 10) == 7", "abs_difference(10, 3) == 7", "abs_difference(-2, 2) == 4")
def abs_difference(a: int, b: int) -> int:
    """Return the distance between a and b on the number line.

    >>> abs_difference(5, 1)
    4
    """
    return a - b if a > b else b - a


@task(
    "simple_interest(1000, 5, 2) == 100.0",
    "simple_interest(0, 5, 10) == 0.0",
    "simple_interest(250, 4, 3) == 30.0",
)
def simple_interest(principal: float, rate_percent: float, years: float) -> float:
    """Return the simple interest earned on principal at rate_percent per year, rounded to 2 decimals.

    >>> simple_interest(500, 10, 1)
    50.0
    """
    return round(principal * rate_percent / 100 * years, 2)


@task(
    'seconds_to_hms(3661) == "1:01:01"',
    'seconds_to_hms(59) == "0:00:59"',
    'seconds_to_hms(36000) == "10:00:00"',
)
def seconds_to_hms(seconds: int) -> str:
    """Format a non-negative number of seconds as "H:MM:SS".

    >>> seconds_to_hms(125)
    '0:02:05'
    """
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@task("hypotenuse_squared(3, 4) == 25", "hypotenuse_squared(0, 0) == 0", "hypotenuse_squared(5, 12) == 169")
def hypotenuse_squared(a: int, b: int) -> int:
    """Return the square of the hypotenuse of a right triangle with legs a and b.

    >>> hypotenuse_squared(1, 1)
    2
    """
    return a * a + b * b


@task(
    "manhattan_distance((0, 0), (3, 4)) == 7",
    "manhattan_distance((1, 1), (1, 1)) == 0",
    "manhattan_distance((-1, 2), (2, -2)) == 7",
)
def manhattan_distance(a: tuple[int, int], b: tuple[int, int]) -> int:
    """Return the grid distance |x1 - x2| + |y1 - y2| between two points.

    >>> manhattan_distance((1, 2), (4, 6))
    7
    """
    return abs(a[0] - b[0]) + abs(a[1] - b[1])


@task(
    "is_divisible_by_all(12, [2, 3, 4]) is True",
    "is_divisible_by_all(12, [5]) is False",
    "is_divisible_by_all(7, []) is True",
)
def is_divisible_by_all(number: int, divisors: list[int]) -> bool:
    """Return True if number is divisible by every (non-zero) value in divisors.

    >>> is_divisible_by_all(30, [2, 3, 5])
    True
    """
    return all(number % d == 0 for d in divisors)


@task('fizzbuzz(3) == "Fizz"', 'fizzbuzz(10) == "Buzz"', 'fizzbuzz(30) == "FizzBuzz"', 'fizzbuzz(7) == "7"')
def fizzbuzz(n: int) -> str:
    """Return "Fizz" for multiples of 3, "Buzz" for multiples of 5, "FizzBuzz" for both, else str(n).

    >>> fizzbuzz(15)
    'FizzBuzz'
    """
    if n % 15 == 0:
        return "FizzBuzz"
    if n % 3 == 0:
        return "Fizz"
    if n % 5 == 0:
        return "Buzz"
    return str(n)


@task(
    "prime_factors(12) == [2, 2, 3]",
    "prime_factors(13) == [13]",
    "prime_factors(1) == []",
    "prime_factors(360) == [2, 2, 2, 3, 3, 5]",
)
def prime_factors(n: int) -> list[int]:
    """Return the prime factors of the positive n in increasing order, with repeats.

    >>> prime_factors(18)
    [2, 3, 3]
    """
    factors = []
    k = 2
    while k * k <= n:
        while n % k == 0:
            factors.append(k)
            n //= k
        k += 1
    if n > 1:
        factors.append(n)
    return factors


@task("tribonacci(0) == 0", "tribonacci(3) == 1", "tribonacci(10) == 81")
def tribonacci(n: int) -> int:
    """Return the n-th term of the sequence 0, 0, 1, 1, 2, 4, 7, ... where each term sums the three before it.

    >>> tribonacci(6)
    7
    """
    a, b, c = 0, 0, 1
    for _ in range(n):
        a, b, c = b, c, a + b + c
    return a


@task("geometric_sum(1, 2, 4) == 15", "geometric_sum(3, 1, 3) == 9", "geometric_sum(5, 10, 0) == 0")
def geometric_sum(first: int, ratio: int, count: int) -> int:
    """Return the sum of the first count terms of first, first * ratio, first * ratio**2, ...

    >>> geometric_sum(2, 3, 3)
    26
    """
    return sum(first * ratio**k for k in range(count))


@task("count_multiples(1, 10, 3) == 3", "count_multiples(0, 0, 5) == 1", "count_multiples(4, 4, 3) == 0")
def count_multiples(low: int, high: int, k: int) -> int:
    """Count the multiples of the positive k in the range low..high, both included (low <= high, both >= 0).

    >>> count_multiples(1, 20, 5)
    4
    """
    return high // k - (low - 1) // k if low > 0 else high // k + 1


# --------------------------------------------------------------------------------------------
# Dictionaries
# --------------------------------------------------------------------------------------------


@task(
    'invert_dict({"a": 1, "b": 2}) == {1: "a", 2: "b"}',
    "invert_dict({}) == {}",
    'invert_dict({"x": "y"}) == {"y": "x"}',
)
def invert_dict(mapping: dict) -> dict:
    """Swap keys and values of a dictionary whose values are all distinct.

    >>> invert_dict({"one": 1})
    {1: 'one'}
    """
    return {value: key for key, value in mapping.items()}


@task(
    'merge_dicts({"a": 1}, {"b": 2}) == {"a": 1, "b": 2}',
    'merge_dicts({"a": 1}, {"a": 5}) == {"a": 5}',
    "merge_dicts({}, {}) == {}",
)
def merge_dicts(first: dict, second: dict) -> dict:
    """Return a new dictionary with the entries of both; on a shared key, the value from second wins.

    >>> merge_dicts({"x": 1, "y": 2}, {"y": 3})
    {'x': 1, 'y': 3}
    """
    merged = dict(first)
    merged.update(second)
    return merged


@task(
    'word_counts("a b a") == {"a": 2, "b": 1}',
    'word_counts("") == {}',
    'word_counts("The the THE") == {"the": 3}',
)
def word_counts(text: str) -> dict[str, int]:
    """Count each lower-cased, whitespace-separated word of text.

    >>> word_counts("to be or not to be")
    {'to': 2, 'be': 2, 'or': 1, 'not': 1}
    """
    counts: dict[str, int] = {}
    for word in text.lower().split():
        counts[word] = counts.get(word, 0) + 1
    return counts


@task(
    'group_by_length(["a", "bb", "c"]) == {1: ["a", "c"], 2: ["bb"]}',
    "group_by_length([]) == {}",
    'group_by_length(["abc"]) == {3: ["abc"]}',
)
def group_by_length(words: list[str]) -> dict[int, list[str]]:
    """Group words by their length, keeping their order inside each group.

    >>> group_by_length(["hi", "yo", "hey"])
    {2: ['hi', 'yo'], 3: ['hey']}
    """
    groups: dict[int, list[str]] = {}
    for word in words:
        groups.setdefault(len(word), []).append(word)
    return groups


@task(
    'keys_with_value({"a": 1, "b": 2, "c": 1}, 1) == ["a", "c"]',
    'keys_with_value({"a": 1}, 3) == []',
    "keys_with_value({}, 0) == []",
)
def keys_with_value(mapping: dict, value) -> list:
    """Return the keys whose value equals value, in insertion order.

    >>> keys_with_value({"x": 0, "y": 1}, 0)
    ['x']
    """
    return [key for key, v in mapping.items() if v == value]


@task(
    'key_of_max_value({"a": 3, "b": 7, "c": 5}) == "b"',
    'key_of_max_value({"only": 0}) == "only"',
    'key_of_max_value({"x": 2, "y": 2}) == "x"',
)
def key_of_max_value(mapping: dict):
    """Return the key with the largest value in a non-empty dictionary; on a tie, the first such key.

    >>> key_of_max_value({"apples": 3, "pears": 9})
    'pears'
    """
    best = None
    for key, value in mapping.items():
        if best is None or value > mapping[best]:
            best = key
    return best


@task('sum_values({"a": 1, "b": 2}) == 3', "sum_values({}) == 0", 'sum_values({"x": -5, "y": 5}) == 0')
def sum_values(mapping: dict[str, int]) -> int:
    """Return the sum of all values of the dictionary.

    >>> sum_values({"rent": 500, "food": 200})
    700
    """
    return sum(mapping.values())


@task(
    'filter_by_min_value({"a": 1, "b": 5, "c": 3}, 3) == {"b": 5, "c": 3}',
    "filter_by_min_value({}, 1) == {}",
    'filter_by_min_value({"a": 0}, 1) == {}',
)
def filter_by_min_value(mapping: dict[str, int], minimum: int) -> dict[str, int]:
    """Keep only the entries whose value is at least minimum.

    >>> filter_by_min_value({"low": 1, "high": 10}, 5)
    {'high': 10}
    """
    return {key: value for key, value in mapping.items() if value >= minimum}


@task(
    'keys_sorted_by_value({"a": 3, "b": 1, "c": 2}) == ["b", "c", "a"]',
    "keys_sorted_by_value({}) == []",
    'keys_sorted_by_value({"x": 1, "y": 1}) == ["x", "y"]',
)
def keys_sorted_by_value(mapping: dict) -> list:
    """Return the keys ordered by increasing value; keys with equal values keep insertion order.

    >>> keys_sorted_by_value({"late": 9, "early": 1})
    ['early', 'late']
    """
    return sorted(mapping, key=lambda key: mapping[key])


@task(
    'dict_from_lists(["a", "b"], [1, 2]) == {"a": 1, "b": 2}',
    "dict_from_lists([], []) == {}",
    'dict_from_lists(["a", "a"], [1, 2]) == {"a": 2}',
)
def dict_from_lists(keys: list, values: list) -> dict:
    """Pair keys with values position by position; a repeated key keeps its last value.

    >>> dict_from_lists(["x", "y"], [10, 20])
    {'x': 10, 'y': 20}
    """
    return dict(zip(keys, values))


@task(
    'get_path({"a": {"b": {"c": 1}}}, ["a", "b", "c"], 0) == 1',
    'get_path({"a": {}}, ["a", "b"], "none") == "none"',
    'get_path({"a": 5}, [], 0) == {"a": 5}',
    'get_path({"a": 5}, ["a", "b"], -1) == -1',
)
def get_path(data: dict, path: list, default):
    """Follow the keys in path through nested dictionaries and return what is found there.

    Return default as soon as a key is missing or a value on the way is not a dictionary.

    >>> get_path({"user": {"name": "Ada"}}, ["user", "name"], None)
    'Ada'
    """
    current = data
    for key in path:
        if not isinstance(current, dict) or key not in current:
            return default
        current = current[key]
    return current


@task(
    'first_positions("abca") == {"a": 0, "b": 1, "c": 2}',
    'first_positions("") == {}',
    'first_positions("zz") == {"z": 0}',
)
def first_positions(text: str) -> dict[str, int]:
    """Map each character of text to the index where it first appears.

    >>> first_positions("hello")
    {'h': 0, 'e': 1, 'l': 2, 'o': 4}
    """
    positions: dict[str, int] = {}
    for i, ch in enumerate(text):
        positions.setdefault(ch, i)
    return positions


@task(
    'restock({"apple": 2}, {"apple": 3, "pear": 1}) == {"apple": 5, "pear": 1}',
    "restock({}, {}) == {}",
    'restock({"fig": 1}, {}) == {"fig": 1}',
)
def restock(inventory: dict[str, int], delivery: dict[str, int]) -> dict[str, int]:
    """Return a new inventory with the delivered quantities added to the current ones.

    >>> restock({"eggs": 6}, {"eggs": 12, "milk": 1})
    {'eggs': 18, 'milk': 1}
    """
    result = dict(inventory)
    for item, quantity in delivery.items():
        result[item] = result.get(item, 0) + quantity
    return result


@task(
    'shared_keys({"a": 1, "b": 2}, {"b": 3, "c": 4}) == ["b"]',
    'shared_keys({}, {"a": 1}) == []',
    'shared_keys({"y": 1, "x": 2}, {"x": 0, "y": 0}) == ["x", "y"]',
)
def shared_keys(first: dict, second: dict) -> list:
    """Return the keys present in both dictionaries, sorted.

    >>> shared_keys({"k": 1, "m": 2}, {"m": 0})
    ['m']
    """
    return sorted(set(first) & set(second))


@task(
    'keys_only_in_first({"a": 1, "b": 2}, {"b": 0}) == ["a"]',
    'keys_only_in_first({}, {"a": 1}) == []',
    'keys_only_in_first({"c": 1, "a": 2}, {}) == ["a", "c"]',
)
def keys_only_in_first(first: dict, second: dict) -> list:
    """Return the keys of first that are not keys of second, sorted.

    >>> keys_only_in_first({"x": 1, "y": 2}, {"y": 5})
    ['x']
    """
    return sorted(set(first) - set(second))


@task(
    'group_keys_by_value({"a": 1, "b": 2, "c": 1}) == {1: ["a", "c"], 2: ["b"]}',
    "group_keys_by_value({}) == {}",
    'group_keys_by_value({"x": "same", "y": "same"}) == {"same": ["x", "y"]}',
)
def group_keys_by_value(mapping: dict) -> dict:
    """Invert a dictionary whose values may repeat: map each value to the list of its keys.

    >>> group_keys_by_value({"cat": "pet", "dog": "pet", "cow": "farm"})
    {'pet': ['cat', 'dog'], 'farm': ['cow']}
    """
    inverted: dict = {}
    for key, value in mapping.items():
        inverted.setdefault(value, []).append(key)
    return inverted


@task(
    'group_by_first_letter(["apple", "bean", "avocado"]) == {"a": ["apple", "avocado"], "b": ["bean"]}',
    "group_by_first_letter([]) == {}",
    'group_by_first_letter(["Zebra", "zoo"]) == {"z": ["Zebra", "zoo"]}',
)
def group_by_first_letter(words: list[str]) -> dict[str, list[str]]:
    """Group non-empty words by their lower-cased first letter, keeping their order.

    >>> group_by_first_letter(["car", "cat", "dog"])
    {'c': ['car', 'cat'], 'd': ['dog']}
    """
    groups: dict[str, list[str]] = {}
    for word in words:
        groups.setdefault(word[0].lower(), []).append(word)
    return groups


@task(
    'star_histogram({"a": 3, "b": 1}) == ["a: ***", "b: *"]',
    "star_histogram({}) == []",
    'star_histogram({"z": 0}) == ["z: "]',
)
def star_histogram(counts: dict[str, int]) -> list[str]:
    """Draw each entry as "key: " followed by as many "*" as its count, in insertion order.

    >>> star_histogram({"x": 2})
    ['x: **']
    """
    return [f"{key}: {'*' * count}" for key, count in counts.items()]


@task(
    'most_common_word("the cat and the hat") == "the"',
    'most_common_word("b a b a") == "b"',
    'most_common_word("Go go GO stop") == "go"',
)
def most_common_word(text: str) -> str:
    """Return the most frequent lower-cased word of a non-empty text; on a tie, the one seen first.

    >>> most_common_word("one fish two fish")
    'fish'
    """
    counts: dict[str, int] = {}
    for word in text.lower().split():
        counts[word] = counts.get(word, 0) + 1
    best = ""
    for word, count in counts.items():
        if not best or count > counts[best]:
            best = word
    return best


@task(
    'count_parity([1, 2, 3]) == {"even": 1, "odd": 2}',
    'count_parity([]) == {"even": 0, "odd": 0}',
    'count_parity([0, -2]) == {"even": 2, "odd": 0}',
)
def count_parity(numbers: list[int]) -> dict[str, int]:
    """Count the even and the odd numbers, as {"even": ..., "odd": ...}.

    >>> count_parity([5, 7])
    {'even': 0, 'odd': 2}
    """
    evens = sum(1 for n in numbers if n % 2 == 0)
    return {"even": evens, "odd": len(numbers) - evens}


@task(
    'average_scores({"ann": [80, 90], "bob": [70]}) == {"ann": 85.0, "bob": 70.0}',
    "average_scores({}) == {}",
    'average_scores({"cy": [1, 2, 2]}) == {"cy": 1.67}',
)
def average_scores(scores: dict[str, list[int]]) -> dict[str, float]:
    """Map each student to the average of their (non-empty) list of scores, rounded to 2 decimals.

    >>> average_scores({"dee": [3, 4]})
    {'dee': 3.5}
    """
    return {name: round(sum(marks) / len(marks), 2) for name, marks in scores.items()}


@task(
    'rename_keys({"a": 1, "b": 2}, {"a": "x"}) == {"x": 1, "b": 2}',
    'rename_keys({}, {"a": "b"}) == {}',
    'rename_keys({"k": 0}, {}) == {"k": 0}',
)
def rename_keys(mapping: dict, renames: dict) -> dict:
    """Return a copy of mapping in which each key found in renames is replaced by its new name.

    >>> rename_keys({"fname": "Ada"}, {"fname": "first_name"})
    {'first_name': 'Ada'}
    """
    return {renames.get(key, key): value for key, value in mapping.items()}


@task(
    'keys_with_prefix({"app_x": 1, "db_y": 2, "app_z": 3}, "app_") == {"app_x": 1, "app_z": 3}',
    'keys_with_prefix({}, "a") == {}',
    'keys_with_prefix({"a": 1}, "") == {"a": 1}',
)
def keys_with_prefix(mapping: dict[str, object], prefix: str) -> dict[str, object]:
    """Keep only the entries whose key starts with prefix.

    >>> keys_with_prefix({"user_id": 1, "name": "x"}, "user")
    {'user_id': 1}
    """
    return {key: value for key, value in mapping.items() if key.startswith(prefix)}


@task(
    'flatten_dict({"a": {"b": 1, "c": {"d": 2}}, "e": 3}) == {"a.b": 1, "a.c.d": 2, "e": 3}',
    "flatten_dict({}) == {}",
    'flatten_dict({"x": {}}) == {}',
)
def flatten_dict(nested: dict) -> dict:
    """Flatten nested dictionaries into one level, joining key paths with ".".

    >>> flatten_dict({"db": {"host": "h", "port": 1}})
    {'db.host': 'h', 'db.port': 1}
    """
    flat = {}
    for key, value in nested.items():
        if isinstance(value, dict):
            for inner_key, inner_value in flatten_dict(value).items():
                flat[f"{key}.{inner_key}"] = inner_value
        else:
            flat[key] = value
    return flat


@task(
    'sorted_items({"b": 2, "a": 1}) == [("a", 1), ("b", 2)]',
    "sorted_items({}) == []",
    'sorted_items({"z": 0, "m": 5}) == [("m", 5), ("z", 0)]',
)
def sorted_items(mapping: dict) -> list[tuple]:
    """Return the (key, value) pairs sorted by key.

    >>> sorted_items({"y": 1, "x": 2})
    [('x', 2), ('y', 1)]
    """
    return sorted(mapping.items())


@task(
    'add_counts({"a": 1, "b": 2}, {"b": 3, "c": 4}) == {"a": 1, "b": 5, "c": 4}',
    "add_counts({}, {}) == {}",
    'add_counts({"a": 1}, {"a": -1}) == {"a": 0}',
)
def add_counts(first: dict[str, int], second: dict[str, int]) -> dict[str, int]:
    """Add two count dictionaries: shared keys get the sum of both values.

    >>> add_counts({"x": 1}, {"x": 1, "y": 1})
    {'x': 2, 'y': 1}
    """
    total = dict(first)
    for key, value in second.items():
        total[key] = total.get(key, 0) + value
    return total


@task(
    'top_scorer({"ann": 10, "bob": 12}) == "bob"',
    "top_scorer({}) is None",
    'top_scorer({"cy": 5, "di": 5}) == "cy"',
)
def top_scorer(points: dict[str, int]) -> str | None:
    """Return the name with the most points (first one on a tie), or None for no players.

    >>> top_scorer({"x": 1, "y": 3})
    'y'
    """
    best = None
    for name, score in points.items():
        if best is None or score > points[best]:
            best = name
    return best


@task(
    'letter_positions("abc") == {"a": 1, "b": 2, "c": 3}',
    'letter_positions("") == {}',
    'letter_positions("Zz") == {"z": 26}',
)
def letter_positions(word: str) -> dict[str, int]:
    """Map each letter of word, lower-cased, to its position in the alphabet (a is 1).

    >>> letter_positions("cab")
    {'c': 3, 'a': 1, 'b': 2}
    """
    return {ch.lower(): ord(ch.lower()) - ord("a") + 1 for ch in word}


@task(
    'any_value_over({"a": 1, "b": 10}, 5) is True',
    'any_value_over({"a": 5}, 5) is False',
    "any_value_over({}, 0) is False",
)
def any_value_over(mapping: dict[str, int], limit: int) -> bool:
    """Return True if some value of the dictionary is strictly greater than limit.

    >>> any_value_over({"temp": 40}, 35)
    True
    """
    return any(value > limit for value in mapping.values())


@task(
    'pick_keys({"a": 1, "b": 2, "c": 3}, ["a", "c"]) == {"a": 1, "c": 3}',
    'pick_keys({"a": 1}, ["z"]) == {}',
    "pick_keys({}, []) == {}",
)
def pick_keys(mapping: dict, keys: list) -> dict:
    """Return the entries of mapping whose key is in keys (missing keys are skipped), in the order of keys.

    >>> pick_keys({"id": 7, "name": "x", "age": 3}, ["name", "id"])
    {'name': 'x', 'id': 7}
    """
    return {key: mapping[key] for key in keys if key in mapping}


@task(
    'char_indices("banana") == {"b": [0], "a": [1, 3, 5], "n": [2, 4]}',
    'char_indices("") == {}',
    'char_indices("xx") == {"x": [0, 1]}',
)
def char_indices(text: str) -> dict[str, list[int]]:
    """Map each character of text to the list of indices where it appears.

    >>> char_indices("aba")
    {'a': [0, 2], 'b': [1]}
    """
    indices: dict[str, list[int]] = {}
    for i, ch in enumerate(text):
        indices.setdefault(ch, []).append(i)
    return indices


@task(
    'anagram_groups(["eat", "tea", "tan", "ate", "nat"]) == [["eat", "tea", "ate"], ["tan", "nat"]]',
    "anagram_groups([]) == []",
    'anagram_groups(["a"]) == [["a"]]',
)
def anagram_groups(words: list[str]) -> list[list[str]]:
    """Group words that are anagrams of each other; groups and their words keep first-seen order.

    >>> anagram_groups(["listen", "google", "silent"])
    [['listen', 'silent'], ['google']]
    """
    groups: dict[str, list[str]] = {}
    for word in words:
        groups.setdefault("".join(sorted(word)), []).append(word)
    return list(groups.values())


@task(
    'count_by_key([{"type": "a"}, {"type": "b"}, {"type": "a"}], "type") == {"a": 2, "b": 1}',
    'count_by_key([], "k") == {}',
    'count_by_key([{"k": 1}, {"j": 2}], "k") == {1: 1}',
)
def count_by_key(records: list[dict], key: str) -> dict:
    """Count the records by their value for key; records without that key are skipped.

    >>> count_by_key([{"c": "red"}, {"c": "red"}], "c")
    {'red': 2}
    """
    counts: dict = {}
    for record in records:
        if key in record:
            counts[record[key]] = counts.get(record[key], 0) + 1
    return counts


@task(
    'total_price({"apple": 2, "pear": 1}, {"apple": 3, "pear": 5}) == 11',
    'total_price({}, {"apple": 1}) == 0',
    'total_price({"fig": 4}, {"fig": 0}) == 0',
)
def total_price(cart: dict[str, int], prices: dict[str, int]) -> int:
    """Return the cost of the cart: each item's quantity times its unit price in prices.

    >>> total_price({"pen": 3}, {"pen": 2})
    6
    """
    return sum(quantity * prices[item] for item, quantity in cart.items())


@task(
    'values_to_lengths({"a": "xyz", "b": ""}) == {"a": 3, "b": 0}',
    "values_to_lengths({}) == {}",
    'values_to_lengths({"k": [1, 2]}) == {"k": 2}',
)
def values_to_lengths(mapping: dict) -> dict:
    """Replace each value (a string or list) by its length.

    >>> values_to_lengths({"name": "Ada"})
    {'name': 3}
    """
    return {key: len(value) for key, value in mapping.items()}


@task(
    'default_counts(["a", "b"], 0) == {"a": 0, "b": 0}',
    "default_counts([], 1) == {}",
    'default_counts(["x", "x"], 5) == {"x": 5}',
)
def default_counts(keys: list[str], start: int) -> dict[str, int]:
    """Return a dictionary mapping every key in keys to the value start.

    >>> default_counts(["wins", "losses"], 0)
    {'wins': 0, 'losses': 0}
    """
    return {key: start for key in keys}


@task(
    'is_subset_dict({"a": 1}, {"a": 1, "b": 2}) is True',
    'is_subset_dict({"a": 2}, {"a": 1}) is False',
    "is_subset_dict({}, {}) is True",
)
def is_subset_dict(small: dict, big: dict) -> bool:
    """Return True if every key of small is in big with the same value.

    >>> is_subset_dict({"x": 0}, {"x": 0, "y": 1})
    True
    """
    return all(key in big and big[key] == value for key, value in small.items())


@task(
    'grade_counts([95, 85, 72, 91]) == {"A": 2, "B": 1, "C": 1}',
    "grade_counts([]) == {}",
    'grade_counts([50, 60]) == {"F": 1, "D": 1}',
)
def grade_counts(scores: list[int]) -> dict[str, int]:
    """Count letter grades for scores: A from 90, B from 80, C from 70, D from 60, otherwise F.

    Only grades that occur appear, in order of their first occurrence.

    >>> grade_counts([88, 82])
    {'B': 2}
    """
    counts: dict[str, int] = {}
    for score in scores:
        if score >= 90:
            grade = "A"
        elif score >= 80:
            grade = "B"
        elif score >= 70:
            grade = "C"
        elif score >= 60:
            grade = "D"
        else:
            grade = "F"
        counts[grade] = counts.get(grade, 0) + 1
    return counts


@task(
    'translate_words("hello world", {"hello": "hola"}) == "hola world"',
    'translate_words("", {"a": "b"}) == ""',
    'translate_words("a b a", {"a": "x", "b": "y"}) == "x y x"',
)
def translate_words(sentence: str, dictionary: dict[str, str]) -> str:
    """Replace each space-separated word found in dictionary by its translation; keep the others.

    >>> translate_words("good day", {"day": "night"})
    'good night'
    """
    return " ".join(dictionary.get(word, word) for word in sentence.split(" ")) if sentence else ""


@task(
    'roster_by_team([("ann", "red"), ("bob", "blue"), ("cy", "red")]) == {"red": ["ann", "cy"], "blue": ["bob"]}',
    "roster_by_team([]) == {}",
    'roster_by_team([("x", "t")]) == {"t": ["x"]}',
)
def roster_by_team(players: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Group (name, team) pairs into a dictionary from team to the list of its players' names.

    >>> roster_by_team([("a", "one"), ("b", "one")])
    {'one': ['a', 'b']}
    """
    teams: dict[str, list[str]] = {}
    for name, team in players:
        teams.setdefault(team, []).append(name)
    return teams


@task(
    'max_per_key([("a", 3), ("b", 1), ("a", 7)]) == {"a": 7, "b": 1}',
    "max_per_key([]) == {}",
    'max_per_key([("x", -1), ("x", -5)]) == {"x": -1}',
)
def max_per_key(pairs: list[tuple[str, int]]) -> dict[str, int]:
    """Map each key appearing in the (key, value) pairs to the largest value seen for it.

    >>> max_per_key([("t", 1), ("t", 2)])
    {'t': 2}
    """
    best: dict[str, int] = {}
    for key, value in pairs:
        if key not in best or value > best[key]:
            best[key] = value
    return best


@task(
    'remove_none_values({"a": 1, "b": None}) == {"a": 1}',
    "remove_none_values({}) == {}",
    'remove_none_values({"z": 0, "f": False}) == {"z": 0, "f": False}',
)
def remove_none_values(mapping: dict) -> dict:
    """Drop the entries whose value is None (other falsy values stay).

    >>> remove_none_values({"x": None, "y": ""})
    {'y': ''}
    """
    return {key: value for key, value in mapping.items() if value is not None}


@task(
    'deep_count({"a": 1, "b": {"c": 2, "d": {"e": 3}}}) == 5',
    "deep_count({}) == 0",
    'deep_count({"x": {}}) == 1',
)
def deep_count(nested: dict) -> int:
    """Count every key of a dictionary, including the keys of dictionaries nested inside it.

    >>> deep_count({"a": {"b": 1}})
    2
    """
    return sum(1 + (deep_count(value) if isinstance(value, dict) else 0) for value in nested.values())


@task(
    'letter_frequency_rank("hello") == ["l", "h", "e", "o"]',
    'letter_frequency_rank("") == []',
    'letter_frequency_rank("aAb") == ["a", "b"]',
)
def letter_frequency_rank(text: str) -> list[str]:
    """Return the distinct lower-cased letters of text, most frequent first; ties keep first-seen order.

    Characters that are not letters are ignored.

    >>> letter_frequency_rank("banana")
    ['a', 'n', 'b']
    """
    counts: dict[str, int] = {}
    for ch in text.lower():
        if ch.isalpha():
            counts[ch] = counts.get(ch, 0) + 1
    return sorted(counts, key=lambda ch: -counts[ch])


@task(
    'phone_book_lookup({"ann": "555-1"}, "ann") == "555-1"',
    'phone_book_lookup({"ann": "555-1"}, "ANN") == "555-1"',
    'phone_book_lookup({}, "bob") == "unknown"',
)
def phone_book_lookup(book: dict[str, str], name: str) -> str:
    """Look up name in a phone book with lower-case names, ignoring case; return "unknown" if absent.

    >>> phone_book_lookup({"cy": "123"}, "Cy")
    '123'
    """
    return book.get(name.lower(), "unknown")


@task(
    'vote_winner(["a", "b", "a", "c", "b", "a"]) == "a"',
    'vote_winner(["x", "y", "y", "x"]) == "x"',
    'vote_winner(["solo"]) == "solo"',
)
def vote_winner(votes: list[str]) -> str:
    """Return the candidate with the most votes in a non-empty list; a tie goes to whoever was voted for first.

    >>> vote_winner(["b", "a", "a"])
    'a'
    """
    tally: dict[str, int] = {}
    for vote in votes:
        tally[vote] = tally.get(vote, 0) + 1
    winner = votes[0]
    for candidate, count in tally.items():
        if count > tally[winner]:
            winner = candidate
    return winner


@task(
    'nested_lookup_count([{"tags": ["a", "b"]}, {"tags": ["b"]}]) == {"a": 1, "b": 2}',
    "nested_lookup_count([]) == {}",
    'nested_lookup_count([{"tags": []}, {}]) == {}',
)
def nested_lookup_count(posts: list[dict]) -> dict[str, int]:
    """Count how many posts carry each tag; a post's tags are in its "tags" list (which may be missing).

    >>> nested_lookup_count([{"tags": ["x"]}, {"tags": ["x", "y"]}])
    {'x': 2, 'y': 1}
    """
    counts: dict[str, int] = {}
    for post in posts:
        for tag in post.get("tags", []):
            counts[tag] = counts.get(tag, 0) + 1
    return counts


@task(
    'cheapest_item({"tea": 3, "coffee": 2, "juice": 4}) == "coffee"',
    "cheapest_item({}) is None",
    'cheapest_item({"a": 1, "b": 1}) == "a"',
)
def cheapest_item(prices: dict[str, float]) -> str | None:
    """Return the item with the lowest price (first one on a tie), or None for an empty menu.

    >>> cheapest_item({"bun": 1.5, "cake": 3.0})
    'bun'
    """
    cheapest = None
    for item, price in prices.items():
        if cheapest is None or price < prices[cheapest]:
            cheapest = item
    return cheapest


@task(
    'word_lengths_map(["hi", "hello"]) == {"hi": 2, "hello": 5}',
    "word_lengths_map([]) == {}",
    'word_lengths_map(["a", "a"]) == {"a": 1}',
)
def word_lengths_map(words: list[str]) -> dict[str, int]:
    """Map each word to its length.

    >>> word_lengths_map(["sun", "moon"])
    {'sun': 3, 'moon': 4}
    """
    return {word: len(word) for word in words}


@task(
    'swap_pairs_to_dict([("a", 1), ("b", 2)]) == {1: "a", 2: "b"}',
    "swap_pairs_to_dict([]) == {}",
    'swap_pairs_to_dict([("x", 1), ("y", 1)]) == {1: "y"}',
)
def swap_pairs_to_dict(pairs: list[tuple]) -> dict:
    """Build a dictionary from (key, value) pairs with the roles swapped: value -> key (last one wins).

    >>> swap_pairs_to_dict([("one", 1)])
    {1: 'one'}
    """
    return {value: key for key, value in pairs}


@task(
    'counts_to_list({"a": 2, "b": 1}) == ["a", "a", "b"]',
    "counts_to_list({}) == []",
    'counts_to_list({"x": 0, "y": 3}) == ["y", "y", "y"]',
)
def counts_to_list(counts: dict[str, int]) -> list[str]:
    """Expand a count dictionary into a list repeating each key count times, in insertion order.

    >>> counts_to_list({"hi": 2})
    ['hi', 'hi']
    """
    return [key for key, count in counts.items() for _ in range(count)]


@task(
    'matching_pairs({"a": 1, "b": 2}, {"a": 1, "b": 3}) == ["a"]',
    'matching_pairs({}, {"a": 1}) == []',
    'matching_pairs({"y": 0, "x": 0}, {"x": 0, "y": 0}) == ["x", "y"]',
)
def matching_pairs(first: dict, second: dict) -> list:
    """Return, sorted, the keys present in both dictionaries with equal values.

    >>> matching_pairs({"k": "v", "z": 1}, {"k": "v"})
    ['k']
    """
    return sorted(key for key in first if key in second and first[key] == second[key])


@task(
    'update_scores({"ann": 1}, ["ann", "bob", "ann"]) == {"ann": 3, "bob": 1}',
    "update_scores({}, []) == {}",
    'update_scores({"x": 5}, []) == {"x": 5}',
)
def update_scores(scores: dict[str, int], winners: list[str]) -> dict[str, int]:
    """Return new scores where each name in winners gains one point (new names start at 0).

    >>> update_scores({"a": 0}, ["a"])
    {'a': 1}
    """
    result = dict(scores)
    for name in winners:
        result[name] = result.get(name, 0) + 1
    return result


@task(
    "bucket_numbers([1, 12, 15, 27], 10) == {0: [1], 10: [12, 15], 20: [27]}",
    "bucket_numbers([], 5) == {}",
    "bucket_numbers([5, 0], 5) == {5: [5], 0: [0]}",
)
def bucket_numbers(numbers: list[int], width: int) -> dict[int, list[int]]:
    """Group non-negative numbers into buckets [0, width), [width, 2 * width), ... keyed by the bucket start.

    Buckets appear in the order of their first number.

    >>> bucket_numbers([3, 7, 1], 5)
    {0: [3, 1], 5: [7]}
    """
    buckets: dict[int, list[int]] = {}
    for number in numbers:
        buckets.setdefault(number // width * width, []).append(number)
    return buckets
