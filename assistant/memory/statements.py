"""What a user's sentence says, read without a model: a request about how the
assistant should answer, a self-disclosure, the user's name, the people they name.

Deterministic safety nets for models too small to see these, used by reflection
and by memories written by hand (``/remember``).
"""

from __future__ import annotations

import re

from assistant.text import STOPWORDS, words

_REQUEST = re.compile(
    r"^(?:(?:from now on|in (?:the )?future|going forward|henceforth)\b[,:]?\s*"
    r"(?:please\s+)?|please\s+(?=always|never|don'?t|do not|stop|use|answer|reply|call|keep)"
    r"|(?=(?:always|never|don'?t|do not)\s+\w))",
    re.IGNORECASE,
)

#: Words that show a sentence is about how the assistant answers or behaves.
_BEHAVIOUR = re.compile(
    r"\b(?:answers?|answering|repl(?:y|ies)|respon(?:d|ses?)|explain\w*|explanations?|"
    r"summar\w+|format\w*|bullets?|lists?|tables?|code|examples?|emojis?|words|sentences?|"
    r"paragraphs?|language|english|french|german|spanish|portuguese|italian|metric|imperial|"
    r"units?|celsius|fahrenheit|tone|formal|informal|casual|brief(?:ly)?|short(?:er)?|"
    r"concise(?:ly)?|detail(?:ed|s)?|verbose|jargon|markdown|call me|address me|remind me|"
    r"ask me|tell me|talk to me|speak|write)\b",
    re.IGNORECASE,
)
#: Words to someone else: a person addressed by name ("Take care, Sam!"), or
#: encouragement ("You got this!", "You can do it").
_ELSEWHERE = re.compile(
    r",\s*[A-Z][a-z]+[!.?]*$|(?i:\byou(?:'ve)? got this\b|\byou can do (?:it|this)\b)"
)


def addresses_assistant(sentence: str) -> bool:
    """Whether ``sentence`` asks the assistant to behave a certain way: it speaks of
    answers, formats, languages, units or the assistant itself, and is addressed
    to no one else by name. Encouragement ("Don't forget, you got this!") and
    words to other people ("Take care, Sam!") are not requests to the assistant.
    """
    text = sentence.strip()
    return not _ELSEWHERE.search(text) and bool(_BEHAVIOUR.search(text))


_DISCLOSURE = re.compile(
    r"^(?:(?:my|our) \w+"
    r"|(?:i am|i'm) (?:a|an|from|allergic|vegan|vegetarian)\b"
    r"|i (?:live|work|grew up|was born|study|studied)\b"
    r"|i (?:like|love|hate|prefer|enjoy|dislike|can't stand|cannot stand)\b"
    r"|i (?:have|own|had) (?:a|an|two|three|four|\d+)\b)",
    re.IGNORECASE,
)
#: Words that say nothing on their own: a disclosure needs more than these.
_VAGUE = frozenset(
    """it this that these those them they thing things stuff one lot so much really
    too very well here there now then always just""".split()  # noqa: SIM905
)


def self_disclosure(sentence: str) -> str | None:
    """The sentence, when it is one in which the user tells about themselves ("My
    dog's name is Fido.", "I'm a nurse.", "I live in Lyon."), else ``None``.
    "I love it." tells nothing on its own (what is "it"?) and is not one.

    A deterministic safety net for models too small to see it: what it keeps is
    the user's own words, never a paraphrase.
    """
    text = sentence.strip()
    match = _DISCLOSURE.match(text)
    if text.endswith("?") or len(text.split()) < 3 or not match:
        return None
    rest = [w.lower() for w in words(text[match.end() :])]
    if not [w for w in rest if w not in STOPWORDS and w not in _VAGUE]:
        return None
    return text if text[-1] in ".!" else f"{text}."


_NAME = re.compile(
    r"\b(?:my name is|my name's|call me|i'm called|i am called"
    r"|(?:i'm|i am)(?=\s+[A-Z]\w*\s*(?:[,.!]|$|and\b)))"
    r"\s+([A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b",
    re.IGNORECASE,
)
#: Capitalised words that follow "I'm" and are not names.
_NOT_NAMES = frozenset(
    """fine good okay ok great sorry sure back home here ready done new tired happy
    british english american french german italian spanish portuguese dutch irish
    scottish welsh canadian australian brazilian mexican chinese japanese indian
    catholic christian jewish muslim buddhist hindu vegan vegetarian single married""".split()  # noqa: SIM905
)


def own_name(sentence: str) -> str | None:
    """The user's name, when ``sentence`` tells it ("I'm Marta, a nurse", "My name
    is Joao", "Call me Sam"), else ``None``. The name must be written with a
    capital; a nationality or a state ("I'm French.", "I'm Tired.") is no name."""
    match = _NAME.search(sentence)
    if match is None or not match.group(1)[0].isupper():
        return None
    name = match.group(1)
    return None if name.lower() in _NOT_NAMES else name


