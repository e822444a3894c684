"""Hostile text in the TUI (issue 18, items 1 and 5), through Pilot on real Chroma:
markup in what the user types, in a conversation's title or in a memory is shown
as it is (it never ends the app, never styles or clicks), and the control bytes
in a memory or a title never reach the terminal (shown as ``^[``)."""

from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Label
from textual.widgets._toast import Toast

from assistant.config import Settings
from assistant.conversations import ConversationStore
from assistant.memory.repository import new_key
from assistant.memory.schemas import Provenance, SemanticMemory
from assistant.reflection.journal import Change, Plan
from tests.tui.test_app import SIZE, settle
from tests.tui.test_background_reflection import wait_for
from tests.tui.test_memory_commands import make_app, notices
from tests.tui.test_memory_pane import detail, open_pane
from tui.widgets.chat import Composer
from tui.widgets.memory_browser import MemoryBrowser
from tui.widgets.memory_changes import MemoryChanges
from tui.widgets.sidebar import ThreadItem

MARKUP = "[/x] [reverse]loud[/] [@click=app.quit]quit[/]"
#: An OSC that sets the window title, one that writes the clipboard, a screen clear.
CONTROLS = "tea\x1b]0;pwned\x07 and \x1b]52;c;cHduZWQ=\x07 then \x1b[2J\x9b6n end"


async def type_and_send(pilot, text: str) -> None:
    """Type ``text`` into the message box key by key, then Enter."""
    pilot.app.query_one(Composer).focus()
    await pilot.press(*text)
    await pilot.press("enter")


def toasts(app) -> list[str]:
    """What the notifications on screen show, as plain text."""
    return [toast.render().plain for toast in app.screen.query(Toast)]


def drawn(widget: Widget) -> str:
    """Every line ``widget`` draws, as the characters sent to the terminal."""
    region = Region(0, 0, widget.size.width, widget.virtual_size.height or widget.size.height)
    return "\n".join(strip.text for strip in widget.render_lines(region))


def assert_inert(text: str) -> None:
    """No byte in ``text`` a terminal acts on: C0 controls but newline and tab,
    DEL and C1 controls."""
    bad = [c for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0]
    assert not bad, f"control characters reach the terminal: {bad!r}"


async def test_remember_with_markup_is_said_as_typed(settings, memory_loader) -> None:
    app = make_app(settings, memory_loader, [])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await type_and_send(pilot, "/remember I like [/x] green tea")
        await settle(pilot)
        assert app.is_running
        assert any("I like [/x] green tea" in n for n in notices(app)), notices(app)
        assert any("I like [/x] green tea" in shown for shown in toasts(app)), toasts(app)

        await type_and_send(pilot, f"/remember I said {MARKUP}")
        await settle(pilot)
        assert app.is_running
        assert any(MARKUP in shown for shown in toasts(app)), toasts(app)


async def test_forget_with_markup_is_said_as_typed(settings, memory_loader) -> None:
    app = make_app(settings, memory_loader, [])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await type_and_send(pilot, "/forget [/x]")
        await settle(pilot)
        assert app.is_running
        assert any("No memory matches “[/x]”" in shown for shown in toasts(app)), toasts(app)


def seed_hostile(settings: Settings, title: str) -> str:
    """A conversation titled ``title``; returns its id."""
    store = ConversationStore(settings.database_path)
    thread = store.create_thread()
    store.add_message(thread.id, "user", "I like green tea.")
    store.rename_thread(thread.id, title)
    store.close()
    return thread.id


async def test_markup_in_a_title_and_a_memory_is_shown_as_it_is(settings, memory_loader) -> None:
    """A conversation titled with markup: the sidebar, and the pane's detail view
    of a memory formed in it, show it literally; so do "What changed" and the
    notices of the pane for a memory holding markup."""
    thread_id = seed_hostile(settings, MARKUP)
    app = make_app(settings, memory_loader, [])
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(pilot)
        (item,) = app.query(ThreadItem)
        assert drawn(item.query_one(Label)).startswith("[/x] [reverse]loud[/]")
        key = new_key()
        came = Provenance(source="reflection", thread_id=thread_id, message_ids=(1,))
        fact = SemanticMemory(subject="tea", fact=f"Tea: {MARKUP}", provenance=came)
        app.memories.put(key, fact)
        screen = await open_pane(pilot)
        assert app.is_running
        shown = detail(screen)
        assert f"Tea: {MARKUP}" in shown
        assert f"chat · {MARKUP} (message 1)" in shown
        await pilot.press("p")  # pin: the notice is titled with the memory's text
        await settle(pilot)
        assert any(f"Tea: {MARKUP}" in t for t in toasts(app)), toasts(app)
        assert app.is_running


