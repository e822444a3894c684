"""Small modal dialogs: confirm an action, ask for a line of text.

Both work from the keyboard alone: Left/Right (and Tab, Shift+Tab) move between
the buttons, the focused button is highlighted, Enter presses it, and a line
under the buttons says what Enter and Esc do now (``Enter: Delete · Esc:
Cancel``). Every text given to them is shown as it is, never read as markup.
"""

from typing import TypeVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label
from textual.widgets.button import ButtonVariant

Answer = TypeVar("Answer")


class _Dialog(ModalScreen[Answer]):
    """What both dialogs share: arrow keys between the buttons, and the key hint."""

    BINDINGS = [
        Binding("left", "move(-1)", "Previous button", show=False),
        Binding("right", "move(1)", "Next button", show=False),
    ]

    #: What Esc does, for the hint.
    cancel = "Cancel"

    def action_move(self, step: int) -> None:
        """Focus the button ``step`` places on (wrapping), when a button has focus."""
        buttons = list(self.query(Button))
        focused = self.focused
        if isinstance(focused, Button) and focused in buttons:
            buttons[(buttons.index(focused) + step) % len(buttons)].focus()

    @on(events.DescendantFocus)
    def _focus_moved(self) -> None:
        self.query_one(".dialog-keys", Label).update(Text(self.keys_hint(), style="dim"))

    def keys_hint(self) -> str:
        """What Enter and Esc do with the focus where it is."""
        focused = self.focused
        enter = focused.label.plain if isinstance(focused, Button) else self.enter_default()
        return f"Enter: {enter} · Esc: {self.cancel} · ←/→ or Tab: another button"

    def enter_default(self) -> str:
        """What Enter does when no button has focus (a text field's submit)."""
        return "OK"


class ConfirmScreen(_Dialog[bool]):
    """Ask a yes/no question; dismisses with True only for the confirming button.

    The cancelling button has focus at first, so Enter alone never confirms.

    Args:
        question: shown as it is (a title or a memory's text in it is not markup).
        confirm, cancel: the buttons' labels.
        variant: the confirming button's variant (``error`` for deletions).
    """

    BINDINGS = [Binding("escape", "dismiss(False)", "Cancel")]

    def __init__(
        self,
        question: str,
        confirm: str = "Delete",
        cancel: str = "Cancel",
        variant: ButtonVariant = "error",
    ) -> None:
        super().__init__()
        self.question = question
        self.confirm = confirm
        self.cancel = cancel
        self.variant: ButtonVariant = variant

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(Content(self.confirm), variant=self.variant, id="confirm")
                yield Button(Content(self.cancel), id="cancel")
            yield Label("", classes="dialog-keys", markup=False)

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed)
    def _answer(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")


class PromptScreen(_Dialog[str | None]):
    """Ask for one line of text; dismisses with it, or None when cancelled.

    Enter in the text field answers OK; Tab reaches the buttons.

    Args:
        question: shown as it is (never markup).
        value: the text the field starts with (e.g. the current title).
    """

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, question: str, value: str = "") -> None:
        super().__init__()
        self.question = question
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-text", markup=False)
            yield Input(value=self.value, id="answer")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")
            yield Label("", classes="dialog-keys", markup=False)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(self.query_one(Input).value if event.button.id == "ok" else None)
