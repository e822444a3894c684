"""What the model writes when it reflects, and the checks its output must pass.

Reflection shows the model the user's sentences, numbered ``S1``, ``S2``, ...,
and asks for one judgement per sentence, which starts with the sentence's label
and first words (:func:`anchor`) and lists up to :data:`MAX_PER_SENTENCE`
memories, each with its operation (``create``, ``update``, ``supersede``,
``delete``) and the known memory it acts on (``M1``, ...). The JSON schema
(:func:`output_schema`) is built for each call with exactly one item per
sentence and the known ids as an enum, and handed to the backend, which
constrains decoding to it (Ollama's ``format``, llama.cpp's grammar from
``response_format``). So even a 135M-parameter model writes parseable JSON and
cannot skip or invent sentences or targets; pydantic then validates the result
(:func:`parse_output`). Writing the anchor keeps a small model's memories under
the sentence they came from (without it, Qwen2.5-1.5B put a later sentence's
rule under the first one).

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
from collections.abc import Sequence
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
Op = Literal["create", "update", "supersede", "delete"]
OPS: tuple[Op, ...] = get_args(Op)
#: The most memories the model may draw from one sentence.
MAX_PER_SENTENCE = 4


class _Draft(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    op: Op = "create"
    """What to do: a new memory, or one acting on the known memory ``target``."""
    target: str = ""
    """The id of a known memory as shown in the prompt ("M1"); "" when none."""


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
        fields = self.model_dump(exclude={"kind", "op", "target"})
        return EpisodicMemory(**fields, provenance=provenance)

    @property
    def text(self) -> str:
        return " ".join([self.situation, self.action, self.outcome, self.lesson])


AnyDraft = FactDraft | RuleDraft | EpisodeDraft
Draft = Annotated[AnyDraft, Field(discriminator="kind")]


class Judgement(BaseModel):
    """The model's verdict on one of the user's sentences: the memories it gives
    (none for questions, greetings and small talk)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sentence: str
    memories: list[Draft] = Field(default_factory=list, max_length=MAX_PER_SENTENCE)


class ReflectionOutput(BaseModel):
    """The model's whole answer: one judgement per sentence, in order."""

    model_config = ConfigDict(extra="forbid")

    sentences: list[Judgement]


class OutputError(ValueError):
    """The model's output is not JSON of the reflection schema."""


def sentence_id(index: int) -> str:
    """The label of the ``index``-th sentence (0-based) in the prompt: ``S1``, ..."""
    return f"S{index + 1}"


#: How many of a sentence's first words its judgement repeats.
ANCHOR_WORDS = 6


def anchor(index: int, sentence: str) -> str:
    """What a judgement must start with: the sentence's label and first words
    ("S2: Next Tuesday [2026-12-08] I have..."). Writing them (the grammar makes
    it a constant) puts the sentence right before the memories drawn from it, so
    a small model no longer gives one sentence's memories under another's label."""
    words = sentence.split()
    head = " ".join(words[:ANCHOR_WORDS]) + (" ..." if len(words) > ANCHOR_WORDS else "")
    return f"{sentence_id(index)}: {head}"


def known_id(index: int) -> str:
    """The label of the ``index``-th known memory (0-based) in the prompt: ``M1``, ..."""
    return f"M{index + 1}"


def _drafts_schema(targets: list[str]) -> list[dict[str, Any]]:
    """Each draft model as a flat object (its kind a ``const``, its texts bounded,
    then ``op`` and ``target``): what the grammar lets the model write as one memory."""
    text = {"type": "string", "minLength": 1, "maxLength": MAX_MEMORY_CHARS}
    objects = []
    for draft in get_args(AnyDraft):
        fields = [name for name in draft.model_fields if name not in ("kind", "op", "target")]
        (kind,) = get_args(draft.model_fields["kind"].annotation)
        properties = {
            "kind": {"const": kind},
            **dict.fromkeys(fields, text),
            "op": {"enum": list(OPS)},
            "target": {"enum": targets},
        }
        objects.append({"type": "object", "properties": properties, "required": list(properties)})
    return objects


def output_schema(sentences: Sequence[str], known: int) -> dict[str, Any]:
    """The JSON schema of the answer for ``sentences`` (as shown to the model) and
    ``known`` known memories: an array of exactly one judgement per sentence
    (``prefixItems``), each starting with the sentence's :func:`anchor` and
    listing up to :data:`MAX_PER_SENTENCE` memories, every field required and in
    a fixed order.

    Follows JSON Schema 2020-12 as far as grammar converters take it (llama.cpp's
    ``json_schema_to_grammar``, which Ollama also uses): ``const``, ``enum``,
    ``anyOf``, ``prefixItems``, ``minItems``/``maxItems``, ``maxLength``.
    """
    targets = ["", *(known_id(i) for i in range(known))]
    memory = {"anyOf": _drafts_schema(targets)}
    items = [
        {
            "type": "object",
            "properties": {
                "sentence": {"const": anchor(i, text)},
                "memories": {"type": "array", "items": memory, "maxItems": MAX_PER_SENTENCE},
            },
            "required": ["sentence", "memories"],
        }
        for i, text in enumerate(sentences)
    ]
    count = len(sentences)
    array = {"type": "array", "prefixItems": items, "minItems": count, "maxItems": count}
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
        match = re.match(r"S(\d+)\b", judgement.sentence.strip())
        index = int(match.group(1)) - 1 if match else -1
        if 0 <= index < sentences and found[index] is None:
            found[index] = judgement
    if sentences and not any(found):
        raise OutputError(f"no judgement names one of the sentences S1..S{sentences}")
    return found


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


