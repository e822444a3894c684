"""The memory pane through Pilot, on real Chroma with the real embedder: open it,
filter, sort, search, edit (valid and invalid), add, delete and undo, pin and
mute (and what recall then does), jump to a memory's source, review and undo
what a reflection changed, and a live update while a reflection writes during
an edit. The chat and reflection model is scripted."""

from datetime import UTC, datetime, timedelta

from textual import events
from textual.widgets import Button, Input, Label, Select, Static, TabbedContent, TextArea

from assistant.config import Settings
from assistant.conversations import ConversationStore
from assistant.memory.repository import Memories
from assistant.memory.schemas import (
    EpisodicMemory,
    ProceduralMemory,
    Provenance,
    SemanticMemory,
)
from tests.memory.conftest import fact, judged
from tests.tui.test_app import SIZE, settle, type_and_send
from tests.tui.test_background_reflection import wait_for
from tests.tui.test_memory_commands import make_app, notices
from tui.screens.dialogs import ConfirmScreen
from tui.screens.memories import MemoryScreen
from tui.screens.memory_form import MemoryFormScreen
from tui.widgets.chat import MemoriesUsed, MemoryLink, MessageView
from tui.widgets.memory_browser import MemoryBrowser

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
DOG, SISTER, METRIC, TRIP, ROME, BERLIN = (f"{n:02d}" + "ab" * 15 for n in range(1, 7))


def at(days: float) -> dict[str, datetime]:
    moment = T0 + timedelta(days=days)
    return {"created_at": moment, "updated_at": moment, "valid_from": moment}


def seed(settings: Settings, memories: Memories) -> str:
    """Six memories with fixed keys and times (one superseded), and the conversation
    the newest came from; returns that conversation's id."""
    store = ConversationStore(settings.database_path)
    thread = store.create_thread()
    said = store.add_message(thread.id, "user", "I moved to Berlin last month.")
    store.add_message(thread.id, "assistant", "Welcome to Berlin!")
    store.rename_thread(thread.id, "Moving to Berlin")
    store.close()
    chat = Provenance(source="reflection", thread_id=thread.id, message_ids=(said.id,))
    memories.put(
        DOG,
        SemanticMemory(subject="the user's dog", fact="The user's dog is called Fido.", **at(5)),
    )
    memories.put(
        SISTER,
        SemanticMemory(
            subject="the user's sister", fact="The user's sister Anna lives in Porto.", **at(4)
        ),
    )
    memories.put(METRIC, ProceduralMemory(rule="Answer in metric units.", pinned=True, **at(3)))
    memories.put(
        TRIP,
        EpisodicMemory(
            situation="The user asked for a trip plan to Lyon.",
            action="Wrote a day-by-day table.",
            outcome="The user liked it.",
            lesson="Use tables for plans.",
            **at(2),
        ),
    )
    replaced = {
        "updated_at": T0 + timedelta(days=6),
        "invalid_at": T0 + timedelta(days=6),
        "superseded_by": BERLIN,
    }
    memories.put(
        ROME,
        SemanticMemory(subject="the user", fact="The user lives in Rome.", **at(1) | replaced),
    )
    memories.put(
        BERLIN,
        SemanticMemory(
            subject="the user", fact="The user lives in Berlin.", provenance=chat, **at(6)
        ),
    )
    return thread.id


async def seeded(pilot, settings: Settings) -> str:
    """Once the app has loaded: :func:`seed` its memories; returns the conversation."""
    await settle(pilot)
    assert pilot.app.memories is not None
    return seed(settings, pilot.app.memories)


async def open_pane(pilot) -> MemoryScreen:
    """F3, then wait until every memory is loaded and the workers are done."""
    await settle(pilot)
    await pilot.press("f3")
    screen = pilot.app.screen
    assert isinstance(screen, MemoryScreen)
    await wait_for(pilot, lambda: screen.browser.catalog.complete)
    await settle(pilot)
    return screen


def listed(screen: MemoryScreen) -> list[str]:
    """The texts in the table, top to bottom."""
    table = screen.query_one(MemoryBrowser)
    return [str(table.get_row_at(i)[2]) for i in range(table.row_count)]


def heading(screen: MemoryScreen) -> str:
    return str(screen.query_one("#memory-heading", Static).render())


