"""The form that adds a memory or edits one, validated by the memory's schema.

Saving runs in a thread worker (the text is embedded); an invalid value is
refused with the schema's reason and the form stays open with what was typed.
An edit carries the ``updated_at`` of the version it started from: when a
background reflection changed the memory meanwhile, the user picks which
version to keep.

Keys, said under the buttons: Ctrl+S saves from any field, Esc cancels, Tab
moves on (Enter too, in a one-line field). The long fields (a fact, a rule, the
parts of an experience) are multi-line text areas that wrap what they hold:
Enter there starts a new line, which is saved as a space (memories are one
paragraph), and never saves the form.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, TextArea
from textual.worker import Worker

from assistant.errors import AssistantError
from assistant.memory.schemas import KIND_NAMES, KINDS, MODELS, MemoryKind, content_fields
from tui.screens.dialogs import ConfirmScreen
from tui.workers import tell_failure

if TYPE_CHECKING:
    from assistant.memory.editing import EditConflict
    from assistant.memory.repository import Memories, StoredMemory

FIELD_HINTS = {
    "subject": "who or what the fact is about, e.g. the user's sister",
    "fact": "e.g. The user's sister Anna lives in Porto.",
    "confidence": "0 to 1, or empty",
    "situation": "what the user asked or needed",
    "action": "what the assistant did",
    "outcome": "how it turned out",
    "lesson": "what to do next time (optional)",
    "rule": "e.g. Answer in metric units.",
    "scope": "always, or a topic such as cooking",
}
#: The fields edited in a multi-line, wrapping text area (the others are one line).
LONG_FIELDS = frozenset({"fact", "situation", "action", "outcome", "lesson", "rule"})
#: The keys the form answers, shown under its buttons.
KEYS_HINT = "Ctrl+S: Save · Esc: Cancel · Tab: next field"


class LongField(TextArea):
    """A multi-line field for a long text: it wraps, grows with what it holds up to
    a few lines (then scrolls), and Tab moves on to the next field."""

    DEFAULT_CSS = """
    LongField {
        height: auto;
        max-height: 6;
        margin: 0 1 0 0;
        padding: 0;
    }
    """

    def __init__(self, text: str, *, placeholder: str, id: str) -> None:
        super().__init__(
            text,
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
            compact=True,
            placeholder=placeholder,
            id=id,
        )


class StateCheckbox(Checkbox):
    """A checkbox whose box shows its state without colours: ``X`` when on, empty
    when off (Textual's shows an ``X`` both ways, told apart by colour alone)."""

    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]
        return "X" if self.value else " "