_REQUEST = re.compile(
    r"^(?:(?:from now on|in (?:the )?future|going forward|henceforth)\b[,:]?\s*"
    r"(?:please\s+)?|please\s+(?=always|never|don'?t|do not|stop|use|answer|reply|call|keep)"
    r"|(?=(?:always|never|don'?t|do not)\s+\w))",
    re.IGNORECASE,
)

#: Words that show a sentence is about how the assistant answers or behaves.
_BEHAVIOUR = re.compile(
    r"\b(?:answers?|answering|repl(?:y|ies)|respon(?:d|ses?)|explain\w*|explanations?|"
    r"summar\w+|format\w*|bullets?|lists?|tables?|code|examples?|emojis?|words|sentences?|"
    r"paragraphs?|language|english|french|german|spanish|portuguese|italian|metric|imperial|"
    r"units?|celsius|fahrenheit|tone|formal|informal|casual|brief(?:ly)?|short(?:er)?|"
    r"concise(?:ly)?|detail(?:ed|s)?|verbose|jargon|markdown|call me|address me|remind me|"
    r"ask me|tell me|talk to me|speak|write)\b",
    re.IGNORECASE,
)
#: Words to someone else: a person addressed by name ("Take care, Sam!"), or
#: encouragement ("You got this!", "You can do it").
_ELSEWHERE = re.compile(
    r",\s*[A-Z][a-z]+[!.?]*$|(?i:\byou(?:'ve)? got this\b|\byou can do (?:it|this)\b)"
)


def addresses_assistant(sentence: str) -> bool:
    """Whether ``sentence`` asks the assistant to behave a certain way: it speaks of
    answers, formats, languages, units or the assistant itself, and is addressed
    to no one else by name. Encouragement ("Don't forget, you got this!") and
    words to other people ("Take care, Sam!") are not requests to the assistant.
    """
    text = sentence.strip()
    return not _ELSEWHERE.search(text) and bool(_BEHAVIOUR.search(text))


_DISCLOSURE = re.compile(
    r"^(?:(?:my|our) \w+"
    r"|(?:i am|i'm) (?:a|an|from|allergic|vegan|vegetarian)\b"
    r"|i (?:live|work|grew up|was born|study|studied)\b"
    r"|i (?:like|love|hate|prefer|enjoy|dislike|can't stand|cannot stand)\b"
    r"|i (?:have|own|had) (?:a|an|two|three|four|\d+)\b)",
    re.IGNORECASE,
)
#: Words that say nothing on their own: a disclosure needs more than these.
_VAGUE = frozenset(
    """it this that these those them they thing things stuff one lot so much really
    too very well here there now then always just""".split()  # noqa: SIM905
)


def self_disclosure(sentence: str) -> str | None:
    """The sentence, when it is one in which the user tells about themselves ("My
    dog's name is Fido.", "I'm a nurse.", "I live in Lyon."), else ``None``.
    "I love it." tells nothing on its own (what is "it"?) and is not one.

    A deterministic safety net for models too small to see it: what it keeps is
    the user's own words, never a paraphrase.
    """
    text = sentence.strip()
    match = _DISCLOSURE.match(text)
    if text.endswith("?") or len(text.split()) < 3 or not match:
        return None
    rest = [w.lower() for w in _words(text[match.end() :])]
    if not [w for w in rest if w not in _STOPWORDS and w not in _VAGUE]:
        return None
    return text if text[-1] in ".!" else f"{text}."


_NAME = re.compile(
    r"\b(?:my name is|my name's|call me|i'm called|i am called"
    r"|(?:i'm|i am)(?=\s+[A-Z]\w*\s*(?:[,.!]|$|and\b)))"
    r"\s+([A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b",
    re.IGNORECASE,
)
#: Capitalised words that follow "I'm" and are not names.
_NOT_NAMES = frozenset(
    """fine good okay ok great sorry sure back home here ready done new tired happy
    british english american french german italian spanish portuguese dutch irish
    scottish welsh canadian australian brazilian mexican chinese japanese indian
    catholic christian jewish muslim buddhist hindu vegan vegetarian single married""".split()  # noqa: SIM905
)


def own_name(sentence: str) -> str | None:
    """The user's name, when ``sentence`` tells it ("I'm Marta, a nurse", "My name
    is Joao", "Call me Sam"), else ``None``. The name must be written with a
    capital; a nationality or a state ("I'm French.", "I'm Tired.") is no name."""
    match = _NAME.search(sentence)
    if match is None or not match.group(1)[0].isupper():
        return None
    name = match.group(1)
    return None if name.lower() in _NOT_NAMES else name


_RELATIVE = re.compile(
    r"\b[Mm]y (partner|wife|husband|girlfriend|boyfriend|fianc[eé]e?|sister|brother|mother|"
    r"mum|mom|father|dad|son|daughter|aunt|uncle|cousin|niece|nephew|grandmother|"
    r"grandfather|friend|best friend|boss|colleague|flatmate|roommate|neighbour|neighbor|"
    r"dog|cat|doctor|teacher)(?:,)? (?!(?:Dr|Mr|Mrs|Ms|Mx|Prof|St)\b)"
    r"([A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b"
)


def named_relations(sentence: str) -> list[tuple[str, str]]:
    """The people (and pets) ``sentence`` names with their relation to the user,
    as ``(relation, name)``: "moved with my partner Joao" -> [("partner", "Joao")].
    The name must follow the relation and be written with a capital; a title
    ("my doctor, Dr. Patel") is no name."""
    return [(m.group(1), m.group(2)) for m in _RELATIVE.finditer(sentence)]


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
    explicit = bool(match.group(0).strip())  # "from now on", "in future", "please"
    if _ELSEWHERE.search(sentence.strip()) or not (explicit or addresses_assistant(sentence)):
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
    also always never from now one ones get gets got i'm i've i'd i'll name named
    called"""
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
