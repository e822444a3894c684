"""What the model writes when it reflects, and the checks its output must pass.

Reflection shows the model the user's sentences, numbered ``S1``, ``S2``, ...,
and asks for one judgement per sentence: the memory it gives (or ``null``), the
action (``none``, ``create``, ``update``, ``supersede``, ``delete``) and, for the
last three, the known memory it acts on (``M1``, ...). The JSON schema
(:func:`output_schema`) is built for each call with exactly one item per
sentence and the known ids as an enum, and handed to the backend, which
constrains decoding to it (Ollama's ``format``, llama.cpp's grammar from
``response_format``). So even a 135M-parameter model writes parseable JSON and
cannot skip or invent sentences or targets; pydantic then validates the result
(:func:`parse_output`).

One judgement per sentence, with the memory written before the action, is what
made SmolLM2-135M useful at all: given a free list of operations it mostly
copied the prompt's example. It still invents, so :func:`grounding` measures how
much of a memory's wording the user's sentences support (Snowball stems, so
"likes" matches "like"), names and numbers must occur in them
(:func:`unsupported_names`), and reflection drops a memory that fails.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.memory.schemas import (
    EpisodicMemory,
    ProceduralMemory,
    Provenance,
    SemanticMemory,
)

#: The longest memory text the model may write, in characters (short ones also
#: keep small models out of repetition loops).
MAX_MEMORY_CHARS = 160

Line = Annotated[str, Field(min_length=1, max_length=MAX_MEMORY_CHARS)]
Action = Literal["none", "create", "update", "supersede", "delete"]
ACTIONS: tuple[Action, ...] = get_args(Action)


class _Draft(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FactDraft(_Draft):
    """A semantic memory as the model writes it."""

    kind: Literal["semantic"]
    fact: Line

    def build(self, provenance: Provenance) -> SemanticMemory:
        return SemanticMemory(subject="the user", fact=self.fact, provenance=provenance)

    @property
    def text(self) -> str:
        return self.fact


class RuleDraft(_Draft):
    """A procedural memory as the model writes it."""

    kind: Literal["procedural"]
    rule: Line

    def build(self, provenance: Provenance) -> ProceduralMemory:
        return ProceduralMemory(rule=self.rule, provenance=provenance)

    @property
    def text(self) -> str:
        return self.rule


class EpisodeDraft(_Draft):
    """An episodic memory as the model writes it."""

    kind: Literal["episodic"]
    situation: Line
    action: Line
    outcome: Line
    lesson: Line

    def build(self, provenance: Provenance) -> EpisodicMemory:
        return EpisodicMemory(**self.model_dump(exclude={"kind"}), provenance=provenance)

    @property
    def text(self) -> str:
        return " ".join([self.situation, self.action, self.outcome, self.lesson])


AnyDraft = FactDraft | RuleDraft | EpisodeDraft
Draft = Annotated[AnyDraft, Field(discriminator="kind")]


class Judgement(_Draft):
    """The model's verdict on one of the user's sentences."""

    sentence: str
    memory: Draft | None
    action: Action
    target: str = ""
    """The id of a known memory as shown in the prompt ("M1"); "" when none."""


class ReflectionOutput(_Draft):
    """The model's whole answer: one judgement per sentence, in order."""

    sentences: list[Judgement]


class OutputError(ValueError):
    """The model's output is not JSON of the reflection schema."""


def sentence_id(index: int) -> str:
    """The label of the ``index``-th sentence (0-based) in the prompt: ``S1``, ..."""
    return f"S{index + 1}"


def known_id(index: int) -> str:
    """The label of the ``index``-th known memory (0-based) in the prompt: ``M1``, ..."""
    return f"M{index + 1}"


def _drafts_schema() -> list[dict[str, Any]]:
    """Each draft model as a flat object (its kind a ``const``, its texts bounded),
    then ``null``: what the grammar lets the model write as a sentence's memory."""
    text = {"type": "string", "minLength": 1, "maxLength": MAX_MEMORY_CHARS}
    objects = []
    for draft in get_args(AnyDraft):
        fields = [name for name in draft.model_fields if name != "kind"]
        (kind,) = get_args(draft.model_fields["kind"].annotation)
        properties = {"kind": {"const": kind}, **dict.fromkeys(fields, text)}
        objects.append({"type": "object", "properties": properties, "required": list(properties)})
    return [*objects, {"type": "null"}]


def output_schema(sentences: int, known: int) -> dict[str, Any]:
    """The JSON schema of the answer for ``sentences`` sentences and ``known`` known
    memories: an array of exactly one judgement per sentence (``prefixItems``),
    each naming its sentence, every field required and in a fixed order.

    Follows JSON Schema 2020-12 as far as grammar converters take it (llama.cpp's
    ``json_schema_to_grammar``, which Ollama also uses): ``const``, ``enum``,
    ``anyOf``, ``prefixItems``, ``minItems``/``maxItems``, ``maxLength``.
    """
    targets = ["", *(known_id(i) for i in range(known))]
    items = [
        {
            "type": "object",
            "properties": {
                "sentence": {"const": sentence_id(i)},
                "memory": {"anyOf": _drafts_schema()},
                "action": {"enum": list(ACTIONS)},
                "target": {"enum": targets},
            },
            "required": ["sentence", "memory", "action", "target"],
        }
        for i in range(sentences)
    ]
    array = {"type": "array", "prefixItems": items, "minItems": sentences, "maxItems": sentences}
    return {"type": "object", "properties": {"sentences": array}, "required": ["sentences"]}


