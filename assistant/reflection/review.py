"""What the last reflections changed, and undoing it.

Every applied reflection keeps its resolved changes in the conversation
database's journal (:mod:`assistant.reflection.journal`): the whole new value of
each memory and the value it replaced. That is enough to list them for review,
newest first, to tell whether each still holds, and to put the value before it
back. An undo only writes when the memory is still what the reflection left
(otherwise someone changed it since, and that change wins), and it writes in
one store batch: all of it or nothing.

A ``supersede`` and the ``create`` of its successor are one decision of the
model; :func:`linked` gives both, so undoing either restores the old memory and
removes the new one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from langgraph.store.base import PutOp

from assistant.conversations import ConversationStore
from assistant.errors import InputError
from assistant.memory.repository import Memories, StoredMemory
from assistant.memory.schemas import from_value
from assistant.reflection.journal import Change, Plan

ChangeState = Literal["current", "undone", "changed since"]
#: What each change op is called for people.
VERBS = {"create": "learned", "update": "updated", "supersede": "replaced", "delete": "retired"}


@dataclass(frozen=True, slots=True)
class ReviewedChange:
    """One journaled change, with the reflection it belongs to."""

    reflection_id: str
    thread_id: str
    at: datetime
    change: Change

    @property
    def verb(self) -> str:
        return VERBS[self.change.op]


def recent_changes(
    conversations: ConversationStore, *, reflections: int = 20
) -> list[ReviewedChange]:
    """The changes of the last ``reflections`` applied reflections, newest first
    (within one reflection, in the order they were written).

    Raises:
        StorageError: the database cannot be read.
    """
    found = []
    for record in conversations.applied_reflections(reflections):
        for change in Plan.changes_from_json(record.operations):
            found.append(ReviewedChange(record.id, record.thread_id, record.created_at, change))
    return found


def linked(change: ReviewedChange, among: Sequence[ReviewedChange]) -> list[ReviewedChange]:
    """``change`` and the changes of its reflection that belong with it: the
    successor of a ``supersede``, or the ``supersede`` whose successor it creates."""
    group = [change]
    for other in among:
        if other.reflection_id != change.reflection_id or other is change:
            continue
        c, o = change.change, other.change
        successor_of = o.op == "supersede" and o.value.get("superseded_by") == c.key
        if (c.op == "supersede" and c.value.get("superseded_by") == o.key) or successor_of:
            group.append(other)
    return group


def state(change: Change, current: StoredMemory | None) -> ChangeState:
    """Whether the memory is still what ``change`` wrote (``current``), back to
    what it was before (``undone``), or something else (``changed since``)."""
    if current is not None and current.memory == from_value(change.value):
        return "current"
    if change.op == "create":
        return "undone" if current is None else "changed since"
    before = change.before
    if before is not None and current is not None and current.memory == from_value(before):
        return "undone"
    return "changed since"


def undo(memories: Memories, changes: Sequence[Change]) -> int:
    """Put back what ``changes`` replaced (delete what they created), in one store
    batch; returns how many memories were written.

    Raises:
        InputError: a memory is no longer what its change wrote (undone already,
            or changed since); nothing is written.
        StorageError: the store cannot be written.
    """
    ops: list[PutOp] = []
    for change in changes:
        current = memories.get(change.key)
        found = state(change, current)
        if found != "current":
            text = change.text or change.key
            raise InputError(
                f"Not undone: “{text}” is {'undone already' if found == 'undone' else found}."
            )
        if change.op == "create" or change.before is None:
            ops.append(memories.delete_op(change.key, change.kind))
        else:
            ops.append(memories.put_op(change.key, from_value(change.before)))
    if ops:
        memories.store.batch(ops)
    return len(ops)
