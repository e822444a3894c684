"""The memory pane's detail view: every field of one memory, where it came from,
and what it replaced or was replaced by."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from assistant.formats import terminal_safe
from assistant.memory.schemas import KIND_NAMES
from tui.widgets.memory_browser import when

if TYPE_CHECKING:
    from assistant.memory.catalog import MemoryCatalog
    from assistant.memory.repository import StoredMemory

#: The fields the detail view does not list as they are (shown otherwise, or not).
HIDDEN_FIELDS = {
    "kind",
    "provenance",
    "pinned",
    "muted",
    "superseded_by",
    "created_at",
    "updated_at",
    "valid_from",
    "invalid_at",
}


class MemoryDetail(VerticalScroll):
    """The memory under the table's cursor, or why there is none."""

    def __init__(self) -> None:
        super().__init__(id="memory-detail")

    def compose(self) -> ComposeResult:
        yield Static("", id="detail-body", markup=False)

    def show(self, stored: StoredMemory | None, catalog: MemoryCatalog) -> None:
        """Show ``stored`` (its history and sources from ``catalog``); ``None``: say
        why nothing is (loading, nothing matches, nothing remembered yet)."""
        body = self.query_one("#detail-body", Static)
        if stored is not None:
            body.update(detail(stored, catalog))
        elif not catalog.complete:
            body.update("Loading…")
        elif not len(catalog):
            body.update(
                "Nothing remembered yet. Memories form when a conversation goes quiet, "
                "or press a to add one."
            )
        else:
            body.update("No memory matches.")


def detail(stored: StoredMemory, catalog: MemoryCatalog) -> Text:
    """The detail view of ``stored``: kind and state, text, history, fields, source.

    Plain text (a ``Text``, never markup); what came from a user, a file or a
    model (texts, fields, the source's title) without the control characters a
    terminal would act on (:func:`assistant.formats.terminal_safe`).
    """
    memory = stored.memory
    state = "active" if memory.active else "history"
    marks = [m for m, on in (("pinned", memory.pinned), ("muted", memory.muted)) if on]
    out = Text()
    out.append(f"{KIND_NAMES[stored.kind].upper()} · {' · '.join([state, *marks])}\n", "bold")
    out.append(f"{terminal_safe(stored.text)}\n")
    newer, older = catalog.history_of(stored.key)
    if newer is not None:
        out.append(f"replaced by ({when(newer.memory.updated_at)}): ", "dim")
        out.append(f"{terminal_safe(newer.text)}\n")
    for old in older:
        out.append(f"replaced ({when(old.memory.updated_at)}): ", "dim")
        out.append(f"{terminal_safe(old.text)}\n")
    out.append("\n")
    fields = memory.model_dump(exclude=HIDDEN_FIELDS)
    rows: list[tuple[str, str]] = [
        (k, str(v)) for k, v in fields.items() if v is not None and str(v) != stored.text
    ]
    rows += [
        ("created", when(memory.created_at)),
        ("updated", when(memory.updated_at)),
        ("valid from", when(memory.valid_from)),
    ]
    if memory.invalid_at is not None:
        rows.append(("invalid at", when(memory.invalid_at)))
    source = catalog.source(stored)
    provenance = memory.provenance
    if provenance.message_ids:
        ids = ", ".join(str(i) for i in provenance.message_ids)
        source += f" (message {ids})"
    rows += [("source", source), ("id", stored.key)]
    for name, value in rows:
        out.append(f"{name:<11}", "dim")
        out.append(f"{terminal_safe(value)}\n")
    if provenance.thread_id and provenance.thread_id in catalog.titles:
        out.append("\ng: go to the conversation\n", "dim")
    return out