def parse_output(text: str, sentences: int) -> list[Judgement | None]:
    """Validate the model's raw output; the judgement of each sentence, in order.

    A sentence the output does not judge gets ``None``.

    Raises:
        OutputError: not JSON, JSON that breaks the schema, or no judgement of any
            sentence; the message says where.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OutputError(f"not JSON ({exc.msg} at character {exc.pos})") from exc
    try:
        output = ReflectionOutput.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the top level"
        raise OutputError(f"{first['msg']} at {where} ({exc.error_count()} problems)") from exc
    found: list[Judgement | None] = [None] * sentences
    for judgement in output.sentences:
        match = re.fullmatch(r"S(\d+)", judgement.sentence.strip())
        index = int(match.group(1)) - 1 if match else -1
        if 0 <= index < sentences and found[index] is None:
            found[index] = judgement
    if sentences and not any(found):
        raise OutputError(f"no judgement names one of the sentences S1..S{sentences}")
    return found


def split_sentences(text: str) -> list[str]:
    """The sentences of a message: split at line breaks and after ``.``, ``!`` or
    ``?`` followed by a space. Blank pieces are dropped."""
    pieces: list[str] = []
    for line in text.splitlines():
        pieces.extend(re.split(r"(?<=[.!?])\s+(?=\S)", line.strip()))
    return [p.strip() for p in pieces if p.strip()]


_REQUEST = re.compile(
    r"^(?:(?:from now on|in (?:the )?future|going forward|henceforth)\b[,:]?\s*"
    r"(?:please\s+)?|please\s+(?=always|never|don'?t|do not|stop|use|answer|reply|call|keep)"
    r"|(?=(?:always|never|don'?t|do not)\s+\w))",
    re.IGNORECASE,
)


_DISCLOSURE = re.compile(
    r"^(?:(?:my|our) \w+"
    r"|(?:i am|i'm) (?:a|an|from|allergic|vegan|vegetarian)\b"
    r"|i (?:live|work|grew up|was born|study|studied)\b"
    r"|i (?:like|love|hate|prefer|enjoy|dislike|can't stand|cannot stand)\b"
    r"|i (?:have|own|had) (?:a|an|two|three|four|\d+)\b)",
    re.IGNORECASE,
)


def self_disclosure(sentence: str) -> str | None:
    """The sentence, when it is one in which the user tells about themselves ("My
    dog's name is Fido.", "I'm a nurse.", "I live in Lyon."), else ``None``.

    A deterministic safety net for models too small to see it: what it keeps is
    the user's own words, never a paraphrase.
    """
    text = sentence.strip()
    if text.endswith("?") or len(text.split()) < 3 or not _DISCLOSURE.match(text):
        return None
    return text if text[-1] in ".!" else f"{text}."


#: How a sentence in the first person starts.
_FIRST_PERSON = ("i ", "i'm ", "i've ", "i'd ", "i'll ", "my ", "we ", "our ", "we're ")


def first_person(text: str) -> bool:
    """Whether ``text`` starts in the first person ("I ...", "My ...", "We ...")."""
    return text.strip().lower().startswith(_FIRST_PERSON)


def users_statement(text: str) -> str:
    """A first-person fact kept in the user's own words, attributed to them
    ("I'm a nurse" -> 'The user said: "I'm a nurse."'), so that a prompt never
    shows a bare "I" that the model could take for itself."""
    text = text.strip()
    return f'The user said: "{text if text[-1] in ".!?" else f"{text}."}"'


def first_sentence(text: str) -> str:
    """The first sentence of ``text``: a memory states one thing (and small models
    that loop repeat themselves after it)."""
    return split_sentences(text)[0] if text.strip() else text


def behaviour_request(sentence: str) -> str | None:
    """The rule in a sentence that asks the assistant to behave a certain way from
    now on ("From now on, answer in metric units." -> "Answer in metric units."),
    or ``None``. A deterministic safety net for models too small to see it."""
    match = _REQUEST.match(sentence.strip())
    if not match:
        return None
    rule = sentence.strip()[match.end() :].strip()
    if len(rule.split()) < 2:
        return None
    rule = rule[0].upper() + rule[1:]
    return rule if rule[-1] in ".!?" else f"{rule}."


# Grounding -------------------------------------------------------------------------------

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
    also always never from now one ones get gets got i'm i've i'd i'll"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@cache
def _stemmer() -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def _words(text: str) -> list[str]:
    return [w.removesuffix("'s") for w in _WORD.findall(text)]


def content_stems(text: str) -> set[str]:
    """Snowball stems of the content words of ``text`` (stopwords left out)."""
    words = [w.lower() for w in _words(text) if w.lower() not in _STOPWORDS]
    return set(_stemmer().stemWords(words))


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
        for index, word in enumerate(_words(sentence)):
            named = (index > 0 and word[:1].isupper()) or any(c.isdigit() for c in word)
            if named and word.lower() not in _STOPWORDS and word.lower() not in corpus:
                missing.append(word)
    return missing


def quote_found(evidence: str, sources: list[str], *, threshold: float = 80.0) -> int | None:
    """The index of the source that contains ``evidence`` (fuzzily, rapidfuzz's
    ``partial_ratio`` >= ``threshold`` out of 100), or ``None``."""
    from rapidfuzz import fuzz

    quote = evidence.strip().lower()
    if len(quote) < 3:
        return None
    best, where = 0.0, None
    for index, source in enumerate(sources):
        score = fuzz.partial_ratio(quote, source.lower())
        if score > best:
            best, where = score, index
    return where if best >= threshold else None
