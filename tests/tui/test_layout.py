"""Layouts that fit (issue 17) through Pilot: the sidebar collapses with Ctrl+B
and narrows at 80 columns, conversation titles use the width they have, and the
memory pane at 80x24 shows ten rows or more and a footer whose keys fit whole."""

import itertools

import pytest
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Footer, Label
from textual.widgets._footer import FooterKey

from assistant.config import Settings
from assistant.conversations import ConversationStore
from tests.tui.test_app import make_app, settle
from tests.tui.test_memory_commands import make_app as make_memory_app
from tests.tui.test_memory_pane import open_pane, seeded
from tests.tui.test_snapshots import seed_more
from tui.widgets.chat import Composer
from tui.widgets.memory_browser import MemoryBrowser
from tui.widgets.sidebar import ThreadItem, ThreadList

LONG = "A trip to Lyon with a day-by-day table of visits"  # 48 characters


def seed_threads(settings: Settings) -> None:
    store = ConversationStore(settings.database_path)
    for title in (LONG, "Hello"):
        thread = store.create_thread()
        store.add_message(thread.id, "user", title)
        store.rename_thread(thread.id, title)
    store.close()


def shown(widget: Widget) -> str:
    """What ``widget`` draws on its first line, as the terminal gets it."""
    (strip,) = widget.render_lines(Region(0, 0, widget.size.width, 1))
    return strip.text.rstrip()


@pytest.mark.parametrize(("size", "width"), [((80, 24), 24), ((120, 36), 30)])
async def test_the_sidebar_narrows_with_the_terminal(settings, size, width) -> None:
    seed_threads(settings)
    app = make_app(settings)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        assert app.query_one(ThreadList).outer_size.width == width
        assert app.query_one("#chat").outer_size.width == size[0] - width


async def test_ctrl_b_collapses_the_sidebar_and_the_chat_takes_the_width(settings) -> None:
    seed_threads(settings)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        sidebar = app.query_one(ThreadList)
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert sidebar.collapsed and not sidebar.display
        assert app.query_one("#chat").outer_size.width == 80
        assert app.query_one(Composer).has_focus  # the box kept the focus
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert not sidebar.collapsed and sidebar.outer_size.width == 24
        assert app.query_one("#chat").outer_size.width == 56


async def test_a_focused_list_hands_the_focus_on_when_it_collapses(settings) -> None:
    seed_threads(settings)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        sidebar = app.query_one(ThreadList)
        sidebar.focus()
        await pilot.pause()
        sidebar.toggle_collapsed()
        await pilot.pause()
        focused = app.focused
        assert focused is not None and focused in app.screen.focus_chain  # shown
        assert focused is not sidebar and sidebar not in focused.ancestors
        await pilot.press("h", "i")
        await pilot.pause()
        assert app.query_one(Composer).text == "hi"  # no key lost in a hidden list


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_titles_use_the_width_they_have(settings, size) -> None:
    """One line each, whole where it fits, else as much as fits and an ellipsis."""
    seed_threads(settings)
    app = make_app(settings)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        labels = {i.thread.title: i.query_one(Label) for i in app.query(ThreadItem)}
        assert shown(labels["Hello"]) == "Hello"
        long = labels[LONG]
        room = long.size.width
        assert room == app.query_one(ThreadList).size.width - 2  # the item's padding
        assert long.size.height == 1
        assert shown(long) == LONG[: room - 1] + "…"
        assert LONG in str(long.parent.tooltip)


async def test_the_memory_pane_at_80x24_shows_ten_rows(settings, memory_loader) -> None:
    app = make_memory_app(settings, memory_loader, [])
    async with app.run_test(size=(80, 24)) as pilot:
        await seeded(pilot, settings)
        seed_more(pilot.app.memories)
        screen = await open_pane(pilot)
        table = screen.query_one(MemoryBrowser)
        assert table.row_count == 15  # and one in history, not shown
        rows = table.scrollable_content_region.height - table.header_height
        assert rows >= 10
        # Every column fits: no horizontal scrollbar takes a row, Source is not cut.
        assert table.virtual_size.width <= table.scrollable_content_region.width
        assert not table.horizontal_scrollbar.display or not table.show_horizontal_scrollbar
        detail = screen.query_one("#memory-detail", Widget)
        assert detail.scrollable_content_region.height >= 4  # the detail view stays


@pytest.mark.parametrize("size", [(80, 24), (120, 36)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_pane_footer_shows_its_keys_whole(settings, memory_loader, size) -> None:
    app = make_memory_app(settings, memory_loader, [])
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        screen = await open_pane(pilot)
        footer = screen.query_one(Footer)
        keys = [key for key in footer.query(FooterKey) if key.display]
        shown_keys = {key.description for key in keys}
        assert {"Back", "Add", "Edit", "Delete", "Undo", "Changes"} <= shown_keys
        for key in keys:
            region = key.region
            assert region.width == key.outer_size.width > len(key.description)
            assert footer.region.contains_region(region), key.description
        for one, other in itertools.pairwise(keys):
            assert not one.region.overlaps(other.region), (one.description, other.description)
