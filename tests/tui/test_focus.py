"""Where typing goes on the chat screen (issue 17), through Pilot: after "2
memories used" is expanded, after a memory link opened the pane and Esc came
back, after a dialog, after a past conversation was opened, and with the focus
on the log, keys and pastes reach the message box, in order; the sidebar keeps
its own keys. Real SQLite, and Chroma with MiniLM where the pane opens."""

from textual import events
from textual.widgets import Input
from textual.widgets._collapsible import CollapsibleTitle

from assistant.config import Settings
from assistant.conversations import ConversationStore
from assistant.memory.schemas import ProceduralMemory, SemanticMemory
from tests.tui.test_app import SIZE, make_app, settle
from tests.tui.test_background_reflection import wait_for
from tests.tui.test_memory_commands import make_app as make_app_with_memories
from tests.tui.test_memory_pane import DOG, METRIC
from tui.app import AssistantApp
from tui.screens.dialogs import PromptScreen
from tui.screens.memories import MemoryScreen
from tui.widgets.chat import ChatLog, Composer, MemoriesUsed, MemoryLink, MessageView, PastLink
from tui.widgets.sidebar import ThreadList


def seed(settings: Settings) -> tuple[str, str]:
    """An older conversation, and the latest (opened at start) whose reply used
    :data:`DOG` and :data:`METRIC`; their ids."""
    store = ConversationStore(settings.database_path)
    old = store.create_thread()
    store.add_message(old.id, "user", "Plan a trip to Lyon")
    thread = store.create_thread()
    store.add_message(thread.id, "user", "How far is a 3 mile walk?")
    store.add_message(thread.id, "assistant", "About 4.8 km.", memories_used=[DOG, METRIC])
    store.close()
    return old.id, thread.id


def composer(app: AssistantApp) -> Composer:
    return app.query_one(Composer)


async def expand(pilot) -> MemoriesUsed:
    """Click "2 memories used" (its title takes the focus on the click)."""
    used = pilot.app.query_one(MemoriesUsed)
    await pilot.click(used.query_one(CollapsibleTitle))
    await settle(pilot)
    assert not used.collapsed
    return used


async def test_after_expanding_the_memories_used_typing_reaches_the_box(settings) -> None:
    seed(settings)
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await expand(pilot)
        await pilot.press(*"hi there")
        assert composer(app).text == "hi there"
        assert app.focused is composer(app)


async def test_back_from_the_memory_pane_typing_reaches_the_box_and_tab_enter_stays(
    settings, memory_loader
) -> None:
    seed(settings)
    app = make_app_with_memories(settings, memory_loader, [])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.memories is not None
        app.memories.put(DOG, SemanticMemory(subject="dog", fact="The user's dog is Fido."))
        app.memories.put(METRIC, ProceduralMemory(rule="Answer in metric units."))
        used = await expand(pilot)
        links = list(used.query(MemoryLink))
        assert len(links) == 2
        await pilot.click(links[0])
        await wait_for(pilot, lambda: isinstance(app.screen, MemoryScreen))
        await settle(pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.chat)
        await pilot.press(*"ok")
        assert composer(app).text == "ok"
        await pilot.press("tab", "enter")  # not into the next memory link, and the pane
        await settle(pilot)
        assert app.screen is app.chat


async def test_after_a_dialog_typing_reaches_the_box(settings) -> None:
    seed(settings)
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.chat.set_focus(app.query_one(ChatLog))  # the log was clicked to scroll it
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        app.screen.query_one(Input).value = "Walks"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is app.chat)
        await pilot.pause()
        assert app.focused is composer(app)
        await pilot.press(*"next")
        assert composer(app).text == "next"


async def test_after_a_past_conversation_is_opened_typing_reaches_the_box(settings) -> None:
    old, _ = seed(settings)
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        reply = app.query(MessageView).last()
        await reply.show_memories([], [], [(old, "2026-03-10 · Lyon: Plan a trip to Lyon")])
        await pilot.pause()  # laid out, so that the click finds it
        used = await expand(pilot)
        await pilot.click(used.query_one(PastLink))
        await wait_for(pilot, lambda: app.chat.thread_id == old)
        await pilot.pause()
        await pilot.press(*"more")
        assert composer(app).text == "more"


async def test_keys_and_pastes_read_while_the_log_has_focus_reach_the_box_in_order(
    settings,
) -> None:
    """A burst read at once: the first key moves the focus, the rest follow it."""
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.chat.set_focus(app.query_one(ChatLog))
        keys = [events.Key(ch, ch) for ch in "Hello, "]
        for key in [*keys, events.Paste("my dog\nis Fido"), events.Key("enter", "\r")]:
            app.post_message(key)
        await settle(pilot)
        saved = app.store.messages(app.chat.thread_id)
        assert [m.content for m in saved][:1] == ["Hello, my dog\nis Fido"]
        assert composer(app).text == ""


async def test_the_sidebar_keeps_its_keys_and_letters_go_to_the_box(settings) -> None:
    seed(settings)
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        sidebar = app.query_one(ThreadList)
        app.chat.set_focus(sidebar)
        await pilot.press("down")
        assert sidebar.index == 1 and app.focused is sidebar  # arrows move in the list
        await pilot.press("r")  # its own key: rename
        await wait_for(pilot, lambda: isinstance(app.screen, PromptScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.chat)
        assert app.focused is sidebar  # back where it was
        await pilot.press(*"yes")
        assert composer(app).text == "yes" and app.focused is composer(app)