_RELATIVE = re.compile(
    r"\b[Mm]y (partner|wife|husband|girlfriend|boyfriend|fianc[eé]e?|sister|brother|mother|"
    r"mum|mom|father|dad|son|daughter|aunt|uncle|cousin|niece|nephew|grandmother|"
    r"grandfather|friend|best friend|boss|colleague|flatmate|roommate|neighbour|neighbor|"
    r"dog|cat|doctor|teacher)(?:,)? (?!(?:Dr|Mr|Mrs|Ms|Mx|Prof|St)\b)"
    r"([A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b"
)


def named_relations(sentence: str) -> list[tuple[str, str]]:
    """The people (and pets) ``sentence`` names with their relation to the user,
    as ``(relation, name)``: "moved with my partner Joao" -> [("partner", "Joao")].
    The name must follow the relation and be written with a capital; a title
    ("my doctor, Dr. Patel") is no name."""
    return [(m.group(1), m.group(2)) for m in _RELATIVE.finditer(sentence)]


_PEOPLE = (
    r"partner|wife|husband|girlfriend|boyfriend|fianc[eé]e?|sister|brother|mother|mum|mom|"
    r"father|dad|son|daughter|aunt|uncle|cousin|niece|nephew|grandmother|grandfather|"
    r"grandma|grandpa|friend|best friend|boss|colleague|coworker|co-worker|manager|flatmate|"
    r"roommate|neighbour|neighbor|dog|cat|doctor|teacher|kids?|children|child|parents?|"
    r"team|family|wife's \w+|husband's \w+"
)
#: "My brother is a pilot.", "My sister Ana works in Lyon.": someone else is the subject.
_OTHER_SUBJECT = re.compile(
    rf"^\s*(?:and\s+)?(?:my|our)\s+(?P<who>(?:{_PEOPLE}))(?:,?\s+(?-i:[A-Z][a-z]+))?,?\s+"
    r"(?!(?:and|or)\b)\w",
    re.IGNORECASE,
)
#: "My friend said: ...", "Ana told me he ...", "He thinks ...": what someone else said.
_REPORTED = re.compile(
    r"^\s*(?P<who>(?:(?:my|our|his|her|their)\s+)?[\w'-]+(?:\s+(?-i:[A-Z][a-z]+))?)\s+"
    r"(?:said|says|told me|tells me|told us|thinks|thought|claims|claimed|believes|believed|"
    r"mentioned|wrote|texted me|asked me|explained)\b",
    re.IGNORECASE,
)
#: Claims about the user themselves: "The user is ...", "I live ...", not "The user's ...".
_ABOUT_USER = re.compile(r"^\s*(?:the user\b(?!'s|\u2019s)|i\b|i'm\b|i've\b|i'd\b)", re.IGNORECASE)


def other_party(sentence: str) -> str | None:
    """Who a sentence is about when it is someone else, or reports what someone
    else said: "My brother is a pilot." -> "brother"; "My friend said: I am a
    pilot." -> "my friend"; "My boss told me he lives in Paris." -> "my boss".
    ``None`` when the user speaks of themselves ("I said ...", "My job is ...")."""
    text = sentence.strip()
    reported = _REPORTED.match(text)
    if reported and reported.group("who").lower() not in ("i", "we"):
        return reported.group("who")
    subject = _OTHER_SUBJECT.match(text)
    return subject.group("who") if subject else None


def misattributed(claim: str, sentence: str) -> str | None:
    """Who ``claim`` really is about, when it states as the user's own a fact that
    ``sentence`` tells of someone else (``other_party``) and never names them:
    "The user is a pilot." from "My brother is a pilot." -> "brother". ``None``
    when the claim is about the user's relation ("The user's brother is a
    pilot.") or the sentence is about the user."""
    who = other_party(sentence)
    if who is None or not _ABOUT_USER.match(claim):
        return None
    named = [w.lower() for w in words(who) if w.lower() not in ("my", "our", "his", "her")]
    said = {w.lower() for w in words(claim)}
    return None if named and all(w in said for w in named) else who


#: How a sentence in the first person starts.
_FIRST_PERSON = ("i ", "i'm ", "i've ", "i'd ", "i'll ", "my ", "we ", "our ", "we're ")


def first_person(text: str) -> bool:
    """Whether ``text`` starts in the first person ("I ...", "My ...", "We ...")."""
    return text.strip().lower().startswith(_FIRST_PERSON)


def users_statement(text: str) -> str:
    """A first-person fact kept in the user's own words, attributed to them
    ("I'm a nurse" -> 'The user said: "I'm a nurse."'), so that a prompt never
    shows a bare "I" that the model could take for itself."""
    text = text.strip()
    return f'The user said: "{text if text[-1] in ".!?" else f"{text}."}"'