async def test_no_control_byte_reaches_the_terminal(settings, memory_loader) -> None:
    """A memory and a title holding escape sequences: the sidebar, the detail
    view, "What changed" and the notices draw them inert (``^[]0;pwned``)."""
    thread_id = seed_hostile(settings, f"Tea {CONTROLS}")
    app = make_app(settings, memory_loader, [])
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(pilot)
        (item,) = app.query(ThreadItem)
        title = drawn(item.query_one(Label))
        assert title.startswith("Tea tea^[]0;pwned^G and "), title
        assert_inert(title)
        assert_inert(str(item.tooltip))
        came = Provenance(source="reflection", thread_id=thread_id, message_ids=(1,))
        fact = SemanticMemory(subject="tea", fact=f"The user likes {CONTROLS}.", provenance=came)
        app.memories.put(new_key(), fact)
        screen = await open_pane(pilot)
        table = drawn(screen.query_one(MemoryBrowser))
        assert "The user likes tea^[]0;pwned" in table
        assert_inert(table)
        body = drawn(screen.query_one("#detail-body", Widget))
        assert "^[]0;pwned" in body and "^[]52;c;" in body and "^[[2J" in body
        assert_inert(body)
        await pilot.press("p")
        await settle(pilot)
        assert any("^[]0;pwned" in t for t in toasts(app)), toasts(app)
        for shown in toasts(app):
            assert_inert(shown)
        assert_inert(str(screen.query_one("#memory-heading", Widget).render()))


def journal_change(settings: Settings, thread_id: str, text: str) -> None:
    """An applied reflection on ``thread_id`` that created a fact reading ``text``."""
    value = SemanticMemory(subject="tea", fact=text).to_value()
    plan = Plan(changes=[Change(op="create", kind="semantic", key=new_key(), value=value)])
    store = ConversationStore(settings.database_path)
    last = store.messages(thread_id)[-1].id
    record = store.record_reflection(thread_id, last, operations=plan.to_json())
    assert record is not None
    store.finish_reflection(record.id)
    store.close()


async def test_what_changed_draws_hostile_text_inert(settings, memory_loader) -> None:
    """A reflection's change whose text holds markup and escape sequences."""
    thread_id = seed_hostile(settings, "Tea")
    journal_change(settings, thread_id, f"\x1b]0;pwned\x07 {MARKUP}")
    app = make_app(settings, memory_loader, [])
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(pilot)
        screen = await open_pane(pilot)
        await pilot.press("c")
        changes = screen.query_one(MemoryChanges)
        await wait_for(pilot, lambda: changes.row_count == 1 and changes.has_focus)
        await pilot.pause()
        table = drawn(changes)
        assert "[/x] [reverse]loud[/]" in table and "^[]0;pwned" in table, table
        assert_inert(table)


async def test_deleting_a_conversation_titled_with_markup_says_so_as_it_is(
    settings, memory_loader
) -> None:
    seed_hostile(settings, MARKUP)
    app = make_app(settings, memory_loader, [])
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("f8")  # asks first; Cancel has the focus
        await settle(pilot)
        await pilot.press("right", "enter")
        await settle(pilot)
        assert app.is_running
        assert any(f"Deleted “{MARKUP}”." in t for t in toasts(app)), toasts(app)
        assert not app.query(ThreadItem)


async def test_messages_and_a_streamed_reply_with_escapes_are_drawn_inert(
    settings, memory_loader
) -> None:
    """A saved message (an import, another front end) and a model's streamed reply
    holding escape sequences: drawn as ``^[``, never sent to the terminal."""
    from tui.widgets.chat import MessageView

    store = ConversationStore(settings.database_path)
    thread = store.create_thread()
    store.add_message(thread.id, "user", f"user {CONTROLS}")
    store.add_message(thread.id, "assistant", f"saved {CONTROLS}")
    store.close()
    app = make_app(settings, memory_loader, [f"streamed {CONTROLS}"])
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await type_and_send(pilot, "hi")
        await settle(pilot)
        views = list(app.query(MessageView))
        assert len(views) == 4
        for view in views:
            shown = "\n".join(drawn(part) for part in view.query("*"))
            assert "^[]0;pwned" in shown or (view.role == "user" and "hi" in shown), shown
            assert_inert(shown)
