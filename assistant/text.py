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
    catches invented names and copied examples; a negated verb alone is caught by
    :func:`same_polarity`.
    """
    wanted = content_stems(claim)
    if not wanted:
        return 1.0
    have: set[str] = set()
    for source in sources:
        have |= content_stems(source)
    return len(wanted & have) / len(wanted)


_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nobody|nothing|nowhere|neither|nor|cannot|without)\b|n't\b"
    r"|\bno longer\b",
    re.IGNORECASE,
)
#: Where a sentence's clauses part: punctuation, and the words that join clauses.
_CLAUSE = re.compile(r"[,;:]\s*|\s+(?:but|and|although|though|whereas|while)\s+", re.IGNORECASE)


def negated(text: str) -> bool:
    """Whether ``text`` holds a negation ("not", "n't", "never", "no", ...)."""
    return bool(_NEGATION.search(text.replace("\u2019", "'")))


def clauses(text: str) -> list[str]:
    """The clauses of a sentence, split at punctuation and at "but", "and", ...
    (no parsing: a cut good enough to tell which part a claim comes from)."""
    return [c.strip() for c in _CLAUSE.split(text) if c.strip()]


def same_polarity(claim: str, sentence: str) -> bool:
    """Whether ``claim`` says yes where ``sentence`` says yes, and no where it says
    no: the clause of the sentence that shares most of the claim's words is
    negated exactly when the claim is ("I am not a smoker." never supports "The
    user is a smoker."). A claim sharing no word with the sentence passes (the
    grounding check is the one that fails it)."""
    wanted = content_stems(claim)
    best, overlap = None, 0
    for clause in clauses(sentence):
        shared = len(wanted & content_stems(clause))
        if shared > overlap:
            best, overlap = clause, shared
    return best is None or negated(best) == negated(claim)


def details(text: str) -> set[str]:
    """The names and numbers of ``text`` (capitalised words past a sentence's
    start, words with digits), lowercased: what tells one fact from another of
    the same shape ("on Monday" and "on Friday")."""
    found: set[str] = set()
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        for index, word in enumerate(words(sentence)):
            named = (index > 0 and word[:1].isupper()) or any(c.isdigit() for c in word)
            if named and word.lower() not in STOPWORDS:
                found.add(word.lower())
    return found


def changes_details(old: str, new: str) -> bool:
    """Whether ``new`` replaces a name or number of ``old`` with another (a changed
    fact, not a restatement): each has one the other lacks."""
    before, after = details(old), details(new)
    return bool(before - after) and bool(after - before)


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