def detail(screen: MemoryScreen) -> str:
    return str(screen.query_one("#detail-body", Static).render())


async def select(pilot, screen: MemoryScreen, key: str) -> None:
    table = screen.query_one(MemoryBrowser)
    table.move_cursor(row=table.get_row_index(key))
    await pilot.pause()
    assert screen.selected_key() == key


async def test_open_filter_sort_search_and_go_back(settings, memory_loader) -> None:
    app = make_app(settings, memory_loader, [])
    async with app.run_test(size=SIZE) as pilot:
        await seeded(pilot, settings)
        screen = await open_pane(pilot)
        assert listed(screen) == [
            "The user lives in Berlin.",
            "The user's dog is called Fido.",
            "The user's sister Anna lives in Porto.",
            "Answer in metric units.",
            "Situation: The user asked for a trip plan to Lyon. Action: Wrote a day-by-day "
            "table. Outcome: The user liked it. Lesson: Use tables for plans.",
        ]
        assert "5 active, 1 in history" in heading(screen)
        # The detail view of the row under the cursor, with its history.
        assert "FACT · active" in detail(screen)
        assert "chat · Moving to Berlin (message 1)" in detail(screen)
        assert "replaced (2026-11-08" in detail(screen) and "The user lives in Rome." in detail(
            screen
        )

        await pilot.press("k")  # facts only
        await pilot.pause()
        assert screen.query_one("#memory-kind", Select).value == "semantic"
        assert len(listed(screen)) == 3 and "facts" in heading(screen)
        await pilot.press("h")  # with history
        await pilot.pause()
        assert "old The user lives in Rome." in listed(screen)
        await pilot.press("h", "k", "k", "k")  # back to all kinds, no history
        await pilot.pause()
        assert len(listed(screen)) == 5

        await pilot.press("s")  # sort by creation, then by kind
        await pilot.press("s")
        await pilot.pause()
        assert "by kind ↑" in heading(screen)
        assert (
            listed(screen)[3].startswith("Situation")
            and listed(screen)[4] == "Answer in metric units."
        )

        await pilot.press("slash")
        assert screen.query_one("#memory-search", Input).has_focus
        await pilot.press(*"where does my sister live")
        # Typing searches as it goes: wait for the search of the whole text.
        await wait_for(pilot, lambda: screen.browser.searched == "where does my sister live")
        await settle(pilot)
        assert listed(screen)[0] == "The user's sister Anna lives in Porto."
        assert "found for “where does my sister live”" in heading(screen)
        # A name the embedder misses is found by its letters.
        screen.query_one("#memory-search", Input).value = "Lyon"
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.browser.searched == "Lyon")
        assert listed(screen)[0].startswith("Situation: The user asked for a trip plan to Lyon.")
        assert screen.query_one(MemoryBrowser).has_focus

        await pilot.press("escape")
        assert not isinstance(app.screen, MemoryScreen)


async def test_slash_and_a_word_read_in_one_go_search_for_the_word(settings, memory_loader) -> None:
    """The keys after ``/`` reach the search box even when the app reads them with
    the ``/`` (not the table, where ``c``, ``k`` and ``e`` are commands); a second
    ``/`` is text."""
    app = make_app(settings, memory_loader, [])
    async with app.run_test(size=SIZE) as pilot:
        await seeded(pilot, settings)
        screen = await open_pane(pilot)
        names = {"/": "slash", " ": "space"}
        for ch in "/locker km/h":
            app.post_message(events.Key(names.get(ch, ch), ch))
        await pilot.pause()
        search = screen.query_one("#memory-search", Input)
        assert search.has_focus and search.value == "locker km/h"
        assert screen.query_one(TabbedContent).active == "memories-tab"
        assert app.screen is screen and screen.browser.kind is None


