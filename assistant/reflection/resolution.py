"""From what the model drew from a sentence to checked, consolidated changes.

:class:`Resolver` takes each memory the model wrote for a sentence (a draft) and
decides what it becomes in the plan of one reflection: it checks the draft
against the user's words (:func:`assistant.text.grounding`; names must occur),
fixes what small models get wrong about kinds, person and length, dates it from
the sentence's relative dates (:mod:`assistant.memory.dates`), and consolidates
it with the known memories (an update of a twin, a supersede that keeps the old
fact as history). When the model gives nothing usable, the user's own words are
the safety net (a behaviour request, a self-disclosure), and the names the user
tells are always kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from assistant.memory.consolidation import (
    MERGE_THRESHOLD,
    find_replaced,
    find_twin,
    merge,
    near_duplicate,
    same_text,
    shares_content,
)
from assistant.memory.dates import absolute, dated_clauses, event_start, with_date
from assistant.memory.repository import Memories, StoredMemory, new_key
from assistant.memory.schemas import AnyMemory, Provenance
from assistant.memory.statements import (
    addresses_assistant,
    behaviour_request,
    first_person,
    misattributed,
    named_as_user,
    named_relations,
    one_off_task,
    own_name,
    refers_elsewhere,
    self_disclosure,
    thanks,
    unsaid_attitude,
    users_statement,
)
from assistant.reflection.journal import Change, ChangeOp, Origin, Plan
from assistant.reflection.output import AnyDraft, EpisodeDraft, FactDraft, Judgement, RuleDraft
from assistant.text import (
    changes_details,
    first_sentence,
    grounding,
    same_polarity,
    unsupported_names,
)


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


class Resolver:
    """Resolves the drafts of one reflection into the changes of its ``plan``.

    Args:
        memories: the user's memories (twins are looked up there).
        plan: the plan the changes and the drops are recorded in.
        context: every sentence of the reflection (a draft the model put under
            the wrong sentence is matched to the one holding its words).
        thread_id: the thread, for the memories' provenance.
        now: the reflection's time (UTC).
        merge_threshold: cosine similarity from which a create updates a twin.
        min_grounding: the share of a memory's content words the user's words hold.
    """

    def __init__(
        self,
        memories: Memories,
        plan: Plan,
        context: Sequence[Sentence],
        thread_id: str,
        now: datetime,
        *,
        merge_threshold: float = MERGE_THRESHOLD,
        min_grounding: float = 0.6,
    ) -> None:
        self.memories = memories
        self.plan = plan
        self.context = context
        self.thread_id = thread_id
        self.now = now
        self.merge_threshold = merge_threshold
        self.min_grounding = min_grounding
        self.claimed: set[str] = set()  # keys already changed by this plan

    def judge(
        self, sentence: Sentence, judgement: Judgement | None, known: list[StoredMemory]
    ) -> None:
        """Resolve what the model wrote for ``sentence``; then, as a last resort,
        the user's own words when it gave nothing usable, and the names the
        sentence tells when no kept memory has them."""
        drafts = judgement.memories if judgement else []
        before = len(self.plan.dropped)
        kept = [self.resolve(sentence, draft, known) for draft in drafts]
        # The safety net is a last resort: not when the model's memory was
        # known already or said twice, only when it gave nothing usable.
        reasons = [d["reason"] for d in self.plan.dropped[before:]]
        repeated = any(r in ("already known", "said twice in this reflection") for r in reasons)
        fallback = None if any(kept) or repeated else _fallback(sentence.text)
        if fallback is not None:
            self.resolve(sentence, fallback, [], "safety net")
        # Names are what small models drop most: the user's own, and the
        # people they name ("my partner Joao").
        name = own_name(sentence.text)
        named = [("name", name)] if name else []
        for relation, person in [*named, *named_relations(sentence.text)]:
            said = re.compile(rf"\b{re.escape(person)}\b")
            texts = [c.text for c in self.plan.changes if c.op in ("create", "update")]
            if not any(said.search(text) for text in texts):
                draft = FactDraft(kind="semantic", fact=f"The user's {relation} is {person}.")
                self.resolve(sentence, draft, [], "safety net", timeless=True)

    def resolve(
        self,
        sentence: Sentence,
        draft: AnyDraft,
        known: list[StoredMemory],
        origin: Origin = "model",
        *,
        timeless: bool = False,
    ) -> bool:
        """Turn one memory the model drew from a sentence into checked, consolidated
        changes; whether it was kept (a drop is recorded with why). ``known`` are
        the memories the model was shown (``M1``, ...). A ``timeless`` memory (a
        name) takes no date from the sentence."""
        plan, claimed, now = self.plan, self.claimed, self.now

        def drop(reason: str) -> bool:
            plan.dropped.append({"sentence": sentence.text, "reason": reason})
            return False

        op = draft.op
        target = _target(draft.target, known)
        said, sentence = sentence, self._home(draft, sentence, target)
        if target is not None and target.key in claimed:
            target = None
        if op == "delete":
            if target is None or not shares_content(sentence.text, target.text):
                return drop("delete without a known memory the sentence is about")
            retired = target.memory.model_copy(update={"invalid_at": now, "updated_at": now})
            claimed.add(target.key)
            self._add("delete", target.key, retired, target, sentence, origin)
            return True
        request = _is_request(sentence.text)
        if isinstance(draft, RuleDraft) and not request:
            # Not a request to the assistant: at most a fact about the user.
            if not (first_person(draft.rule) or draft.rule.lower().startswith("the user")):
                return drop("not a request about how the assistant should answer")
            draft = FactDraft(kind="semantic", fact=draft.rule, op=draft.op, target=draft.target)
        draft = _normalise(draft, request)
        draft, since = (draft, None) if timeless else _dated(draft, sentence)
        if op not in ("update", "supersede"):
            target = None
        problem = self._ungrounded(draft, sentence, target, said, polarity=not timeless)
        if problem:
            return drop(problem)
        provenance = Provenance(
            source="reflection", thread_id=self.thread_id, message_ids=(sentence.message_id,)
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
            elif replaced := find_replaced(self.memories, memory, exclude=claimed):
                target, op = replaced, "supersede"  # "works at Hollmann" -> "at Nordlicht"
            else:
                op = "create"
        assert target is not None or op == "create"
        if target is not None and same_text(target.text, memory.render()):
            return drop("already known")  # a supersede that changes nothing
        if (
            op == "update"
            and target is not None
            and target.kind == memory.kind
            and not changes_details(target.text, memory.render())  # a changed fact supersedes
        ):
            claimed.add(target.key)
            merged = merge(target.memory, memory, now)
            self._add("update", target.key, merged, target, sentence, origin)
            return True
        key = new_key()
        if target is not None:  # supersede (or an update across kinds)
            claimed.add(target.key)
            old = target.memory.model_copy(
                update={"invalid_at": now, "superseded_by": key, "updated_at": now}
            )
            self._add("supersede", target.key, old, target, sentence, origin)
        # "I moved here last month": true since then; else since it was said.
        valid_from = min(now, since or sentence.when)
        times = {"created_at": now, "updated_at": now, "valid_from": valid_from}
        memory = memory.model_copy(update=times)
        self._add("create", key, memory, None, sentence, origin)
        return True

    def _home(
        self,
        draft: AnyDraft,
        sentence: Sentence,
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
        best = max(self.context, key=score, default=sentence)
        return best if score(best) >= self.min_grounding else sentence

    def _ungrounded(
        self,
        draft: AnyDraft,
        sentence: Sentence,
        target: StoredMemory | None,
        said: Sentence | None = None,
        *,
        polarity: bool = True,
    ) -> str | None:
        """Why ``draft`` is not supported by the user's words (and, for an update or
        supersede, the memory it rewrites), or ``None``. ``said`` is the sentence
        the model put it under when its words were found in another: both then
        support it ("I started pottery." + "I love it." -> "The user loves pottery.").
        ``polarity``: a fact must not say yes where the sentence says no (off for a
        name, which holds whatever the sentence says: "My sister Ana isn't coming.")."""
        if any(dots in draft.text and dots not in sentence.text for dots in ("...", "\u2026")):
            return "incomplete (an ellipsis where words should be)"
        if refers_elsewhere(draft.text):
            return "not self-contained (what it refers to is not said)"
        if thanks(sentence.text) and (said is None or thanks(said.text)):
            return "thanks or praise for the assistant, nothing about the user"
        told = [sentence.text, *([said.text] if said is not None else [])]
        if all(name := named_as_user(draft.text, text) for text in told) and name:
            return f"{name} is not a name the user gave as their own"
        also = [said.shown] if said is not None and said is not sentence else []
        own = [sentence.shown, *also, *([target.text] if target else [])]
        sources = [*own, *(s.shown for s in self.context if s is not sentence)]
        names = unsupported_names(draft.text, sources)
        if names:
            return f"names not in the conversation: {', '.join(names)}"
        score = max(grounding(claim, own) for claim in _claims(draft))
        if score < self.min_grounding:
            return f"not grounded in the sentence ({score:.0%} of its words)"
        if feeling := unsaid_attitude(draft.text, " ".join(own)):
            return f"says the user {feeling} what the sentence does not say they do"
        if isinstance(draft, FactDraft):
            if polarity and not same_polarity(draft.fact, sentence.text):
                return "says the opposite of the sentence (a negation lost or added)"
            if who := misattributed(draft.fact, sentence.text):
                return f"about someone else ({who}), not the user"
        return None

    def _add(
        self,
        op: ChangeOp,
        key: str,
        memory: AnyMemory,
        before: StoredMemory | None,
        sentence: Sentence,
        origin: Origin = "model",
    ) -> None:
        self.plan.changes.append(
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


# helpers -------------------------------------------------------------------------------


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
    behaviour from now on, not one piece of work, words to someone else or
    encouragement."""
    if behaviour_request(sentence) is not None:
        return True
    return addresses_assistant(sentence) and not one_off_task(sentence)


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
