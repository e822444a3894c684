"""The memory manager: reflect on a thread's new messages, journaled, and apply.

It follows LangMem's ``create_memory_manager`` (model and store injected; known
memories go in, changes come out), made for small local models: one
schema-constrained call per batch of sentences (:mod:`assistant.reflection.output`),
every draft checked and consolidated before it is kept
(:mod:`assistant.reflection.resolution`), and the resolved changes journaled
before the store is written, so an interrupted run completes with the same
values (DESIGN.md, "Reflection").
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import closing
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, BaseMessageChunk, HumanMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.runnables import Runnable
from langgraph.store.base import PutOp

from assistant.conversations import ConversationStore, Message
from assistant.llm.gate import ModelGate, Preempted
from assistant.memory.consolidation import MERGE_THRESHOLD
from assistant.memory.dates import annotate
from assistant.memory.repository import Memories, StoredMemory
from assistant.memory.schemas import from_value, utcnow
from assistant.reflection.journal import Change, Plan, ReflectionFailed, ReflectionResult
from assistant.reflection.output import Judgement, OutputError, output_schema, parse_output
from assistant.reflection.prompts import reflection_messages
from assistant.reflection.resolution import Resolver, Sentence
from assistant.text import split_sentences

log = logging.getLogger(__name__)


class MemoryManager:
    """Extracts memories from messages and consolidates them with the known ones.

    ``reflect`` works on a thread of ``conversations``; ``plan`` and ``apply`` are
    its two halves (deciding, writing), for evaluation and tests.

    Args:
        model: the chat model that reflects; its output is constrained to JSON.
        memories: the user's memories, over a LangGraph ``BaseStore`` that embeds ``text``.
        conversations: the conversation database, for :meth:`reflect`.
        max_attempts: model calls per batch before the reflection fails.
        max_tokens: the answer's budget per call, in tokens.
        max_sentences: sentences per call.
        related_per_sentence, max_related, min_related_score: the known memories
            shown to the model (cosine similarity; weaker ones are not shown).
        merge_threshold: cosine similarity from which a create updates a twin.
        min_grounding: the share of a memory's content words the user's words hold.
        gate: gives way to replies (see :class:`assistant.llm.gate.ModelGate`).
    """

    def __init__(
        self,
        model: BaseChatModel,
        memories: Memories,
        conversations: ConversationStore | None = None,
        *,
        max_attempts: int = 3,
        max_tokens: int = 1536,
        max_sentences: int = 12,
        related_per_sentence: int = 3,
        max_related: int = 8,
        min_related_score: float = 0.2,
        merge_threshold: float = MERGE_THRESHOLD,
        min_grounding: float = 0.6,
        gate: ModelGate | None = None,
    ) -> None:
        if max_attempts < 1 or max_sentences < 1:
            raise ValueError("max_attempts and max_sentences must be at least 1")
        self.model = model
        self.memories = memories
        self.conversations = conversations
        self.max_attempts = max_attempts
        self.max_tokens = max_tokens
        self.max_sentences = max_sentences
        self.related_per_sentence = related_per_sentence
        self.max_related = max_related
        self.min_related_score = min_related_score
        self.merge_threshold = merge_threshold
        self.min_grounding = min_grounding
        self.gate = gate

    # the public entry points ---------------------------------------------------------

    def reflect(self, thread_id: str) -> ReflectionResult:
        """Reflect on a thread's messages past its cursor, journaled (see the module).

        Returns:
            The result; a failure is recorded in the journal with the raw output
            and returned, not raised.

        Raises:
            StorageError: the conversation database or the store failed (the
                journal keeps what was decided; the next run completes it).
            InputError: no such thread.
            Preempted: a reply started during a model call (with a ``gate``);
                nothing was recorded, and the next run starts over.
        """
        conversations = self._conversations()
        thread = conversations.get_thread(thread_id)
        recovered = False
        # What an interrupted run had decided is written first, and reported: the
        # caller learns what this run wrote, even with no new messages.
        done: tuple[Change, ...] = ()
        if pending := conversations.pending_reflection(thread.id):
            log.info("completing interrupted reflection %s of %s", pending.id, thread.id)
            done = tuple(Plan.changes_from_json(pending.operations))
            self.apply(done)
            conversations.finish_reflection(pending.id)
            recovered = True
        messages = conversations.unreflected(thread.id)
        if not messages:
            status = "applied" if done else "nothing"
            return ReflectionResult(thread.id, status, done, recovered=recovered)
        through = messages[-1].id
        if thread.incognito:
            record = conversations.record_reflection(thread.id, through, operations="{}")
            if record is not None:
                conversations.finish_reflection(record.id)
            return ReflectionResult(thread.id, "incognito", done, recovered=recovered)
        try:
            plan = self.plan(messages, thread_id=thread.id)
        except ReflectionFailed as failure:
            conversations.record_reflection(
                thread.id,
                through,
                operations=None,
                raw_output=failure.raw_output,
                error=str(failure),
                model_calls=failure.model_calls,
                tokens=failure.tokens,
            )
            log.warning(
                "reflection of %s failed: %s; raw output: %.2000s",
                thread.id,
                failure,
                failure.raw_output,
            )
            return ReflectionResult(
                thread.id,
                "failed",
                done,
                model_calls=failure.model_calls,
                tokens=failure.tokens,
                error=str(failure),
                recovered=recovered,
            )
        record = conversations.record_reflection(
            thread.id,
            through,
            operations=plan.to_json(),
            raw_output="\n".join(plan.raw_outputs),
            model_calls=plan.model_calls,
            tokens=plan.tokens,
        )
        if record is None:  # another run (maybe another process) got there first
            log.info("reflection of %s through %d was done by another run", thread.id, through)
            status = "applied" if done else "nothing"
            return ReflectionResult(thread.id, status, done, recovered=recovered)
        self.apply(plan.changes)
        conversations.finish_reflection(record.id)
        log.info(
            "reflected on %s through message %d: %d changes, %d dropped, %d calls, %d tokens",
            thread.id,
            through,
            len(plan.changes),
            len(plan.dropped),
            plan.model_calls,
            plan.tokens,
        )
        return ReflectionResult(
            thread.id,
            "applied",
            (*done, *plan.changes),
            plan.model_calls,
            plan.tokens,
            recovered=recovered,
        )

    def _conversations(self) -> ConversationStore:
        if self.conversations is None:
            raise ValueError("this memory manager was built without a conversation store")
        return self.conversations

    # planning ----------------------------------------------------------------------------

    def plan(self, messages: Sequence[Message], *, thread_id: str) -> Plan:
        """Decide the changes for ``messages`` (complete user messages are read).

        Raises:
            ReflectionFailed: no valid answer within ``max_attempts`` for a batch.
        """
        sentences = [
            Sentence(m.id, text[:400], m.created_at, annotate(text[:400], m.created_at))
            for m in messages
            if m.role == "user" and m.status == "complete"
            for text in split_sentences(m.content)
        ]
        plan = Plan()
        resolver = Resolver(
            self.memories,
            plan,
            sentences,
            thread_id,
            utcnow(),
            merge_threshold=self.merge_threshold,
            min_grounding=self.min_grounding,
        )
        for start in range(0, len(sentences), self.max_sentences):
            batch = sentences[start : start + self.max_sentences]
            known = self._related(batch)
            judgements = self._ask(batch, [k.text for k in known], plan)
            for sentence, judgement in zip(batch, judgements, strict=True):
                resolver.judge(sentence, judgement, known)
        return plan

    def _related(self, batch: Sequence[Sentence]) -> list[StoredMemory]:
        """Known active memories nearest to the sentences, best first."""
        ranked = self.memories.nearest(
            (s.text for s in batch),
            limit=self.related_per_sentence,
            min_score=self.min_related_score,
        )
        return ranked[: self.max_related]

    def _ask(
        self, batch: Sequence[Sentence], known: list[str], plan: Plan
    ) -> list[Judgement | None]:
        from assistant.llm import constrain

        schema = output_schema([s.shown for s in batch], len(known))
        model = constrain(self.model, schema, max_tokens=self.max_tokens)
        prompt: list[BaseMessage] = reflection_messages(known, [s.shown for s in batch])
        error = "no attempt made"
        raw = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                reply = self._call(model, prompt)
            except Preempted:
                raise
            except Exception as exc:
                plan.model_calls += 1
                raise ReflectionFailed(
                    f"the model could not be called: {exc}", raw, plan.model_calls, plan.tokens
                ) from exc
            raw = reply.text
            plan.model_calls += 1
            plan.tokens += _tokens(prompt, reply)
            plan.raw_outputs.append(raw)
            try:
                return parse_output(raw, len(batch))
            except OutputError as exc:
                error = str(exc)
                log.info("reflection output invalid (attempt %d): %s", attempt, error)
                prompt = [
                    *prompt,
                    AIMessage(raw),
                    HumanMessage(
                        f"That answer is invalid: {error}. Answer again with JSON only, "
                        f"one judgement for each of S1 to S{len(batch)}."
                    ),
                ]
        raise ReflectionFailed(
            f"no valid answer in {self.max_attempts} attempts (last: {error})",
            raw,
            plan.model_calls,
            plan.tokens,
        )

    def _call(self, model: Runnable[Any, BaseMessage], prompt: list[BaseMessage]) -> BaseMessage:
        """One model call; with a gate, it waits for quiet and streams, giving way to
        a reply between tokens (closing the stream stops the generation)."""
        if self.gate is None:
            return model.invoke(prompt)
        self.gate.wait_for_quiet()
        reply: BaseMessageChunk | None = None
        with closing(model.stream(prompt)) as chunks:  # type: ignore[arg-type]
            for chunk in chunks:
                self.gate.check()
                reply = chunk if reply is None else reply + chunk
        return AIMessage(
            reply.text if reply is not None else "",
            usage_metadata=getattr(reply, "usage_metadata", None),
        )

    # applying ----------------------------------------------------------------------------

    def apply(self, changes: Sequence[Change]) -> None:
        """Write ``changes`` to the store in one batch. Writing the same changes again
        gives the same store (keys and values are fixed in the changes)."""
        if changes:
            ops = [
                PutOp(self.memories.namespace_of(c.kind), c.key, from_value(c.value).to_value())
                for c in changes
            ]
            self.memories.store.batch(ops)


def _tokens(prompt: list[BaseMessage], reply: BaseMessage) -> int:
    usage = getattr(reply, "usage_metadata", None)
    if usage and usage.get("total_tokens"):
        return int(usage["total_tokens"])
    return count_tokens_approximately([*prompt, reply])