class MemoryFormScreen(ModalScreen["StoredMemory | None"]):
    """Add a memory (``stored`` is ``None``) or edit ``stored``; dismisses with the
    saved memory, or ``None`` when cancelled.

    Args:
        memories: where to save.
        kind: the kind a new memory starts as.
        stored: the memory to edit.
        thread_id: the conversation on screen, the provenance of a new memory.
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        # A priority binding: a text area's keys never take it first.
        Binding("ctrl+s", "save", "Save", priority=True),
    ]

    def __init__(
        self,
        memories: Memories,
        kind: MemoryKind = "semantic",
        stored: StoredMemory | None = None,
        thread_id: str | None = None,
    ) -> None:
        super().__init__()
        self.memories = memories
        self.stored = stored
        self.kind: MemoryKind = stored.kind if stored else kind
        self.thread_id = thread_id

    def compose(self) -> ComposeResult:
        stored = self.stored
        title = f"Edit this {KIND_NAMES[self.kind]}" if stored else "Add a memory"
        with Vertical(classes="dialog memory-form"):
            yield Label(title, classes="dialog-title")
            with VerticalScroll(classes="form-fields"):
                if stored is None:
                    options = [(KIND_NAMES[k].capitalize(), k) for k in KINDS]
                    yield Select(
                        options, value=self.kind, allow_blank=False, id="form-kind", compact=True
                    )
                for kind in [self.kind] if stored else KINDS:
                    values = stored.memory.model_dump() if stored else {}
                    with Vertical(id=f"fields-{kind}", classes="kind-fields"):
                        for field in content_fields(kind):
                            value = values.get(field)
                            if value is None:
                                value = "the user" if field == "subject" else ""
                                value = "always" if field == "scope" else value
                            yield Label(field.capitalize(), classes="field-label")
                            hint = FIELD_HINTS.get(field, "")
                            if field in LONG_FIELDS:
                                yield LongField(str(value), placeholder=hint, id=f"{kind}-{field}")
                            else:
                                yield Input(
                                    str(value), placeholder=hint, id=f"{kind}-{field}", compact=True
                                )
                memory = stored.memory if stored else None
                yield StateCheckbox(
                    "Pinned: recalled into every turn",
                    memory.pinned if memory else False,
                    id="form-pinned",
                    compact=True,
                )
                muted = memory.muted if memory else False
                yield StateCheckbox(
                    "Muted: kept, never recalled", muted, id="form-muted", compact=True
                )
            yield Label("", id="form-warning", markup=False)
            yield Label("", id="form-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")
            yield Label(Text(KEYS_HINT, style="dim"), id="form-keys", markup=False)

    def on_mount(self) -> None:
        self._show_kind()
        first = self.query_one(f"#fields-{self.kind}").query("Input, LongField").first()
        first.focus()

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        tell_failure(event)

    def _show_kind(self) -> None:
        for group in self.query(".kind-fields"):
            group.display = group.id == f"fields-{self.kind}"

    @on(Select.Changed, "#form-kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        if event.value in KINDS:
            self.kind = event.value  # type: ignore[assignment]
            self._show_kind()

    def values(self) -> dict[str, object]:
        """What the form holds: the kind's fields (empty optional ones ``None``),
        ``pinned`` and ``muted``."""
        found: dict[str, object] = {}
        for field in content_fields(self.kind):
            text = self.field_text(field)
            # Left empty, a field whose default is None (lesson, confidence) means none.
            optional = MODELS[self.kind].model_fields[field].default is None
            found[field] = None if (optional and not text) else text
        found["pinned"] = self.query_one("#form-pinned", Checkbox).value
        found["muted"] = self.query_one("#form-muted", Checkbox).value
        return found

    def field_text(self, field: str) -> str:
        """What the field ``field`` of the kind shown holds, its ends stripped and
        its line breaks (Enter in a text area) read as spaces."""
        widget = self.query_one(f"#{self.kind}-{field}")
        text = widget.text if isinstance(widget, TextArea) else widget.value  # type: ignore[attr-defined]
        return re.sub(r"\s*\n\s*", " ", text).strip()

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        """Enter in a one-line field moves on; only Ctrl+S (or the button) saves."""
        event.stop()
        self.focus_next()

    def changes(self) -> dict[str, object]:
        """The fields an edit changes (all of them for a new memory)."""
        values = self.values()
        if self.stored is None:
            return values
        before = self.stored.memory.model_dump()
        return {k: v for k, v in values.items() if _shown(v) != _shown(before.get(k))}

    def show_error(self, text: str) -> None:
        """Say why the memory was not saved; the form keeps what was typed."""
        label = self.query_one("#form-error", Label)
        label.update(text)
        label.add_class("visible")

    def changed_meanwhile(self, current: StoredMemory) -> None:
        """The memory being edited was changed in the background (the pane calls this)."""
        label = self.query_one("#form-warning", Label)
        label.update(
            f"Changed in the background since you opened it: “{current.text}”. "
            "Saving asks which version to keep."
        )
        label.add_class("visible")

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        changes = self.changes()
        if self.stored is not None and not changes:
            self.dismiss(None)
            return
        expected = self.stored.memory.updated_at if self.stored else None
        self.save(changes, expected)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="form", name="Saving the memory")
    def save(self, changes: dict[str, object], expected: object) -> None:
        """Validate and write (blocking: the text is embedded)."""
        from assistant.memory.editing import EditConflict, create, edit

        try:
            if self.stored is None:
                saved = create(self.memories, self.kind, changes, thread_id=self.thread_id)
            else:
                saved = edit(self.memories, self.stored.key, changes, expected=expected)  # type: ignore[arg-type]
        except EditConflict as exc:
            self.app.call_from_thread(self._ask_which, exc, changes)
            return
        except AssistantError as exc:
            self.app.call_from_thread(self.show_error, str(exc))
            return
        self.app.call_from_thread(self.dismiss, saved)

    def _ask_which(self, conflict: EditConflict, changes: dict[str, object]) -> None:
        def answered(mine: bool | None) -> None:
            if mine:
                self.save(changes, conflict.current.memory.updated_at)
            else:
                self.dismiss(conflict.current)

        question = f"{conflict}\n\nKeep your edit, or the newer version?"
        ask = ConfirmScreen(
            question, confirm="Keep mine", cancel="Keep the newer", variant="primary"
        )
        self.app.push_screen(ask, answered)


def _shown(value: object) -> str:
    """A value as the form shows it, to tell what an edit changed."""
    return "" if value is None else str(value)