async def test_edit_valid_and_invalid_and_add(settings, memory_loader) -> None:
    app = make_app(settings, memory_loader, [])
    async with app.run_test(size=SIZE) as pilot:
        await seeded(pilot, settings)
        screen = await open_pane(pilot)
        await select(pilot, screen, DOG)
        await pilot.press("e")
        form = app.screen
        assert isinstance(form, MemoryFormScreen)
        form.query_one("#semantic-fact", TextArea).load_text("")
        form.query_one("#semantic-confidence", Input).value = "very"
        await pilot.press("ctrl+s")
        await settle(pilot)
        error = str(form.query_one("#form-error", Label).render())
        assert "fact: String should have at least 1 character" in error
        assert "confidence: Input should be a valid number" in error
        assert app.screen is form  # still open, with what was typed
        assert app.memories.get(DOG).text == "The user's dog is called Fido."

        form.query_one("#semantic-fact", TextArea).load_text("The user's dog is called Rex.")
        form.query_one("#semantic-confidence", Input).value = "0.9"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        saved = app.memories.get(DOG)
        assert saved.text == "The user's dog is called Rex." and saved.memory.confidence == 0.9
        assert screen.selected_key() == DOG
        assert "The user's dog is called Rex." in listed(screen)
        assert "confidence 0.9" in " ".join(detail(screen).split())

        await pilot.press("a")
        form = app.screen
        assert isinstance(form, MemoryFormScreen)
        form.query_one("#form-kind", Select).value = "procedural"
        await pilot.pause()
        form.query_one("#procedural-rule", TextArea).load_text("Never use emoji.")
        await pilot.click("#save")
        await settle(pilot)
        assert app.screen is screen
        added = screen.selected()
        assert added is not None and added.text == "Never use emoji."
        assert added.memory.provenance.source == "user"
        assert app.memories.get(added.key) is not None


async def test_delete_asks_first_and_u_undoes_it(settings, memory_loader) -> None:
    app = make_app(settings, memory_loader, [])
    async with app.run_test(size=SIZE) as pilot:
        await seeded(pilot, settings)
        screen = await open_pane(pilot)
        await select(pilot, screen, SISTER)
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.click("#cancel")
        await settle(pilot)
        assert app.memories.get(SISTER) is not None

        await pilot.press("d")
        await pilot.click("#confirm")
        await settle(pilot)
        assert app.memories.get(SISTER) is None
        assert "The user's sister Anna lives in Porto." not in listed(screen)
        assert any("Press u to undo" in n for n in notices(app))

        await pilot.press("u")
        await settle(pilot)
        restored = app.memories.get(SISTER)
        assert restored is not None and restored.text == "The user's sister Anna lives in Porto."
        assert restored.memory.updated_at == T0 + timedelta(days=4)  # as it was
        assert screen.selected_key() == SISTER


async def test_pin_and_mute_change_what_recall_brings(settings, memory_loader) -> None:
    app = make_app(settings, memory_loader, [])
    async with app.run_test(size=SIZE) as pilot:
        await seeded(pilot, settings)
        assert app.session is not None
        thread = app.store.create_thread()
        app.store.add_message(thread.id, "user", "What is my dog called?")

        def recalled(text: str) -> list[str]:
            return app.session.recall_memories(thread.id, text).keys

        assert DOG in recalled("What is my dog called?")
        assert SISTER not in recalled("Which bus goes to the station?")
        screen = await open_pane(pilot)
        await select(pilot, screen, SISTER)
        await pilot.press("p")
        await settle(pilot)
        assert app.memories.get(SISTER).memory.pinned
        assert screen.query_one(MemoryBrowser).get_row(SISTER)[0] == "P"
        await select(pilot, screen, DOG)
        await pilot.press("m")
        await settle(pilot)
        assert "muted" in detail(screen)

        assert SISTER in recalled("Which bus goes to the station?")
        assert DOG not in recalled("What is my dog called?")

        await pilot.press("m")  # unmute
        await settle(pilot)
        assert DOG in recalled("What is my dog called?")


async def test_go_to_the_conversation_a_memory_came_from(settings, memory_loader) -> None:
    app = make_app(settings, memory_loader, [])
    async with app.run_test(size=SIZE) as pilot:
        thread_id = await seeded(pilot, settings)
        await app.chat.open_thread(None)
        screen = await open_pane(pilot)
        await select(pilot, screen, BERLIN)
        await pilot.press("g")
        await settle(pilot)
        assert not isinstance(app.screen, MemoryScreen)
        assert app.chat.thread_id == thread_id
        [found] = [v for v in app.query(MessageView) if v.has_class("found")]
        assert found.content == "I moved to Berlin last month."

        screen = await open_pane(pilot)
        await select(pilot, screen, DOG)  # typed by hand: no conversation
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, MemoryScreen)
        assert any("not formed in a conversation" in n for n in notices(app))


