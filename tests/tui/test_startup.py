"""Start-up and waiting through Pilot (issue 17, issue 18 items 4 and 6): the
memories open beside the model, a message sent while the model loads waits and
is sent once it is ready (or goes back to the box), the backend's note sits
above the chat, the status line counts the seconds of a wait, a message whose
saving fails stays in the box, and the footer fits 80 columns.

The model's loading is held by a loader that waits for an event; the store,
the scheduler and Chroma are real."""

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from textual.widgets import Footer, Markdown
from textual.widgets._footer import FooterKey

from assistant.config import Settings
from assistant.errors import ModelError
from assistant.llm import BackendChoice
from assistant.runtime import Runtime
from tests.tui.test_app import SIZE, settle, type_and_send
from tests.tui.test_background_reflection import wait_for
from tui.app import AssistantApp
from tui.screens.chat_queue import WAITING_NOTE
from tui.screens.memories import MemoryScreen
from tui.widgets.chat import Composer, MessageView
from tui.widgets.sidebar import ThreadList
from tui.widgets.status import StartupNotice, StatusBar

CHOICE = BackendChoice("local", "fake", "fake · fake", "test", None, "http://x")


class HeldLoader:
    """A backend loader that waits until :meth:`release` (the model loading),
    then gives ``model``, or raises ``error``."""

    def __init__(self, model: Any = None, error: Exception | None = None, choice=CHOICE) -> None:
        self.entered, self.go = threading.Event(), threading.Event()
        self.model = model or GenericFakeChatModel(messages=iter([AIMessage("Sure.")] * 10))
        self.error, self.choice = error, choice

    def __call__(self, settings: Settings):
        self.entered.set()
        assert self.go.wait(30), "the test never let the model load"
        if self.error is not None:
            raise self.error
        return self.choice, self.model

    def release(self) -> None:
        self.go.set()


def status(app: AssistantApp) -> str:
    return str(app.query_one(StatusBar).render())


def notices(app: AssistantApp) -> list[str]:
    return [n.message for n in app._notifications]


def saved(app: AssistantApp) -> list[tuple[str, str]]:
    if app.chat.thread_id is None:
        return []
    return [(m.role, m.content) for m in app.store.messages(app.chat.thread_id)]


def shown(app: AssistantApp) -> list[tuple[str, str]]:
    """The log's messages as shown (a reply's text is its Markdown's source)."""
    return [
        (v.role, v.content if v.role == "user" else v.query_one(Markdown).source.strip())
        for v in app.query(MessageView)
    ]


def waiting_views(app: AssistantApp) -> list[str]:
    return [
        v.content
        for v in app.query(MessageView)
        if WAITING_NOTE in str(v.query_one(".note").render())
    ]


async def test_the_memory_pane_opens_while_the_model_loads(settings, memory_loader) -> None:
    """The Runtime has a lock a part: the memories open while the model loads."""
    loader = HeldLoader()
    app = AssistantApp(Runtime(settings, backend_loader=loader, memory_loader=memory_loader))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, loader.entered.is_set)
        try:
            # Chroma and MiniLM open in a second or two; a loaded CI machine gets 20.
            await wait_for(pilot, lambda: app.memories is not None, seconds=20)
            await pilot.press("f3")
            await wait_for(pilot, lambda: isinstance(app.screen, MemoryScreen))
            assert app.session is None and app.scheduler is None  # the model still loads
            await pilot.press("escape")
            await wait_for(pilot, lambda: "Loading the model… " in status(app))
        finally:
            loader.release()
        await settle(pilot)
        assert app.session is not None and app.session.recall is not None
        assert app.scheduler is not None  # once both are there
        assert status(app).startswith("● fake · fake")


async def test_quitting_while_the_memories_open_starts_nothing(settings, memory_loader) -> None:
    """The memories open in a thread that outlives a quit, as the model loads in
    one: once they are open, nothing may start (no session, no scheduler)."""
    entered, go, opened = threading.Event(), threading.Event(), threading.Event()

    def slow_memories(settings: Settings):
        entered.set()
        go.wait(30)
        try:
            return memory_loader(settings)
        finally:
            opened.set()

    model = GenericFakeChatModel(messages=iter([]))
    runtime = Runtime(
        settings, backend_loader=lambda s: (CHOICE, model), memory_loader=slow_memories
    )
    app = AssistantApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, entered.is_set)
        await pilot.press("ctrl+q")
    go.set()
    assert opened.wait(30)
    await asyncio.sleep(0)  # the worker's thread goes on after the loader returns
    assert app.session is None and app.scheduler is None
    runtime.close()


