"""Small modal dialogs: confirm an action, ask for a line of text."""

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label
from textual.widgets.button import ButtonVariant


class ConfirmScreen(ModalScreen[bool]):
    """Ask a yes/no question; dismisses with True only for the confirming button."""

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
                yield Button(self.confirm, variant=self.variant, id="confirm")
                yield Button(self.cancel, id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed)
    def _answer(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")


class PromptScreen(ModalScreen[str | None]):
    """Ask for one line of text; dismisses with it, or None when cancelled."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, question: str, value: str = "") -> None:
        super().__init__()
        self.question = question
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-text")
            yield Input(value=self.value, id="answer")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(self.query_one(Input).value if event.button.id == "ok" else None)
