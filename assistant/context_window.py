"""The conversation history that goes into a prompt: saved messages as
LangChain messages, and the window of recent ones that fits the history budget
with a start that stays put turn after turn (so llama.cpp's key/value cache of
the prompt's prefix stays valid; see ``ChatSession.build_prompt``)."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.messages.utils import count_tokens_approximately

from assistant.conversations import Message


def to_langchain(messages: Sequence[Message]) -> list[BaseMessage]:
    """Saved messages as langchain messages, skipping empty ones (failed replies)."""
    kinds = {"user": HumanMessage, "assistant": AIMessage}
    return [kinds[m.role](content=m.content) for m in messages if m.content.strip()]


def history_window(past: Sequence[BaseMessage], budget: int, *, step: int) -> list[BaseMessage]:
    """The most recent messages of ``past`` that fit ``budget`` tokens, starting on a
    user message, with a start that moves in steps.

    The start is the first of a fixed set of points (where the running token count
    from the thread's beginning crosses a multiple of ``step``) from which the
    rest fits. Those points depend only on messages already said, so the window's
    start, and with it the prompt's prefix, stays the same turn after turn until
    the window is full; then it jumps ahead by about ``step`` tokens.

    Args:
        past: the messages before the latest, oldest first.
        budget: tokens the window may hold (approximate counts, as langchain's
            ``count_tokens_approximately``).
        step: tokens between two possible starts (at least 1).
    """
    if budget <= 0 or not past:
        return []
    costs = [count_tokens_approximately([m]) for m in past]
    suffix = [0] * (len(past) + 1)
    for i in range(len(past) - 1, -1, -1):
        suffix[i] = suffix[i + 1] + costs[i]
    step = max(step, 1)
    running, armed = 0, True  # the thread's first message is a possible start
    for index, message in enumerate(past):
        if armed and message.type == "human":
            if suffix[index] <= budget:
                return list(past[index:])
            armed = False  # it never fits again: wait for the next point
        before, running = running, running + costs[index]
        armed = armed or running // step > before // step
    # Nothing fits from a point (one long message): the latest messages that fit.
    for index, message in enumerate(past):
        if suffix[index] <= budget and message.type == "human":
            return list(past[index:])
    return []
