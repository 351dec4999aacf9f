"""Words as the connector compares them: an ask's key terms and a declared topic's.

Member text is lower-cased, split into words, stripped of English stop words (the
list PostgreSQL's `english` text-search configuration uses, so both databases and the
core agree on what carries no meaning), and stemmed with the Snowball English stemmer,
so that "profiling" matches "profile" and "tests" matches "testing".
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer  # type: ignore[import-untyped]

MAX_TERMS = 24  # an ask of 3,000 characters is searched by its first distinct words

# PostgreSQL's tsearch_data/english.stop (the Snowball project's English stop words).
_STOP_LIST = """
    i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what
    which who whom this that these those am is are was were be been being have has had
    having do does did doing a an the and but if or because as until while of at by for
    with about against between into through during before after above below to from up
    down in out on off over under again further then once here there when where why how
    all any both each few more most other some such no nor not only own same so than too
    very s t can will just don should now
"""
STOP_WORDS = frozenset(_STOP_LIST.split())

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_STEMMER = snowballstemmer.stemmer("english")


def words(text: str) -> list[str]:
    """The distinct meaningful words of `text`, lower-cased, in order (no stop words,
    no single letters, no mention or channel ids)."""
    text = re.sub(r"<[@#][^<>\s]+>", " ", text)
    found: dict[str, None] = {}
    for match in _WORD.finditer(text.lower()):
        word = match.group(0).replace("’", "'").split("'")[0]
        if len(word) > 1 and word not in STOP_WORDS:
            found.setdefault(word)
        if len(found) >= MAX_TERMS:
            break
    return list(found)


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    stemmed: str = _STEMMER.stemWord(word)
    return stemmed


def stems(text: str) -> list[str]:
    """The distinct stems of the meaningful words of `text`, in order."""
    return list(dict.fromkeys(stem(w) for w in words(text)))
