"""What the model writes when it reflects: one judgement per sentence, under a schema.

The model is shown the user's sentences (``S1``, ``S2``, ...) and the related
known memories (``M1``, ...) and writes, for each sentence, its label and first
words (:func:`anchor`, which keeps a small model's memories under the right
sentence) and up to :data:`MAX_PER_SENTENCE` memories with their operation. The
JSON schema (:func:`output_schema`) is built per call, so the backend's
constrained decoding (Ollama's ``format``, llama.cpp's grammar) makes even a
135M model write parseable JSON with no invented sentences or targets;
:func:`parse_output` validates it with pydantic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
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