async def test_messages_sent_while_the_model_loads_are_sent_once_it_is_ready(settings) -> None:
    loader = HeldLoader(GenericFakeChatModel(messages=iter([AIMessage("One."), AIMessage("Two.")])))
    app = AssistantApp(Runtime(settings, backend_loader=loader, with_memories=False))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, loader.entered.is_set)
        await type_and_send(pilot, "first question")
        await type_and_send(pilot, "second question")
        await pilot.pause()
        # Visibly waiting: in the log with a note, out of the box, said in the status line.
        assert waiting_views(app) == ["first question", "second question"]
        assert app.query_one(Composer).text == ""
        assert "2 messages are sent when the model is ready" in status(app)
        assert saved(app) == []  # nothing sent yet
        await wait_for(pilot, lambda: "Loading the model… 1 s" in status(app))
        loader.release()
        await settle(pilot)
        await wait_for(pilot, lambda: len(saved(app)) == 4)
        await settle(pilot)
        assert saved(app) == [
            ("user", "first question"),
            ("assistant", "One."),
            ("user", "second question"),
            ("assistant", "Two."),
        ]
        assert shown(app) == saved(app)  # in order, each once, no note left
        assert waiting_views(app) == []
        assert "sent when the model is ready" not in status(app)


async def test_a_message_waiting_for_a_model_that_fails_goes_back_to_the_box(settings) -> None:
    loader = HeldLoader(error=ModelError("The bundled model is not installed. Run setup."))
    app = AssistantApp(Runtime(settings, backend_loader=loader, with_memories=False))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, loader.entered.is_set)
        await type_and_send(pilot, "are you there?")
        await pilot.pause()
        app.query_one(Composer).text = "and"  # typed on meanwhile
        loader.release()
        await settle(pilot)
        assert app.query_one(Composer).text == "are you there?\nand"
        assert any("Not sent: The bundled model is not installed" in n for n in notices(app))
        assert waiting_views(app) == [] and saved(app) == []


async def test_esc_takes_a_waiting_message_back(settings) -> None:
    loader = HeldLoader()
    app = AssistantApp(Runtime(settings, backend_loader=loader, with_memories=False))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, loader.entered.is_set)
        await type_and_send(pilot, "never mind")
        await pilot.pause()
        assert waiting_views(app) == ["never mind"]
        await pilot.press("escape")
        await pilot.pause()
        assert app.query_one(Composer).text == "never mind"
        assert waiting_views(app) == []
        loader.release()
        await settle(pilot)
        assert saved(app) == []  # nothing was sent once the model was ready


