"""Text helpers shared by the memory domain and reflection: sentences, and how
much of a claim's wording some sources support.

Sentences are split by Wikimedia's ``sentencex``; content words are compared by
their Snowball stems ("likes" matches "like"), stopwords left out.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any


def split_sentences(text: str) -> list[str]:
    """The sentences of a message, each stripped; blank pieces are dropped.

    Lines are split apart, then each line by Wikimedia's ``sentencex`` (English
    rules), which knows abbreviations ("Dr.", "St.", "e.g."), decimals and
    ellipses: "My doctor is Dr. Smith in St. Louis." stays one sentence.
    """
    import sentencex

    pieces: list[str] = []
    for line in text.splitlines():
        pieces.extend(sentencex.segment("en", line.strip()))
    return [p.strip() for p in pieces if p.strip()]


def first_sentence(text: str) -> str:
    """The first sentence of ``text``: a memory states one thing (and small models
    that loop repeat themselves after it)."""
    return split_sentences(text)[0] if text.strip() else text


_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)
#: Words that carry no content of their own, plus the words every memory uses
#: about its subject ("the user", "the assistant").
_STOPWORD_TEXT = """a about above after again against all am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers herself him himself his how
    i if in into is it its itself just me more most my myself no nor not now of off on
    once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves user user's users assistant assistant's
    also always never from now one ones get gets got i'm i've i'd i'll name named
    called"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@cache
def _stemmer() -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def words(text: str) -> list[str]:
    """The words of ``text`` in order, a possessive "'s" removed ("Ana's" -> "Ana")."""
    return [w.removesuffix("'s") for w in _WORD.findall(text)]


def content_stems(text: str) -> set[str]:
    """Snowball stems of the content words of ``text`` (stopwords left out)."""
    content = [w.lower() for w in words(text) if w.lower() not in STOPWORDS]
    return set(_stemmer().stemWords(content))


def grounding(claim: str, sources: list[str]) -> float:
    """The share of ``claim``'s content words (by stem) that occur in ``sources``.

    1.0 when the claim has no content words. A heuristic, not entailment: it
    catches invented names and copied examples, not a negated verb alone.
    """
    wanted = content_stems(claim)
    if not wanted:
        return 1.0
    have: set[str] = set()
    for source in sources:
        have |= content_stems(source)
    return len(wanted & have) / len(wanted)


def unsupported_names(claim: str, sources: list[str]) -> list[str]:
    """Names and numbers in ``claim`` (capitalised words past a sentence's start,
    digits) that no source contains, case-insensitively."""
    corpus = " ".join(sources).lower()
    missing = []
    for sentence in re.split(r"(?<=[.!?])\s+", claim):
        for index, word in enumerate(words(sentence)):
            named = (index > 0 and word[:1].isupper()) or any(c.isdigit() for c in word)
            if named and word.lower() not in STOPWORDS and word.lower() not in corpus:
                missing.append(word)
    return missing
