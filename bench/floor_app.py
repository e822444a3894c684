"""The floor for bench/startup.py: a minimal Textual app with a header and a footer."""

from textual.app import App, ComposeResult
from textual.widgets import Footer, Label


class Floor(App[None]):
    BINDINGS = [("ctrl+q", "quit", "Quit")]  # noqa: RUF012 (Textual idiom)

    def compose(self) -> ComposeResult:
        yield Label("floor app ready")
        yield Footer()


if __name__ == "__main__":
    Floor().run()
