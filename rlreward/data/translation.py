"""English -> German / French translation pairs from the gettext catalogs of Django and Sphinx.

Both projects ship human translations of their interface strings as ``locale/<lang>/LC_MESSAGES/*.po``.
This module parses them with a small reader (no ``polib`` needed) and turns them into prose pairs:

1. skip the header, fuzzy entries (unreviewed machine suggestions), obsolete (``#~``) entries and
   entries with an empty translation; for plural entries keep the singular (``msgid``, ``msgstr[0]``);
2. skip entries with a format placeholder between words on either side (stripping it would leave
   "must be between and"); strip the remaining placeholders (``%(name)s``, ``%s``, ``%d``, ``{0}``,
   ``{name}``) at the ends, HTML tags and entities, then tidy what they leave behind (empty quotes
   and brackets, doubled spaces);
3. keep pairs whose English side has at least ``min_words`` words and whose translation differs
   from the English (an identical string is an untranslated copy);
4. deduplicate on the English side, keeping the first translation (files in sorted path order).

Needs the ``django`` and ``sphinx`` packages (``pip install rlreward[tasks]``).
"""

from __future__ import annotations

import html
import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path

import datasets

from rlreward.data.base import DataError, dedupe, train_eval_split

LANGUAGE_NAMES = {"de": "German", "fr": "French"}
CATALOG_PACKAGES = ("django", "sphinx")
DEFAULT_INSTRUCTION = "Translate to {language}: {text}"


@dataclass
class PoEntry:
    """One gettext catalog entry; ``msgstr`` maps plural index to text (``0`` for a singular entry)."""

    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    msgctxt: str | None = None
    flags: set[str] = field(default_factory=set)

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")\s*$")