def behaviour_request(sentence: str) -> str | None:
    """The rule in a sentence that asks the assistant to behave a certain way from
    now on ("From now on, answer in metric units." -> "Answer in metric units."),
    or ``None``. A deterministic safety net for models too small to see it."""
    match = _REQUEST.match(sentence.strip())
    if not match:
        return None
    explicit = bool(match.group(0).strip())  # "from now on", "in future", "please"
    if _ELSEWHERE.search(sentence.strip()) or not (explicit or addresses_assistant(sentence)):
        return None
    rule = sentence.strip()[match.end() :].strip()
    if len(rule.split()) < 2:
        return None
    rule = rule[0].upper() + rule[1:]
    return rule if rule[-1] in ".!?" else f"{rule}."


#: A memory that ends on a word pointing elsewhere ("The user loves it.").
_POINTER_END = re.compile(r"\b(?:it|this|that|these|those|them|there|here)\W*$", re.IGNORECASE)


def refers_elsewhere(memory: str) -> bool:
    """Whether ``memory`` is not self-contained: it ends on "it", "there", "that"
    (...) and names at most two things of its own, so what it is about was in
    another sentence ("The user loves it.", "The user's sister works there.").
    A memory must say what it is about: the reader has no conversation around it.
    """
    if not _POINTER_END.search(memory.strip()):
        return False
    content = [w for w in words(memory.lower()) if w not in STOPWORDS and w not in _VAGUE]
    return len(content) <= 2


_LIKES = re.compile(
    r"\b(?:lov(?:e|es|ed|ing)|adore[sd]?|enjoy(?:s|ed|ing)?|lik(?:e|es|ed|ing)|fond|fan|"
    r"passion(?:ate)?|favou?rite|prefer(?:s|red)?|into|crazy about|keen)\b",
    re.IGNORECASE,
)
_DISLIKES = re.compile(
    r"\b(?:hat(?:e|es|ed|ing)|dislik(?:e|es|ed)|detest(?:s|ed)?|loath(?:e|es|ed)|"
    r"can'?t stand|cannot stand|annoy(?:s|ed|ing)?|awful|terrible|worst)\b",
    re.IGNORECASE,
)


def unsaid_attitude(claim: str, sentence: str) -> str | None:
    """The feeling ``claim`` gives the user that ``sentence`` does not express, or
    ``None``: a memory may say the user loves or hates something only when the
    sentence says so in some words ("Dealing with health issues has been tough"
    is no "The user loves health issues", whatever words they share)."""
    for pattern, feeling in ((_LIKES, "likes"), (_DISLIKES, "dislikes")):
        if pattern.search(claim) and not pattern.search(sentence):
            return feeling
    return None


_TASK = re.compile(
    r"^(?:please\s+|ok(?:ay)?,?\s+|so,?\s+)?(?:(?:can|could|would|will) you|help me|write|draft|"
    r"give me|show me|find|make|explain|translate|summari[sz]e|tell me|suggest|recommend|plan)\b",
    re.IGNORECASE,
)
_STANDING = re.compile(
    r"\b(?:always|never|from now on|in (?:the )?future|every time|whenever|each time|"
    r"going forward|any more|anymore|from here on)\b",
    re.IGNORECASE,
)


def one_off_task(sentence: str) -> bool:
    """Whether ``sentence`` asks for one piece of work now ("Help me write a polite
    email to a client.", "Can you translate this?") rather than how to answer from
    now on: such a request is no rule, unless it says it stands ("always", "from
    now on", "every time")."""
    text = sentence.strip()
    return bool(_TASK.match(text)) and not _STANDING.search(text)


_THANKS = re.compile(
    r"^(?:(?:thanks?|thank you|cheers|ta)\b|(?:you(?:'re| are)|you(?:'ve| have) been)\s+"
    r"(?:(?:so|really|very|such)\s+)?(?:a star|a lifesaver|great|the best|amazing|awesome|"
    r"helpful|brilliant|wonderful|a great help|a big help)\b)",
    re.IGNORECASE,
)


def thanks(sentence: str) -> bool:
    """Whether ``sentence`` thanks or praises the assistant and tells nothing about
    the user ("Thanks, you've been really helpful!", "You're a star."): nothing in it
    is a memory. "Thanks, I start at the bakery on Monday" tells something."""
    text = sentence.strip()
    if not _THANKS.match(text):
        return False
    rest = text[_THANKS.match(text).end() :]  # type: ignore[union-attr]
    return not re.search(r"\b(?:i|i'm|i've|my|we|our)\b", rest, re.IGNORECASE)


_NAME_FACT = re.compile(r"^the user's (?:first |full )?name is ([A-Z][\w'-]*)", re.IGNORECASE)


def named_as_user(claim: str, sentence: str) -> str | None:
    """The name ``claim`` gives the user ("The user's name is Clara.") when the
    sentence does not tell it as theirs (:func:`own_name`), else ``None``: a name
    the user says to or about someone else is not their own."""
    match = _NAME_FACT.match(claim.strip())
    if match is None:
        return None
    name = match.group(1)
    return None if (own_name(sentence) or "").lower() == name.lower() else name
