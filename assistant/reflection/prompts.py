"""The reflection prompt, assembled from the files in ``assets/prompts/reflection``.

``system.md`` frames the task; ``semantic.md``, ``procedural.md`` and
``episodic.md`` each describe one kind of memory and carry a worked example,
written as ``## Example`` (what the model is shown) and ``## Answer`` (what it
should write). The examples become few-shot turns of the chat (a user message,
then the assistant's answer): small models follow a worked exchange far better
than an example described in prose.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from assistant.assets import read_text
from assistant.reflection.output import known_id, sentence_id

PROMPT_KINDS = ("episodic", "procedural", "semantic")


@dataclass(frozen=True, slots=True)
class KindPrompt:
    """One kind's description and worked example."""

    description: str
    example: str
    answer: str


def parse_kind_prompt(text: str) -> KindPrompt:
    """Split a kind's file into description, example and answer.

    Raises:
        ValueError: the ``## Example`` or ``## Answer`` heading is missing.
    """
    description, sep, rest = text.partition("## Example")
    example, sep2, answer = rest.partition("## Answer")
    if not sep or not sep2:
        raise ValueError("a reflection prompt needs '## Example' and '## Answer' sections")
    return KindPrompt(description.strip(), example.strip(), answer.strip())


@cache
def kind_prompts() -> tuple[KindPrompt, ...]:
    """The bundled prompts of the three kinds."""
    return tuple(parse_kind_prompt(read_text(f"prompts/reflection/{k}.md")) for k in PROMPT_KINDS)


def render_input(known: Sequence[str], sentences: Sequence[str]) -> str:
    """The model's input: known memories as ``M1: ...``, sentences as ``S1: ...``."""
    memories = "\n".join(f"{known_id(i)}: {text}" for i, text in enumerate(known)) or "(none)"
    lines = "\n".join(f"{sentence_id(i)}: {text}" for i, text in enumerate(sentences))
    return f"Known memories:\n{memories}\n\nUser sentences:\n{lines}"


def reflection_messages(known: Sequence[str], sentences: Sequence[str]) -> list[BaseMessage]:
    """System prompt, one worked exchange per kind, then the input to judge."""
    prompts = kind_prompts()
    frame = string.Template(read_text("prompts/reflection/system.md"))
    system = frame.substitute(kinds="\n".join(p.description for p in prompts))
    messages: list[BaseMessage] = [SystemMessage(system)]
    for prompt in prompts:
        messages += [HumanMessage(prompt.example), AIMessage(prompt.answer)]
    messages.append(HumanMessage(render_input(known, sentences)))
    return messages
