"""SVG snapshots (pytest-textual-snapshot) of the memory pane, its detail view
and its edit form at a fixed terminal size, with fixed memories, keys, times
and time zone. Update them with ``pytest tests/tui/test_snapshots.py
--snapshot-update`` after a deliberate change, and look at the SVGs."""

import time
from collections.abc import Iterator

import pytest

from tests.tui.test_memory_commands import make_app
from tests.tui.test_memory_pane import ROME, TRIP, open_pane, seeded, select

SIZE = (110, 32)


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Times are shown in local time: make it UTC wherever the tests run."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_memory_pane(snap_compare, settings, memory_loader) -> None:
    """Newest first; the superseding fact on top, its history in the detail view."""
    app = make_app(settings, memory_loader, [])

    async def run_before(pilot) -> None:
        await seeded(pilot, settings)
        await open_pane(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_the_detail_view_of_a_replaced_fact(snap_compare, settings, memory_loader) -> None:
    """History shown (h): the old fact, dimmed, and what replaced it."""
    app = make_app(settings, memory_loader, [])

    async def run_before(pilot) -> None:
        await seeded(pilot, settings)
        screen = await open_pane(pilot)
        await pilot.press("h")
        await select(pilot, screen, ROME)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_the_edit_form_of_an_experience(snap_compare, settings, memory_loader) -> None:
    app = make_app(settings, memory_loader, [])

    async def run_before(pilot) -> None:
        await seeded(pilot, settings)
        screen = await open_pane(pilot)
        await select(pilot, screen, TRIP)
        await pilot.press("e")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
