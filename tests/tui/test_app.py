"""The Textual app through run_test()/Pilot."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk
from textual import events
from textual.widgets import Button, Input, Markdown
from textual.worker import WorkerCancelled

from assistant.config import Settings
from assistant.conversations import ConversationStore
from assistant.errors import ModelError
from assistant.llm import BackendChoice
from assistant.runtime import Runtime
from tui.app import AssistantApp
from tui.widgets.chat import Composer, MessageView
from tui.widgets.sidebar import ThreadItem, ThreadList

SIZE = (110, 32)


class SlowModel(GenericFakeChatModel):
    """Streams numbered words every 20 ms; fails after ``fail_after`` words if set."""

    words: int = 500
    fail_after: int | None = None

    async def _astream(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        for i in range(self.words):
            if self.fail_after is not None and i == self.fail_after:
                raise ConnectionError("the model crashed")
            await asyncio.sleep(0.02)
            yield ChatGenerationChunk(message=AIMessageChunk(content=f"w{i} "))


def loader_of(model, choice: BackendChoice):
    return lambda settings: (choice, model)


def make_app(settings: Settings, model=None, choice=None, loader=None) -> AssistantApp:
    """The app on ``settings``' data dir, with ``loader`` or a fake model and choice,
    without memories."""
    choice = choice or BackendChoice("local", "fake", "fake · fake", "test", None, "http://x")
    model = model or GenericFakeChatModel(messages=iter([AIMessage("Sure: **done**.")] * 10))
    loader = loader or loader_of(model, choice)
    return AssistantApp(Runtime(settings, backend_loader=loader, with_memories=False))


async def type_and_send(pilot, text: str) -> None:
    pilot.app.query_one(Composer).text = text
    await pilot.press("enter")


async def settle(pilot) -> None:
    """Wait for the app's workers and for the reflections asked for (they run in the
    scheduler's thread), then for the messages they posted. The model loads in a
    worker started after the first refresh: first wait for it to be done. A worker
    cancelled while waited on (its screen was dismissed) does not end the wait."""
    for _ in range(1200):
        if pilot.app.session is not None or pilot.app.backend_error is not None:
            break
        await pilot.pause(0.05)
    for _ in range(100):
        try:
            await pilot.app.workers.wait_for_complete()
            break
        except WorkerCancelled:  # a dismissed screen's worker (a form that saved)
            await pilot.pause()
    for _ in range(2400):
        if not pilot.app.asked:
            break
        await pilot.pause(0.05)
    await pilot.pause()


def views(app: AssistantApp) -> list[tuple[str, str]]:
    return [(v.role, v.content) for v in app.query(MessageView)]


def reply_text(app: AssistantApp) -> str:
    return app.query(MessageView).last().query_one(Markdown).source


def sidebar_titles(app: AssistantApp) -> list[str]:
    return [item.thread.title for item in app.query(ThreadItem)]


@pytest.mark.model
async def test_chat_with_the_embedded_model_and_find_it_after_a_restart(data_dir) -> None:
    settings = Settings.load(data_dir=data_dir, backend="local", temperature=0.0)
    store = ConversationStore(settings.database_path)
    app = AssistantApp(Runtime(settings, with_memories=False))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "embedded · SmolLM2-135M-Instruct" in str(app.query_one("#status").render())
        await type_and_send(pilot, "Hello! What can you do?")
        await settle(pilot)
        assert views(app)[0] == ("user", "Hello! What can you do?")
        assert reply_text(app).strip(), "the streamed reply is shown"
        assert sidebar_titles(app) == ["Hello! What can you do?"]
        saved = store.messages(app.chat.thread_id)
        assert [m.role for m in saved] == ["user", "assistant"]
        assert reply_text(app).strip() == saved[1].content

    again = AssistantApp(Runtime(settings, with_memories=False))
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert sidebar_titles(again) == ["Hello! What can you do?"]
        assert [role for role, _ in views(again)] == ["user", "assistant"]


async def test_new_rename_and_delete_conversations(settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_and_send(pilot, "first conversation")
        await settle(pilot)
        first = app.chat.thread_id
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.chat.thread_id is None and views(app) == []
        assert app.query_one(ThreadList).index is None  # nothing highlighted
        await type_and_send(pilot, "second conversation")
        await settle(pilot)
        assert sidebar_titles(app) == ["second conversation", "first conversation"]

        await pilot.press("f2")
        await pilot.pause()
        app.screen.query_one(Input).value = "Renamed"
        await pilot.press("enter")
        await pilot.pause()
        assert sidebar_titles(app) == ["Renamed", "first conversation"]

        await pilot.press("f8")
        await pilot.pause()
        await pilot.click("#cancel")
        await pilot.pause()
        assert len(sidebar_titles(app)) == 2
        await pilot.press("f8")
        await pilot.pause()
        app.screen.query_one("#confirm", Button).press()
        await pilot.pause()
        assert sidebar_titles(app) == ["first conversation"]
        assert app.chat.thread_id == first
        assert views(app)[0] == ("user", "first conversation")


async def test_opening_a_conversation_from_the_sidebar(settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_and_send(pilot, "alpha")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await type_and_send(pilot, "beta")
        await settle(pilot)
        app.query_one(ThreadList).focus()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert views(app)[0] == ("user", "alpha")
        assert app.query_one(ThreadList).highlighted_child.thread.title == "alpha"


async def test_escape_stops_a_reply_and_keeps_it(settings) -> None:
    app = make_app(settings, SlowModel(messages=iter([])))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_and_send(pilot, "talk for a long time")
        while "w3" not in reply_text(app):
            await pilot.pause(0.05)
        status = app.query_one("#status")
        app.chat._show_due(app.chat.thread_id, None)  # the status line's refresh every second
        assert "writing…" in str(status.render())  # ...keeps saying a reply is on its way
        await pilot.press("escape")
        await settle(pilot)
        note = app.query(MessageView).last().query_one(".note")
        assert "Stopped" in str(note.render())
        saved = app.store.messages(app.chat.thread_id)
        assert saved[-1].status == "cancelled" and saved[-1].content.startswith("w0 w1 w2")
        assert "writing" not in str(app.query_one("#status").render())
        assert "thinking" not in str(app.query_one("#status").render())


async def test_a_failing_model_is_shown_not_raised(settings) -> None:
    app = make_app(settings, SlowModel(messages=iter([]), fail_after=3))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_and_send(pilot, "hello?")
        await settle(pilot)
        note = str(app.query(MessageView).last().query_one(".note").render())
        assert "the model crashed" in note
        assert any("the model crashed" in n.message for n in app._notifications)
        saved = app.store.messages(app.chat.thread_id)
        assert saved[0].content == "hello?" and saved[-1].status == "error"
        await type_and_send(pilot, "still here")  # the app keeps working
        await settle(pilot)
        assert app.store.messages(app.chat.thread_id)[-2].content == "still here"


async def test_an_empty_or_huge_message_is_refused_and_kept_in_the_box(settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_and_send(pilot, "   ")
        await pilot.pause()
        # Read at once: a notification leaves the list when its time is up.
        assert any("empty" in n.message for n in app._notifications)
        await type_and_send(pilot, "x" * 1_048_576)
        await pilot.pause()
        assert any("limit is 100,000" in n.message for n in app._notifications)
        assert len(app.query_one(Composer).text) == 1_048_576
        assert app.store.list_threads() == []


async def test_text_and_enter_read_in_one_go_send_the_whole_text(settings) -> None:
    """A burst (a paste without brackets, a fast typist, a slow link) reaches the
    app as keys read together: Enter must wait for the characters before it."""
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = "Hi, I'm Marta\nand my cat is Mis"
        keys = [events.Key("ctrl+j", None) if ch == "\n" else events.Key(ch, ch) for ch in text]
        after = [events.Key(ch, ch) for ch in "ok"]  # typed on, in the same burst
        for key in [*keys, events.Key("enter", "\r"), *after]:
            app.post_message(key)
        await settle(pilot)
        assert [m.content for m in app.store.messages(app.chat.thread_id)][:1] == [text]
        assert app.query_one(Composer).text == "ok"


async def test_text_enter_and_ctrl_n_in_one_go_send_the_text_where_it_was_typed(
    settings,
) -> None:
    """Ctrl+N read in the same burst waits its turn: the message goes to the
    conversation it was typed in, and the new conversation opens after."""
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.chat.open_thread(None)
        await settle(pilot)
        keys = [events.Key(ch, ch) for ch in "where I typed it"]
        for key in [*keys, events.Key("enter", "\r"), events.Key("ctrl+n", None)]:
            app.post_message(key)
        await settle(pilot)
        (thread,) = app.store.list_threads()
        assert [m.content for m in app.store.messages(thread.id)][:1] == ["where I typed it"]
        assert app.chat.thread_id is None  # the new conversation, opened after


async def test_the_fallback_is_said_plainly(settings) -> None:
    notice = "Ollama at http://127.0.0.1:9 did not answer; demo quality"
    model = "SmolLM2-135M-Instruct"
    choice = BackendChoice("local", model, "embedded · m", "down", notice, "http://127.0.0.1:9")
    app = make_app(settings, choice=choice)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # Above the chat, not over the message box (tests/tui/test_startup.py).
        assert "demo quality" in str(app.query_one("#notice").render())
        assert "(demo quality)" in str(app.query_one("#status").render())


async def test_an_unexpected_failure_while_loading_is_explained(settings) -> None:
    def crashing(settings: Settings):
        raise RuntimeError("llama_decode returned -3")

    app = make_app(settings, loader=crashing)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "llama_decode returned -3" in str(app.query_one("#status").render())


async def test_no_model_at_all_is_explained(settings) -> None:
    def broken(settings: Settings):
        raise ModelError("The bundled model is not installed. Run pip install ...")

    app = make_app(settings, loader=broken)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "No model" in str(app.query_one("#status").render())
        await type_and_send(pilot, "hello")
        await pilot.pause()
        assert any("not installed" in n.message for n in app._notifications)
        assert app.query_one(Composer).text == "hello"


async def test_quitting_mid_reply_keeps_the_partial_reply(settings) -> None:
    app = make_app(settings, SlowModel(messages=iter([])))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_and_send(pilot, "go on and on")
        while "w2" not in reply_text(app):
            await pilot.pause(0.05)
        thread_id = app.chat.thread_id
        await pilot.press("ctrl+q")
    saved = ConversationStore(settings.database_path).messages(thread_id)
    assert [(m.role, m.status) for m in saved] == [("user", "complete"), ("assistant", "cancelled")]


async def test_actions_are_in_the_command_palette(settings) -> None:
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert {"New conversation", "Rename conversation", "Delete conversation"} <= titles
        assert {"Stop reply", "Backend", "Quit"} <= titles
        # Each says what it does.
        assert all(command.help for command in app.get_system_commands(app.screen))


async def test_a_new_conversation_mid_reply_lets_the_reply_finish_in_the_background(
    settings,
) -> None:
    app = make_app(settings, SlowModel(messages=iter([]), words=30))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await type_and_send(pilot, "first")
        first = app.chat.thread_id
        while "w2" not in reply_text(app):
            await pilot.pause(0.05)
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert app.chat.thread_id is None and views(app) == []
        saved = app.store.messages(first)
        assert saved[-1].status == "complete" and saved[-1].content.endswith("w29")
