import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk

from assistant.config import Settings
from assistant.conversations import ConversationStore
from assistant.errors import InputError, ModelError
from assistant.llm import BackendChoice
from assistant.session import ChatSession, ReplyFinished, ReplyToken, UserMessageSaved


class BrokenModel(GenericFakeChatModel):
    """Streams ``good`` pieces, then fails (or hangs, for cancellation tests)."""

    good: int = 2
    hang: bool = False

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        raise NotImplementedError

    async def _astream(
        self, messages: list[BaseMessage], *args: Any, **kwargs: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        for i in range(self.good):
            yield ChatGenerationChunk(message=AIMessageChunk(content=f"part{i} "))
        if self.hang:
            await asyncio.Event().wait()
        raise ConnectionError("the model went away")


def fake(*replies: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(r) for r in replies]))


async def run(session: ChatSession, thread_id: str, text: str) -> list[object]:
    return [event async for event in session.send(thread_id, text)]


async def test_a_turn_saves_both_messages_and_streams(
    store: ConversationStore, settings: Settings, fake_choice: BackendChoice
) -> None:
    session = ChatSession(store, fake("Hello there friend"), fake_choice, settings)
    thread = store.create_thread()
    events, busy = [], []
    async for event in session.send(thread.id, "hi"):
        events.append(event)
        busy.append(session.gate.busy)  # background reflection gives way meanwhile
    assert busy[events.index(next(e for e in events if isinstance(e, ReplyToken)))]
    assert not session.gate.busy
    assert isinstance(events[0], UserMessageSaved)
    assert "".join(e.text for e in events if isinstance(e, ReplyToken)) == "Hello there friend"
    assert isinstance(events[-1], ReplyFinished)
    saved = store.messages(thread.id)
    assert [(m.role, m.content) for m in saved] == [
        ("user", "hi"),
        ("assistant", "Hello there friend"),
    ]
    assert saved[1].model == "fake-model"


async def test_the_message_is_saved_before_the_model_fails(
    store: ConversationStore, settings: Settings, fake_choice: BackendChoice
) -> None:
    session = ChatSession(store, BrokenModel(messages=iter([])), fake_choice, settings)
    thread = store.create_thread()
    with pytest.raises(ModelError, match="went away"):
        await run(session, thread.id, "keep me")
    saved = store.messages(thread.id)
    assert saved[0].content == "keep me"
    assert (saved[1].content, saved[1].status) == ("part0 part1", "error")


async def test_a_cancelled_reply_keeps_what_was_written(
    store: ConversationStore, settings: Settings, fake_choice: BackendChoice
) -> None:
    model = BrokenModel(messages=iter([]), hang=True)
    session = ChatSession(store, model, fake_choice, settings)
    thread = store.create_thread()
    task = asyncio.create_task(run(session, thread.id, "long answer please"))
    while len(store.messages(thread.id)) < 1:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    saved = store.messages(thread.id)
    assert not session.gate.busy
    assert [(m.role, m.status) for m in saved] == [("user", "complete"), ("assistant", "cancelled")]
    assert saved[1].content == "part0 part1"


@pytest.mark.parametrize("text", ["", "   \n\t "])
async def test_an_empty_message_is_refused_unsaved(
    store: ConversationStore, settings: Settings, fake_choice: BackendChoice, text: str
) -> None:
    session = ChatSession(store, fake("x"), fake_choice, settings)
    thread = store.create_thread()
    with pytest.raises(InputError, match="empty"):
        await run(session, thread.id, text)
    assert store.messages(thread.id) == []


async def test_a_huge_message_is_refused_with_the_limit(
    store: ConversationStore, settings: Settings, fake_choice: BackendChoice
) -> None:
    session = ChatSession(store, fake("x"), fake_choice, settings)
    thread = store.create_thread()
    with pytest.raises(InputError, match="1,048,576 characters; the limit is 100,000"):
        await run(session, thread.id, "a" * 1_048_576)
    assert store.messages(thread.id) == []


def test_history_is_trimmed_to_the_budget(
    store: ConversationStore, data_dir, fake_choice: BackendChoice
) -> None:
    settings = Settings.load(data_dir=data_dir, history_tokens=200)
    session = ChatSession(store, fake("x"), fake_choice, settings)
    thread = store.create_thread()
    for i in range(20):
        store.add_message(thread.id, "user", f"question {i} " + "word " * 20)
        store.add_message(thread.id, "assistant", f"answer {i} " + "word " * 20)
    store.add_message(thread.id, "user", "short one")
    prompt = session.build_prompt(thread.id)
    assert prompt[0].type == "system" and prompt[-1].text == "short one"
    assert prompt[1].type == "human"  # the window starts on a question
    assert 3 < len(prompt) < 12
    assert "answer 19" in prompt[-2].text  # the most recent history is the part kept


def test_an_over_budget_latest_message_is_still_sent(
    store: ConversationStore, data_dir, fake_choice: BackendChoice
) -> None:
    settings = Settings.load(data_dir=data_dir, history_tokens=200)
    session = ChatSession(store, fake("x"), fake_choice, settings)
    thread = store.create_thread()
    store.add_message(thread.id, "user", "earlier")
    store.add_message(thread.id, "assistant", "reply")
    store.add_message(thread.id, "user", "the latest " + "long " * 400)
    prompt = session.build_prompt(thread.id)
    assert [m.type for m in prompt] == ["system", "human"]
    assert prompt[-1].text.startswith("the latest")
