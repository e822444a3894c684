"""The status line through Pilot: drawn from its attributes alone."""

from datetime import UTC, datetime, timedelta

from textual.app import App, ComposeResult

from tui.widgets.status import StatusBar


class OneBar(App[None]):
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")


def line(app: App) -> str:
    return str(app.query_one(StatusBar).render())


async def test_the_status_line_says_what_its_attributes_hold() -> None:
    app = OneBar()
    async with app.run_test() as pilot:
        bar = app.query_one(StatusBar)
        assert line(app) == "Loading the model…"
        bar.model = "embedded · tiny (demo quality)"
        bar.due = datetime.now(UTC) + timedelta(seconds=90.5)
        await pilot.pause()
        assert line(app) == "● embedded · tiny (demo quality)   memories update in 1:30"
        bar.reply = "writing…"  # a reply on its way comes first
        bar.reflecting = True
        assert line(app).endswith("   writing… (Esc stops)")
        bar.reply = ""
        assert line(app).endswith("   updating memories…")
        bar.reflecting = False
        bar.incognito = True  # a private conversation is not reflected on
        assert line(app) == "● embedded · tiny (demo quality)   incognito: nothing remembered"
        bar.incognito = False
        bar.due = datetime.now(UTC) - timedelta(seconds=1)
        assert line(app).endswith("   memories update soon")
        bar.problem = "The bundled model is not installed."
        assert line(app) == "No model: The bundled model is not installed."


async def test_the_start_up_line_is_drawn_not_covered_by_a_loading_indicator() -> None:
    """The start-up's state is the bar's own text: an attribute named ``loading``
    (Textual's own) once hid the whole line under an animated indicator."""
    from textual.widgets import LoadingIndicator

    app = OneBar()
    async with app.run_test() as pilot:
        await pilot.pause()
        bar = app.query_one(StatusBar)
        assert not bar.loading
        assert not app.query(LoadingIndicator)
        assert "Loading the model…" in bar.render_line(0).text