def _unquote(quoted: str) -> str:
    body = quoted.strip()[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


def parse_po(text: str) -> list[PoEntry]:
    """Parse the text of a ``.po`` file into entries (obsolete ``#~`` entries are skipped).

    Example:
        >>> entries = parse_po('#, fuzzy\\nmsgid "a"\\nmsgstr "b"\\n\\nmsgid ""\\n"two "\\n"lines"\\nmsgstr "x"\\n')
        >>> [(e.msgid, e.msgstr[0], e.fuzzy) for e in entries]
        [('a', 'b', True), ('two lines', 'x', False)]
    """
    entries: list[PoEntry] = []
    entry = PoEntry()
    target: tuple[str, int] | None = None  # which field a continuation line extends

    def flush() -> None:
        nonlocal entry, target
        if entry.msgstr or entry.msgid:
            entries.append(entry)
        entry, target = PoEntry(), None

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            flush()
            continue
        if line.startswith("#"):
            if entry.msgstr:  # a comment after msgstr starts the next entry
                flush()
            if line.startswith("#,"):
                entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        match = _KEYWORD.match(line)
        if match:
            keyword, index, quoted = match.groups()
            if keyword in ("msgctxt", "msgid") and entry.msgstr:
                flush()
            value = _unquote(quoted)
            if keyword == "msgctxt":
                entry.msgctxt, target = value, ("msgctxt", 0)
            elif keyword == "msgid":
                entry.msgid, target = value, ("msgid", 0)
            elif keyword == "msgid_plural":
                entry.msgid_plural, target = value, ("msgid_plural", 0)
            else:
                slot = int(index or 0)
                entry.msgstr[slot], target = value, ("msgstr", slot)
        elif line.startswith('"') and target is not None:
            name, slot = target
            if name == "msgstr":
                entry.msgstr[slot] += _unquote(line)
            else:
                setattr(entry, name, (getattr(entry, name) or "") + _unquote(line))
    flush()
    return entries


_FORMAT_PLACEHOLDER = re.compile(
    r"%\([^)]*\)[-#0+]*\d*(?:\.\d+)?[a-zA-Z]"  # %(name)s, %(count)d, %(value).2f
    r"|%[-#0+]*\d*(?:\.\d+)?[sdifrxXc]"  # %s, %d, %5.1f (no space flag, so "100% sure" is kept)
    r"|\{[^{}]*\}"  # {0}, {name}, {}, {0!r}
)
_HTML_TAG = re.compile(r"<[^<>]+>")
_EMPTY_PAIRS = re.compile(r"""("\s*"|'\s*'|“\s*”|„\s*“|‚\s*‘|‘\s*’|«\s*»|‹\s*›|\(\s*\)|\[\s*\])""")


def has_inner_placeholder(text: str) -> bool:
    """Whether a format placeholder stands between words of ``text``, so that removing it breaks the sentence.

    Example:
        >>> has_inner_placeholder("Delete %(name)s?"), has_inner_placeholder("Between %(a)s and %(b)s days")
        (False, True)
    """
    pieces = _FORMAT_PLACEHOLDER.split(_HTML_TAG.sub(" ", text.replace("%%", "")))
    # Content is anything but spaces and sentence punctuation: quotes, brackets and "->" count.
    has_word = [bool(re.search(r"[^\s.,;:!?]", piece)) for piece in pieces]
    return any(any(has_word[: i + 1]) and any(has_word[i + 1 :]) for i in range(len(pieces) - 1))


def strip_placeholders(text: str, keep_space_before: str = "") -> str:
    """Remove format placeholders, HTML tags and entities from ``text`` and normalise its whitespace.

    Args:
        text: a catalog string.
        keep_space_before: punctuation that keeps a space before it (French typography: ``"?!:;"``);
            other spaces before ``,.?!:;`` are removed.

    Example:
        >>> strip_placeholders('Delete <b>%(name)s</b> “%(obj)s”? Saved {0} of {n} items.')
        'Delete? Saved of items.'
    """
    text = text.replace("%%", "\x00")
    text = _HTML_TAG.sub(" ", _FORMAT_PLACEHOLDER.sub(" ", text))
    text = html.unescape(text.replace("\x00", "%"))
    text = _EMPTY_PAIRS.sub(" ", text)
    text = " ".join(text.split())
    removable = "".join(ch for ch in ",.?!:;" if ch not in keep_space_before)
    text = re.sub(rf" ([{re.escape(removable)}])", r"\1", text)
    text = re.sub(r"([(\[]) ", r"\1", re.sub(r" ([)\]])", r"\1", text))
    return text.strip(" ,;:-–—")


def catalog_files(language: str, packages: tuple[str, ...] = CATALOG_PACKAGES) -> list[tuple[str, Path]]:
    """``(name, path)`` of the ``.po`` files for ``language`` in the installed ``packages``, sorted by name.

    ``name`` is the path from the package's parent folder, e.g. ``django/contrib/admin/locale/de/...``.
    """
    files = []
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise DataError(
                f"the translation task reads the catalogs of {package!r}, which is not installed; "
                f"run `pip install {package}` (or `pip install rlreward[tasks]`)."
            )
        for root in spec.submodule_search_locations:
            for path in Path(root).glob(f"**/locale/{language}/LC_MESSAGES/*.po"):
                files.append((path.relative_to(Path(root).parent).as_posix(), path))
    return sorted(files)


def translation_pairs(
    language: str,
    min_words: int = 3,
    packages: tuple[str, ...] = CATALOG_PACKAGES,
    keep_inner_placeholders: bool = False,
) -> list[dict[str, str]]:
    """Clean, deduplicated ``{"source", "reference", "catalog"}`` pairs for English -> ``language``.

    A pair whose English or translation has a placeholder *between* words ("between %(a)s and
    %(b)s days") is skipped unless ``keep_inner_placeholders``: stripping it leaves a broken
    sentence ("between and days"). Placeholders at either end are stripped and the pair kept.
    """
    if language not in LANGUAGE_NAMES:
        raise DataError(
            f"language={language!r} has no catalog pairs here; pass one of {sorted(LANGUAGE_NAMES)}."
        )
    keep_space_before = "?!:;" if language == "fr" else ""
    pairs = []
    for catalog, path in catalog_files(language, packages):
        for entry in parse_po(path.read_text(encoding="utf-8")):
            translated = entry.msgstr.get(0, "")
            if not entry.msgid or not translated.strip() or entry.fuzzy:
                continue
            if not keep_inner_placeholders and (
                has_inner_placeholder(entry.msgid) or has_inner_placeholder(translated)
            ):
                continue
            source = strip_placeholders(entry.msgid)
            reference = strip_placeholders(translated, keep_space_before)
            if len(source.split()) < min_words or not reference or reference.casefold() == source.casefold():
                continue
            pairs.append({"source": source, "reference": reference, "catalog": catalog})
    return dedupe(pairs, key=("source",))


def load_translation(
    language: str = "de",
    *,
    min_words: int = 3,
    keep_inner_placeholders: bool = False,
    instruction: str = DEFAULT_INSTRUCTION,
    eval_size: int | float = 0.1,
    seed: int = 0,
) -> datasets.DatasetDict:
    """English -> ``language`` ("de" or "fr") pairs from the Django and Sphinx catalogs.

    Args:
        language: target language code.
        min_words: fewest English words a pair keeps (after placeholders are stripped).
        keep_inner_placeholders: also keep pairs whose placeholders sat between words (their
            stripped text is ungrammatical); see :func:`translation_pairs`.
        instruction: prompt template with ``{language}`` (e.g. "German") and ``{text}`` fields.
        eval_size: eval rows (int) or fraction (float).
        seed: split seed.

    Returns:
        ``DatasetDict(train, eval)`` with ``prompt`` (the instruction), ``source`` (English),
        ``reference`` (human translation) and ``catalog`` (where the pair came from).
    """
    pairs = translation_pairs(language, min_words, keep_inner_placeholders=keep_inner_placeholders)
    if not pairs:
        raise DataError(f"no {language!r} pairs with {min_words}+ English words were found; lower min_words.")
    name = LANGUAGE_NAMES[language]
    rows = [{"prompt": instruction.format(language=name, text=pair["source"]), **pair} for pair in pairs]
    return train_eval_split(datasets.Dataset.from_list(rows), eval_size, seed)
