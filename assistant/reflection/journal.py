"""What a reflection decides and how it went: the records the journal keeps.

A :class:`Plan` holds the resolved :class:`Change` objects of one reflection;
its JSON is what the conversation database journals before the store is
written (so an interrupted run can write the same values again), and a
:class:`ReflectionResult` is what callers (the CLI, the TUI, the scheduler) get.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from assistant.memory.schemas import MemoryKind

ChangeOp = Literal["create", "update", "supersede", "delete"]
Origin = Literal["model", "safety net"]


@dataclass(frozen=True, slots=True)
class Change:
    """One resolved write, as journaled: the whole new value and the one it replaces.

    ``op`` is ``create`` (a new memory), ``update`` (same key, new content),
    ``supersede`` (the old memory, now invalid, pointing at its successor, which is
    a ``create`` of its own) or ``delete`` (the model retired it: ``invalid_at``).
    ``origin`` says whose reading of the sentence it is: the ``model``'s, or the
    deterministic ``safety net``'s (a behaviour request or a self-disclosure the
    model missed, kept in the user's words).
    """

    op: ChangeOp
    kind: MemoryKind
    key: str
    value: dict[str, Any]
    before: dict[str, Any] | None = None
    evidence: str = ""
    origin: Origin = "model"

    @property
    def text(self) -> str:
        return str(self.value.get("text", ""))


@dataclass
class Plan:
    """What one reflection decided: changes to write and judgements dropped (with why)."""

    changes: list[Change] = field(default_factory=list)
    dropped: list[dict[str, str]] = field(default_factory=list)
    raw_outputs: list[str] = field(default_factory=list)
    model_calls: int = 0
    tokens: int = 0

    def to_json(self) -> str:
        return json.dumps({"changes": [asdict(c) for c in self.changes], "dropped": self.dropped})

    @staticmethod
    def changes_from_json(text: str | None) -> list[Change]:
        data = json.loads(text or "{}")
        return [Change(**c) for c in data.get("changes", [])]


@dataclass(frozen=True, slots=True)
class ReflectionResult:
    """How a reflection went.

    ``status``: ``applied`` (changes written, cursor advanced; maybe no changes),
    ``nothing`` (no new messages), ``incognito`` (the thread is private; its
    cursor moved on, nothing remembered) or ``failed`` (``error`` says why; the
    store and the cursor are untouched).
    """

    thread_id: str | None
    status: Literal["applied", "nothing", "incognito", "failed"]
    changes: tuple[Change, ...] = ()
    model_calls: int = 0
    tokens: int = 0
    error: str | None = None
    recovered: bool = False
    """A journaled reflection interrupted before its end was completed first."""

    def count(self, op: ChangeOp) -> int:
        return sum(1 for c in self.changes if c.op == op)

    @property
    def summary(self) -> str:
        """One line for people: "learned 2, updated 1", "nothing new", "failed: ..."."""
        if self.status == "failed":
            return f"failed: {self.error}"
        if self.status == "incognito":
            return "incognito: nothing remembered"
        parts = [
            f"{verb} {n}"
            for verb, n in (
                ("learned", self.count("create") - self.count("supersede")),
                ("updated", self.count("update")),
                ("replaced", self.count("supersede")),
                ("retired", self.count("delete")),
            )
            if n
        ]
        return ", ".join(parts) or "nothing new"


class ReflectionFailed(Exception):
    """The model gave no valid answer within the attempts (or could not be called)."""

    def __init__(self, error: str, raw_output: str | None, model_calls: int, tokens: int):
        super().__init__(error)
        self.raw_output = raw_output
        self.model_calls = model_calls
        self.tokens = tokens
