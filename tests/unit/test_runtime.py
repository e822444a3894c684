"""The composition root: each part opened once, on first use, and closed in order."""

import threading

from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant.config import Settings
from assistant.llm import BackendChoice
from assistant.memory.factory import open_memories
from assistant.runtime import Runtime


def test_parts_open_once_on_first_use_and_close_in_order(
    settings: Settings, fake_choice: BackendChoice
) -> None:
    loads: list[str] = []
    closed: list[str] = []

    def backend(given: Settings):
        loads.append("model")
        return fake_choice, GenericFakeChatModel(messages=iter([AIMessage("Hi.")]))

    def memories(given: Settings):
        loads.append("memories")
        opened = open_memories(given)
        close = opened.close
        opened.close = lambda: (closed.append("memories"), close())  # type: ignore[method-assign]
        return opened

    runtime = Runtime(settings, backend_loader=backend, memory_loader=memories)
    assert loads == [] and not runtime.memories_opened  # nothing opens before it is asked
    threads = [threading.Thread(target=lambda: runtime.manager) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(loads) == ["memories", "model"]  # once, however many ask at once
    assert runtime.manager.gate is runtime.gate is runtime.session().gate
    assert runtime.session().choice is fake_choice

    conversations = runtime.conversations
    close = conversations.close
    conversations.close = lambda: (closed.append("conversations"), close())  # type: ignore[method-assign]
    with runtime:
        pass
    assert closed == ["memories", "conversations"]
    assert not runtime.memories_opened
