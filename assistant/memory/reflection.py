"""Reflection: turn a thread's new messages into memory changes, and apply them.

The memory manager follows LangMem's ``create_memory_manager`` (the model and
store injected; existing memories go in, changes come out) with
three differences that make it work with small local models:

1. **One constrained call.** The user's sentences and the related known
   memories go into one prompt; the answer is decoded under a JSON schema with
   one judgement per sentence (:mod:`assistant.memory.operations`). No tool
   calling. Long batches are split into calls of ``max_sentences``.
2. **Checked before kept.** Every memory must be grounded in the user's words;
   actions that need a known memory but name none become creates; relative
   dates are resolved against the message's time (:mod:`assistant.memory.dates`)
   and date the memory; a rule needs a request about the assistant's answers; a
   plan is a fact, not an experience. The user's own words are the last resort
   (a behaviour request or a self-disclosure the model gave nothing for), and
   the user's name is always kept.
3. **Consolidated.** A create whose text is near a known memory of the same kind
   (cosine similarity >= ``merge_threshold``) updates that memory instead of
   adding a twin; a supersede keeps the old fact with ``invalid_at`` and
   ``superseded_by``; the model's delete retires a memory (``invalid_at``) so it
   stays in history and can be restored. Only the user deletes for good.

Durability (DESIGN.md, "Reflection"): :meth:`MemoryManager.reflect` journals the
resolved changes (every value in full) in the conversation database before it
writes the store, and marks them applied together with advancing the thread's
cursor. A run interrupted in between finds the pending entry and writes the same
values again: no second model call and no duplicates.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, BaseMessageChunk, HumanMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.runnables import Runnable
from langgraph.store.base import PutOp

from assistant.conversations import ConversationStore, Message
from assistant.llm.gate import ModelGate, Preempted
from assistant.memory.changes import (
    Change,
    ChangeOp,
    Origin,
    Plan,
    ReflectionFailed,
    ReflectionResult,
)
from assistant.memory.consolidation import (
    MERGE_THRESHOLD,
    find_twin,
    merge,
    near_duplicate,
    same_text,
    shares_content,
)
from assistant.memory.dates import absolute, annotate, dated_clauses, event_start, with_date
from assistant.memory.memories import Memories, StoredMemory, new_key
from assistant.memory.operations import (
    AnyDraft,
    EpisodeDraft,
    FactDraft,
    Judgement,
    OutputError,
    RuleDraft,
    addresses_assistant,
    behaviour_request,
    first_person,
    first_sentence,
    grounding,
    named_relations,
    output_schema,
    own_name,
    parse_output,
    self_disclosure,
    split_sentences,
    unsupported_names,
    users_statement,
)
from assistant.memory.prompting import reflection_messages
from assistant.memory.schemas import AnyMemory, Provenance, from_value, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of a user message, and how the model is shown it.

    Attributes:
        message_id: the message it is from.
        text: the sentence as written.
        when: when the message was written (relative dates are resolved against it).
        shown: the text with its relative dates resolved in brackets.
    """

    message_id: int
    text: str
    when: datetime
    shown: str


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
        if pending := conversations.pending_reflection(thread.id):
            log.info("completing interrupted reflection %s of %s", pending.id, thread.id)
            self.apply(Plan.changes_from_json(pending.operations))
            conversations.finish_reflection(pending.id)
            recovered = True
        messages = conversations.unreflected(thread.id)
        if not messages:
            return ReflectionResult(thread.id, "nothing", recovered=recovered)
        through = messages[-1].id
        if thread.incognito:
            record = conversations.record_reflection(thread.id, through, operations="{}")
            if record is not None:
                conversations.finish_reflection(record.id)
            return ReflectionResult(thread.id, "incognito", recovered=recovered)
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
            return ReflectionResult(thread.id, "nothing", recovered=recovered)
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
            tuple(plan.changes),
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
        now = utcnow()
        claimed: set[str] = set()  # keys already changed by this plan
        for start in range(0, len(sentences), self.max_sentences):
            batch = sentences[start : start + self.max_sentences]
            known = self._related(batch)
            judgements = self._ask(batch, [k.text for k in known], plan)
            for sentence, judgement in zip(batch, judgements, strict=True):
                drafts = judgement.memories if judgement else []
                before = len(plan.dropped)
                kept = [
                    self._resolve(sentence, draft, known, sentences, thread_id, now, plan, claimed)
                    for draft in drafts
                ]
                # The safety net is a last resort: not when the model's memory was
                # known already or said twice, only when it gave nothing usable.
                reasons = [d["reason"] for d in plan.dropped[before:]]
                repeated = any(
                    r in ("already known", "said twice in this reflection") for r in reasons
                )
                args = (sentences, thread_id, now, plan, claimed, "safety net")
                fallback = None if any(kept) or repeated else _fallback(sentence.text)
                if fallback is not None:
                    self._resolve(sentence, fallback, [], *args)
                # Names are what small models drop most: the user's own, and the
                # people they name ("my partner Joao").
                name = own_name(sentence.text)
                named = [("name", name)] if name else []
                for relation, person in [*named, *named_relations(sentence.text)]:
                    said = re.compile(rf"\b{re.escape(person)}\b")
                    kept = [c.text for c in plan.changes if c.op in ("create", "update")]
                    if not any(said.search(text) for text in kept):
                        fact = f"The user's {relation} is {person}."
                        draft = FactDraft(kind="semantic", fact=fact)
                        self._resolve(sentence, draft, [], *args, timeless=True)
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

    def _resolve(
        self,
        sentence: Sentence,
        draft: AnyDraft,
        known: list[StoredMemory],
        context: Sequence[Sentence],
        thread_id: str,
        now: Any,
        plan: Plan,
        claimed: set[str],
        origin: Origin = "model",
        *,
        timeless: bool = False,
    ) -> bool:
        """Turn one memory the model drew from a sentence into checked, consolidated
        changes; whether it was kept (a drop is recorded with why). A ``timeless``
        memory (a name) takes no date from the sentence."""

        def drop(reason: str) -> bool:
            plan.dropped.append({"sentence": sentence.text, "reason": reason})
            return False

        op = draft.op
        target = _target(draft.target, known)
        sentence = self._home(draft, sentence, context, target)
        if target is not None and target.key in claimed:
            target = None
        if op == "delete":
            if target is None or not shares_content(sentence.text, target.text):
                return drop("delete without a known memory the sentence is about")
            retired = target.memory.model_copy(update={"invalid_at": now, "updated_at": now})
            claimed.add(target.key)
            self._add(plan, "delete", target.key, retired, target, sentence, origin)
            return True
        request = _is_request(sentence.text)
        if isinstance(draft, RuleDraft) and not request:
            # Not a request to the assistant: at most a fact about the user.
            if not (first_person(draft.rule) or "the user" in draft.rule.lower()):
                return drop("not a request about how the assistant should answer")
            draft = FactDraft(kind="semantic", fact=draft.rule, op=draft.op, target=draft.target)
        draft = _normalise(draft, request)
        draft, since = (draft, None) if timeless else _dated(draft, sentence)
        if op not in ("update", "supersede"):
            target = None
        problem = self._ungrounded(draft, sentence, context, target)
        if problem:
            return drop(problem)
        provenance = Provenance(
            source="reflection", thread_id=thread_id, message_ids=(sentence.message_id,)
        )
        memory = draft.build(provenance)
        written = [c.text for c in plan.changes if c.op != "delete" and c.kind == memory.kind]
        if near_duplicate(memory.render(), written):
            return drop("said twice in this reflection")
        if (op in ("update", "supersede") and target is None) or op == "create":
            target = find_twin(
                self.memories, memory, threshold=self.merge_threshold, exclude=claimed
            )
            if target is not None:
                if same_text(target.text, memory.render()):
                    return drop("already known")
                op = "update"
            else:
                op = "create"
        assert target is not None or op == "create"
        if target is not None and same_text(target.text, memory.render()):
            return drop("already known")  # a supersede that changes nothing
        if op == "update" and target is not None and target.kind == memory.kind:
            claimed.add(target.key)
            merged = merge(target.memory, memory, now)
            self._add(plan, "update", target.key, merged, target, sentence, origin)
            return True
        key = new_key()
        if target is not None:  # supersede (or an update across kinds)
            claimed.add(target.key)
            old = target.memory.model_copy(
                update={"invalid_at": now, "superseded_by": key, "updated_at": now}
            )
            self._add(plan, "supersede", target.key, old, target, sentence, origin)
        # "I moved here last month": true since then.
        times = {"created_at": now, "updated_at": now, "valid_from": min(now, since or now)}
        memory = memory.model_copy(update=times)
        self._add(plan, "create", key, memory, None, sentence, origin)
        return True

    def _home(
        self,
        draft: AnyDraft,
        sentence: Sentence,
        context: Sequence[Sentence],
        target: StoredMemory | None,
    ) -> Sentence:
        """The sentence ``draft`` comes from: the one the model put it under or, when
        its words are not there, the sentence of the conversation that holds them
        (small models shift a memory onto the sentence after its own). An update's
        words may come from the memory it rewrites (``target``), as the check has it."""

        def score(candidate: Sentence, *also: str) -> float:
            return max(grounding(claim, [candidate.shown, *also]) for claim in _claims(draft))

        if score(sentence, *([target.text] if target else [])) >= self.min_grounding:
            return sentence
        best = max(context, key=score, default=sentence)
        return best if score(best) >= self.min_grounding else sentence

    def _ungrounded(
        self,
        draft: AnyDraft,
        sentence: Sentence,
        context: Sequence[Sentence],
        target: StoredMemory | None,
    ) -> str | None:
        """Why ``draft`` is not supported by the user's words (and, for an update or
        supersede, the memory it rewrites), or ``None``."""
        if any(dots in draft.text and dots not in sentence.text for dots in ("...", "\u2026")):
            return "incomplete (an ellipsis where words should be)"
        own = [sentence.shown, *([target.text] if target else [])]
        sources = [*own, *(s.shown for s in context if s is not sentence)]
        names = unsupported_names(draft.text, sources)
        if names:
            return f"names not in the conversation: {', '.join(names)}"
        score = max(grounding(claim, own) for claim in _claims(draft))
        if score < self.min_grounding:
            return f"not grounded in the sentence ({score:.0%} of its words)"
        return None

    @staticmethod
    def _add(
        plan: Plan,
        op: ChangeOp,
        key: str,
        memory: AnyMemory,
        before: StoredMemory | None,
        sentence: Sentence,
        origin: Origin = "model",
    ) -> None:
        plan.changes.append(
            Change(
                op,
                memory.kind,
                key,
                memory.to_value(),
                before.memory.to_value() if before else None,
                sentence.text,
                origin,
            )
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


# helpers -------------------------------------------------------------------------------


def _tokens(prompt: list[BaseMessage], reply: BaseMessage) -> int:
    usage = getattr(reply, "usage_metadata", None)
    if usage and usage.get("total_tokens"):
        return int(usage["total_tokens"])
    return count_tokens_approximately([*prompt, reply])


def _claims(draft: AnyDraft) -> list[str]:
    """What of ``draft`` the user's words must support: an experience tells what
    the assistant did, too, so its situation or its lesson."""
    if isinstance(draft, EpisodeDraft):
        return [draft.situation, draft.lesson]
    return [draft.text]


def _target(label: str, known: list[StoredMemory]) -> StoredMemory | None:
    label = label.strip().upper()
    if label.startswith("M") and label[1:].isdigit():
        index = int(label[1:]) - 1
        if 0 <= index < len(known):
            return known[index]
    return None


def _fallback(sentence: str) -> AnyDraft | None:
    """What the user's own words give when the model gives nothing usable: a rule
    from a behaviour request, or a fact from a self-disclosure."""
    if request := behaviour_request(sentence):
        return RuleDraft(kind="procedural", rule=request)
    if disclosure := self_disclosure(sentence):
        return FactDraft(kind="semantic", fact=disclosure)
    return None


_PAST = re.compile(
    r"\b(?:\w{2,}ed|was|were|had|did|went|ran|got|made|took|saw|found|learnt|lost|won|"
    r"forgot|came|left|began|broke|bought|felt|gave|kept|knew|met|paid|said|sent|spent|"
    r"thought|told|wore|wrote)\b",
    re.IGNORECASE,
)


def _dated(draft: AnyDraft, sentence: Sentence) -> tuple[AnyDraft, datetime | None]:
    """The draft with relative dates made absolute and, for a fact or experience
    without a date, the date of the clause of the sentence it comes from; and
    since when it holds (that date, if past). An "experience" of something that
    has not happened (a plan, an appointment) is a fact."""
    if isinstance(draft, RuleDraft):
        return draft, None
    when = sentence.when
    if isinstance(draft, EpisodeDraft) and (
        event_start(sentence.text, when) is None and not _PAST.search(sentence.text)
    ):
        draft = FactDraft(kind="semantic", fact=draft.situation, op=draft.op, target=draft.target)
    main = draft.fact if isinstance(draft, FactDraft) else draft.situation
    main = absolute(main, when)
    dates = [d for clause, d in dated_clauses(sentence.text, when) if shares_content(clause, main)]
    anchor = when.astimezone().date()
    if dates:
        state = dates[0].day <= anchor and not _PAST.search(main)  # "lives in", not "moved"
        main = with_date(main, dates[0], since=state)
    past = [d.day for d in dates if d.day <= anchor]
    since = datetime(*min(past).timetuple()[:3], tzinfo=UTC) if past else None
    if isinstance(draft, FactDraft):
        return draft.model_copy(update={"fact": main}), since
    texts = {f: absolute(getattr(draft, f), when) for f in ("action", "outcome", "lesson")}
    return draft.model_copy(update={**texts, "situation": main}), since


def _is_request(sentence: str) -> bool:
    """Whether a rule may come from ``sentence``: a request about the assistant's
    behaviour, not words to someone else or encouragement."""
    return behaviour_request(sentence) is not None or addresses_assistant(sentence)


def _normalise(draft: AnyDraft, request: bool) -> AnyDraft:
    """Fix what small models get wrong about kinds, length and person.

    Facts and rules keep their first sentence. A "rule" in the first person from a
    sentence that is no request is a fact about the user; a fact in the first
    person is kept as the user's own statement.
    """
    if isinstance(draft, FactDraft):
        draft = draft.model_copy(update={"fact": first_sentence(draft.fact)})
    elif isinstance(draft, RuleDraft):
        draft = draft.model_copy(update={"rule": first_sentence(draft.rule)})
    if isinstance(draft, RuleDraft) and not request and first_person(draft.rule):
        draft = FactDraft(kind="semantic", fact=draft.rule, op=draft.op, target=draft.target)
    if isinstance(draft, FactDraft) and first_person(draft.fact):
        draft = draft.model_copy(update={"fact": users_statement(draft.fact)})
    return draft
