"""The three kinds of long-term memory, as pydantic models.

The kinds follow the usual split of the field (CoALA, Sumers et al. 2023, and
LangMem's memory types): **semantic** memory holds facts, **episodic** memory
holds experiences with their lesson, **procedural** memory holds rules for the
assistant's own behaviour.

A memory is stored as one item of a LangGraph ``BaseStore``: its value is
``memory.to_value()``, a JSON object with every field plus ``text``, the rendering
that gets embedded (the store indexes the ``text`` field only). ``from_value``
reads it back and validates it.

Validity in time follows the bi-temporal habit of knowledge graphs (Zep/Graphiti):
a fact holds from ``valid_from``; when a newer fact contradicts it, it gets
``invalid_at`` and ``superseded_by`` and stays in history instead of vanishing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from assistant import formats

MemoryKind = Literal["semantic", "episodic", "procedural"]
KINDS: tuple[MemoryKind, ...] = ("semantic", "episodic", "procedural")
#: What each kind is called to the user (the TUI, the CLI, ``fact:`` prefixes).
KIND_NAMES: dict[MemoryKind, str] = {
    "semantic": "fact",
    "episodic": "experience",
    "procedural": "rule",
}
#: A memory's text longer than this is refused: memories are short statements.
MAX_FIELD_CHARS = 2_000


def utcnow() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


Text = Annotated[str, Field(min_length=1, max_length=MAX_FIELD_CHARS)]


class Provenance(BaseModel):
    """Where a memory came from.

    ``source`` is ``"reflection"`` (extracted from a conversation: ``thread_id``
    and the ``message_ids`` it was formed from), ``"user"`` (typed by hand) or
    ``"import"`` (read from an export file).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["reflection", "user", "import"] = "user"
    thread_id: str | None = None
    message_ids: tuple[int, ...] = ()

    @model_validator(mode="after")
    def _reflection_has_thread(self) -> Provenance:
        if self.source == "reflection" and not self.thread_id:
            raise ValueError("a memory formed by reflection needs the thread it came from")
        return self


class MemoryBase(BaseModel):
    """Fields every memory carries, whatever its kind."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_assignment=True)

    provenance: Provenance = Field(default_factory=Provenance)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    valid_from: datetime = Field(default_factory=utcnow)
    invalid_at: datetime | None = None
    superseded_by: str | None = None
    pinned: bool = False
    """Always recalled, whatever the query."""
    muted: bool = False
    """Never recalled; kept and shown in the memory pane."""

    @field_validator("created_at", "updated_at", "valid_from", "invalid_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("times must carry a timezone (UTC)")
        return value

    @property
    def active(self) -> bool:
        """Whether the memory holds now: not invalidated or superseded."""
        return self.invalid_at is None and self.superseded_by is None

    def render(self) -> str:
        """The text that is embedded and shown to the model."""
        raise NotImplementedError

    def to_value(self) -> dict[str, Any]:
        """The JSON object stored as the item's value (all fields plus ``text``)."""
        value = self.model_dump(mode="json")
        value["text"] = self.render()
        return value


class SemanticMemory(MemoryBase):
    """A fact about the user or their world: "The user's dog is called Fido"."""

    kind: Literal["semantic"] = "semantic"
    subject: Text
    """What the fact is about: "the user", "the user's dog"."""
    fact: Text
    confidence: float | None = Field(default=None, ge=0, le=1)

    def render(self) -> str:
        return self.fact


class EpisodicMemory(MemoryBase):
    """An experience: what the situation was, what was done, how it went, the lesson."""

    kind: Literal["episodic"] = "episodic"
    situation: Text
    action: Text
    outcome: Text
    lesson: Text | None = None

    def render(self) -> str:
        parts = [f"Situation: {self.situation}", f"Action: {self.action}"]
        parts.append(f"Outcome: {self.outcome}")
        if self.lesson:
            parts.append(f"Lesson: {self.lesson}")
        return " ".join(parts)


class ProceduralMemory(MemoryBase):
    """A rule or preference for the assistant's behaviour: "Answer in metric units"."""

    kind: Literal["procedural"] = "procedural"
    rule: Text
    scope: Annotated[str, Field(min_length=1, max_length=200)] = "always"
    """``"always"``, or the topic the rule applies to ("cooking", "code")."""

    def render(self) -> str:
        if self.scope == "always":
            return self.rule
        return f"When the topic is {self.scope}: {self.rule}"


AnyMemory = SemanticMemory | EpisodicMemory | ProceduralMemory
#: The model of each kind.
MODELS: dict[MemoryKind, type[AnyMemory]] = {
    "semantic": SemanticMemory,
    "episodic": EpisodicMemory,
    "procedural": ProceduralMemory,
}
Memory = Annotated[AnyMemory, Field(discriminator="kind")]
_MEMORY = TypeAdapter(Memory)


def from_value(value: dict[str, Any]) -> AnyMemory:
    """Validate a stored value back into its memory model.

    Raises:
        pydantic.ValidationError: the value is not a valid memory of a known kind.
    """
    fields = {k: v for k, v in value.items() if k != "text"}
    return _MEMORY.validate_python(fields)


def validation_problems(error: ValidationError) -> str:
    """A memory's pydantic error as one line: ``field: reason; field: reason``."""
    return formats.validation_problems(error, whole="memory")


def content_fields(kind: MemoryKind) -> tuple[str, ...]:
    """The fields that hold what a memory of ``kind`` says (``fact``, ``rule``, ...),
    in schema order: what a form asks for."""
    common = MemoryBase.model_fields.keys() | {"kind"}
    return tuple(name for name in MODELS[kind].model_fields if name not in common)