async def test_a_used_memory_opens_in_the_pane(settings, memory_loader) -> None:
    app = make_app(settings, memory_loader, ["Fido, of course."])
    async with app.run_test(size=SIZE) as pilot:
        await seeded(pilot, settings)
        await type_and_send(pilot, "What is my dog called?")
        await settle(pilot)
        used = app.query_one(MemoriesUsed)
        used.collapsed = False
        await pilot.pause()
        links = {link.key: link for link in used.query(MemoryLink)}
        assert DOG in links
        links[DOG].scroll_visible(animate=False)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.2)  # the expanded box is laid out
        await pilot.click(links[DOG])
        await wait_for(pilot, lambda: isinstance(app.screen, MemoryScreen), 5)
        screen = app.screen
        assert isinstance(screen, MemoryScreen)
        await wait_for(pilot, lambda: screen.browser.catalog.complete)
        await settle(pilot)
        assert screen.selected_key() == DOG

        await pilot.press("escape")  # and by keyboard: Tab to a link, Enter
        other = next(key for key in links if key != DOG)
        [link] = [link for link in app.query(MemoryLink) if link.key == other]
        link.focus()
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, MemoryScreen)
        await wait_for(pilot, lambda: screen.browser.catalog.complete)
        await settle(pilot)
        assert screen.selected_key() == other


async def test_what_changed_lists_a_reflection_and_undoes_it(settings, memory_loader) -> None:
    learned = judged((fact("The user's cat is called Tom."), "create", ""))
    app = make_app(settings, memory_loader, ["Hello Tom!", learned])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_and_send(pilot, "My cat is called Tom.")
        await settle(pilot)
        app.chat.action_reflect()
        await settle(pilot)
        screen = await open_pane(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert screen.query_one(TabbedContent).active == "changes-tab"
        changes = screen.query_one("#changes-table")
        assert changes.row_count == 1
        row = changes.get_row_at(0)
        assert row[1] == "learned" and str(row[3]) == "The user's cat is called Tom."
        assert row[4] == ""

        await pilot.press("u")
        await settle(pilot)
        assert app.memories is not None
        assert [m.text for m in app.memories.listing("semantic")] == []
        assert screen.query_one("#changes-table").get_row_at(0)[4] == "undone"
        assert "The user's cat is called Tom." not in listed(screen)
        await pilot.press("u")  # twice: refused, nothing written
        await settle(pilot)
        assert any("undone already" in n for n in notices(app))


async def test_a_reflection_during_an_edit_updates_the_pane_and_asks(
    settings, memory_loader
) -> None:
    # An update that adds to the fact (a new name would supersede it instead).
    beagle = judged((fact("The user's dog Fido is a beagle."), "update", "M1"))
    app = make_app(settings, memory_loader, ["A beagle!", beagle])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.memories is not None
        app.memories.put(
            DOG, SemanticMemory(subject="the user's dog", fact="The user's dog is called Fido.")
        )
        await type_and_send(pilot, "My dog Fido is a beagle.")
        await settle(pilot)
        screen = await open_pane(pilot)
        await pilot.press("e")
        form = app.screen
        assert isinstance(form, MemoryFormScreen)
        form.query_one("#semantic-fact", TextArea).load_text("The user's dog is called Bello.")

        app.chat.action_reflect()  # the background reflection updates the same memory
        await wait_for(pilot, lambda: "Reflection: updated 1" in notices(app))
        await settle(pilot)
        assert app.screen is form  # the edit is still open, with what was typed
        assert form.query_one("#semantic-fact", TextArea).text == "The user's dog is called Bello."
        assert "Changed in the background" in str(form.query_one("#form-warning", Label).render())
        assert listed(screen) == ["The user's dog Fido is a beagle."]  # the table is up to date
        assert screen.selected_key() == DOG

        await pilot.press("ctrl+s")
        await settle(pilot)
        ask = app.screen
        assert isinstance(ask, ConfirmScreen) and "after you started editing" in ask.question
        assert str(ask.query_one("#confirm", Button).label) == "Keep mine"
        await pilot.click("#confirm")
        await settle(pilot)
        assert app.screen is screen
        assert app.memories.get(DOG).text == "The user's dog is called Bello."
        assert listed(screen) == ["The user's dog is called Bello."]