async def test_the_backend_note_is_above_the_chat_and_names_the_file_and_key(
    settings, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "my-config.toml"
    monkeypatch.setenv("ASSISTANT_CONFIG", str(config))
    notice = "Ollama at http://127.0.0.1:9 does not have the model 'llama3.2'"
    choice = BackendChoice("ollama", "llama3.2", "ollama · llama3.2", "asked", notice, "x")
    loader = HeldLoader(choice=choice)
    loader.release()
    app = AssistantApp(Runtime(settings, backend_loader=loader, with_memories=False))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        panel = app.query_one(StartupNotice)
        text = str(panel.render())
        assert panel.shown and notice in text
        assert f'set backend = "auto", "ollama" or "local" in {config}' in text
        assert not any(notice in n for n in notices(app))  # no toast over the box
        assert panel.region.bottom <= app.query_one(Composer).region.y  # covers nothing
        await pilot.click(StartupNotice)
        await pilot.pause()
        assert not panel.shown


def test_the_backend_note_names_the_config_file_given_and_says_it_once(tmp_path) -> None:
    from tui.app import backend_notice

    given = tmp_path / "given.toml"
    missing = BackendChoice("ollama", "m", "ollama · m", "asked", "Ollama has no m", "x")
    assert backend_notice(missing, given) == (
        f'Ollama: Ollama has no m. To change the backend, set backend = "auto", "ollama" or '
        f'"local" in {given}.'
    )
    fallback = f'Ollama did not answer; to stop this check, set backend = "local" in {given}.'
    local = BackendChoice("local", "tiny", "embedded · tiny", "down", fallback, "x")
    assert backend_notice(local, given) == f"Using the embedded model: {fallback}"
    assert backend_notice(CHOICE, given) is None


async def test_thinking_counts_the_seconds_and_the_tick_keeps_the_reply_state(settings) -> None:
    """A model that takes long before its first token (a hung Ollama, issue 18.6):
    the status line says so with the seconds; the refresh every second keeps it."""
    first = asyncio.Event()

    class Hesitant(GenericFakeChatModel):
        async def _astream(
            self, messages: list[BaseMessage], *args: Any, **kwargs: Any
        ) -> AsyncIterator[ChatGenerationChunk]:
            await first.wait()
            for word in ("at ", "last"):
                yield ChatGenerationChunk(message=AIMessageChunk(content=word))
                await asyncio.sleep(0.5)

    loader = HeldLoader(Hesitant(messages=iter([])))
    loader.release()
    app = AssistantApp(Runtime(settings, backend_loader=loader, with_memories=False))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_and_send(pilot, "hello?")
        await wait_for(pilot, lambda: "thinking… 2 s (Esc stops)" in status(app))
        app.chat._tick()
        app.chat._show_due(app.chat.thread_id, None)  # what the tick does with a scheduler
        await pilot.pause()
        assert "thinking… 2 s" in status(app) or "thinking… 3 s" in status(app)
        first.set()
        await wait_for(pilot, lambda: "writing… (Esc stops)" in status(app))
        app.chat._show_due(app.chat.thread_id, None)
        assert "writing…" in status(app)
        await settle(pilot)
        assert "thinking" not in status(app) and "writing" not in status(app)


async def test_a_message_that_cannot_be_saved_stays_in_the_box(settings) -> None:
    """A full disk (issue 18.4), made real: SQLite may not grow the database file."""
    loader = HeldLoader(GenericFakeChatModel(messages=iter([AIMessage("Hello.")] * 2)))
    loader.release()
    app = AssistantApp(Runtime(settings, backend_loader=loader, with_memories=False))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_and_send(pilot, "hi")
        await settle(pilot)
        before = saved(app)
        db = app.store._db
        (pages,) = db.execute("PRAGMA page_count").fetchone()
        db.execute(f"PRAGMA max_page_count = {pages}")
        text = "a long message " * 2000
        await type_and_send(pilot, text)
        await settle(pilot)
        assert app.query_one(Composer).text == text
        assert any(
            n.startswith("Nothing was saved: The conversation database")
            and "Your message stays in the box." in n
            for n in notices(app)
        )
        assert saved(app) == before and shown(app) == before
        assert not any(
            "partial reply" in str(v.query_one(".note").render()) for v in app.query(MessageView)
        )
        db.execute("PRAGMA max_page_count = 1073741823")  # space again: it sends
        await pilot.press("enter")
        await settle(pilot)
        assert saved(app)[-2:] == [("user", text), ("assistant", "Hello.")]
        assert app.query_one(Composer).text == ""


async def test_the_footer_fits_80_columns_and_ctrl_b_hides_the_sidebar(settings) -> None:
    loader = HeldLoader()
    loader.release()
    app = AssistantApp(Runtime(settings, backend_loader=loader, with_memories=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        keys = list(app.screen.query_one(Footer).query(FooterKey))
        described = {key.description for key in keys}
        assert {"Send", "New", "Memories", "Incognito", "Sidebar", "Quit"} <= described
        palette = next(key for key in keys if key.key == "ctrl+p")
        assert palette.region.right <= 80
        for key in keys:
            if key is not palette:  # whole, and clear of the palette's key on the right
                assert key.region.right <= palette.region.x, key.description
            assert key.region.width >= len(key.key_display) + len(key.description) + 2
        sidebar = app.query_one(ThreadList)
        width = sidebar.region.width
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert sidebar.region.width < width
