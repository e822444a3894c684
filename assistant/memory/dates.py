"""Relative dates in what the user said, resolved against when they said it.

"I moved here last month" written on 2026-12-02 means November 2026; a memory
that keeps "last month" is wrong a month later. Reflection shows the model each
sentence with its relative dates resolved in brackets ("last month [November
2026]"), so the memory it writes carries the absolute date, and a memory of a
past event holds from that date (``valid_from``).

English expressions only, the ones people use in chat (the TimeML/TIMEX3 notion
of a relative temporal expression anchored on the document's creation time):
today, yesterday, tomorrow, the day before yesterday / after tomorrow, N
days/weeks/months/years ago, in N days/weeks/..., last/this/next
week/month/year/weekend, and last/this/next with a weekday.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

Precision = Literal["day", "week", "month", "year"]

_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "a couple of": 2, "couple of": 2,
}  # fmt: skip
_WEEKDAYS = [d.lower() for d in calendar.day_name]
_NUMBER = r"(\d{1,3}|a couple of|couple of|an?|" + "|".join(list(_NUMBERS)[2:14]) + ")"
_UNIT = r"(day|week|month|year)s?"
_NAMED = "|".join([*_WEEKDAYS, r"week(?:end)?", "month", "year"])

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("day_before", re.compile(r"\bthe day before yesterday\b", re.I)),
    ("day_after", re.compile(r"\bthe day after tomorrow\b", re.I)),
    ("ago", re.compile(rf"\b{_NUMBER}\s+{_UNIT}\s+ago\b", re.I)),
    ("in", re.compile(rf"\bin\s+{_NUMBER}\s+{_UNIT}(?:'? time)?\b", re.I)),
    ("named", re.compile(rf"\b(last|this|next)\s+({_NAMED})\b", re.I)),
    ("yesterday", re.compile(r"\byesterday\b", re.I)),
    ("tomorrow", re.compile(r"\btomorrow\b", re.I)),
    ("today", re.compile(r"\b(?:today|tonight|this (?:morning|afternoon|evening))\b", re.I)),
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class ResolvedDate:
    """A relative date found in a text.

    Attributes:
        start: where the phrase starts in the text (characters).
        end: where it ends.
        phrase: the words as written ("next Tuesday").
        day: the first day it denotes.
        precision: how much of ``day`` is meant: a day, the week starting on it,
            its month or its year.
    """

    start: int
    end: int
    phrase: str
    day: date
    precision: Precision

    @property
    def label(self) -> str:
        """The absolute date as written in a memory: ``2026-12-08``, ``the week of
        2026-11-23``, ``November 2026``, ``2025``."""
        if self.precision == "day":
            return self.day.isoformat()
        if self.precision == "week":
            return f"the week of {self.day.isoformat()}"
        if self.precision == "month":
            return f"{calendar.month_name[self.day.month]} {self.day.year}"
        return str(self.day.year)


def _number(text: str) -> int:
    text = " ".join(text.lower().split())
    return int(text) if text.isdigit() else _NUMBERS[text]


def _shift(anchor: date, amount: int, unit: str) -> tuple[date, Precision]:
    unit = unit.lower()
    if unit == "day":
        return anchor + timedelta(days=amount), "day"
    if unit == "week":
        return anchor + timedelta(weeks=amount), "day"
    months = anchor.year * 12 + anchor.month - 1 + (amount if unit == "month" else 12 * amount)
    year, month = divmod(months, 12)
    day = min(anchor.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day), "month" if unit == "month" else "year"


def _named(anchor: date, which: str, what: str) -> tuple[date, Precision]:
    which, what = which.lower(), what.lower()
    step = {"last": -1, "this": 0, "next": 1}[which]
    monday = anchor - timedelta(days=anchor.weekday())
    if what == "week":
        return monday + timedelta(weeks=step), "week"
    if what == "weekend":
        return monday + timedelta(weeks=step, days=5), "day"
    if what == "month":
        return _shift(anchor.replace(day=1), step, "month")[0], "month"
    if what == "year":
        return date(anchor.year + step, 1, 1), "year"
    target = _WEEKDAYS.index(what)
    ahead = (target - anchor.weekday()) % 7
    if which == "last":
        return anchor - timedelta(days=(anchor.weekday() - target) % 7 or 7), "day"
    # "this Tuesday" and "next Tuesday" both name the coming Tuesday, as most
    # people use them in chat; on a Tuesday itself, "next" is a week ahead.
    return anchor + timedelta(days=ahead or (7 if which == "next" else 0)), "day"


def find_dates(text: str, when: datetime) -> list[ResolvedDate]:
    """The relative dates in ``text``, resolved against ``when`` (the message's time,
    in the local time zone), in order of appearance and not overlapping."""
    anchor = when.astimezone().date()
    found: list[ResolvedDate] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            span = match.span()
            if any(span[0] < end and start < span[1] for start, end in taken):
                continue
            if kind == "ago":
                day, precision = _shift(anchor, -_number(match[1]), match[2])
            elif kind == "in":
                day, precision = _shift(anchor, _number(match[1]), match[2])
            elif kind == "named":
                day, precision = _named(anchor, match[1], match[2])
            else:
                offset = {"day_before": -2, "day_after": 2, "yesterday": -1, "tomorrow": 1}
                day, precision = anchor + timedelta(days=offset.get(kind, 0)), "day"
            taken.append(span)
            found.append(ResolvedDate(span[0], span[1], match[0], day, precision))
    return sorted(found, key=lambda d: d.start)


def annotate(text: str, when: datetime) -> str:
    """``text`` with each relative date followed by its absolute one in brackets:
    "Next Tuesday [2026-12-08] I have an interview."."""
    out, last = [], 0
    for found in find_dates(text, when):
        out += [text[last : found.end], f" [{found.label}]"]
        last = found.end
    return "".join([*out, text[last:]])


def event_start(text: str, when: datetime) -> datetime | None:
    """When the past event ``text`` tells of began: the first day of its earliest
    relative date that is not in the future (UTC midnight), or ``None``."""
    anchor = when.astimezone().date()
    past = [d.day for d in find_dates(text, when) if d.day <= anchor]
    if not past:
        return None
    first = min(past)
    return datetime(first.year, first.month, first.day, tzinfo=UTC)


_BRACKETS = re.compile(r"\s*\[[^\]]*\]")
_PREPOSITION = {"day": "on ", "week": "in ", "month": "in ", "year": "in "}


def absolute(text: str, when: datetime) -> str:
    """``text`` (a memory the model wrote) with relative dates made absolute:
    "moved to Lisbon last month" -> "moved to Lisbon in November 2026"; the
    bracketed dates of :func:`annotate`, if copied, are dropped first."""
    text = _BRACKETS.sub("", text)
    out, last = [], 0
    for found in find_dates(text, when):
        before = text[last : found.start]
        words = before.rstrip().split()
        prep = _PREPOSITION[found.precision]
        if found.phrase.lower().startswith("in ") or (words and words[-1].lower() in ("in", "on")):
            prep = ""
        out += [before, prep + found.label]
        last = found.end
    result = "".join([*out, text[last:]])
    return result[:1].upper() + result[1:] if text[:1].isupper() else result


# A conjunction that opens a clause with its own subject: "I'm a nurse and I moved
# here last month" dates the move, not the job.
_CLAUSE_START = re.compile(
    r"\s(?:and|but|so|because|while|although|though|whereas)\s+"
    r"(?=(?:I|I'm|I've|I'd|we|we're|he|she|they|it|my|our)\b)",
    re.IGNORECASE,
)


def dated_clauses(text: str, when: datetime) -> list[tuple[str, ResolvedDate]]:
    """Each relative date of ``text`` with the clause it stands in (the stretch
    between commas, semicolons, dashes or a conjunction that opens a clause of its
    own), the date's words left out: "I'm Marta, a nurse, moved here last month"
    and "I'm a nurse and I moved here last month" -> [("moved here", last month)]."""
    found = []
    for date_found in find_dates(text, when):
        before = [m.end() for m in _CLAUSE_START.finditer(text, 0, date_found.start)]
        start = max(text.rfind(c, 0, date_found.start) + 1 for c in ",;:\u2013\u2014(")
        start = max([start, *before])
        after = _CLAUSE_START.search(text, date_found.end)
        ends = [i for c in ",;:\u2013\u2014)" if (i := text.find(c, date_found.end)) >= 0]
        end = min([*ends, after.start() if after else len(text)])
        clause = text[start : date_found.start] + text[date_found.end : end]
        found.append((" ".join(clause.split()), date_found))
    return found


def with_date(text: str, found: ResolvedDate, *, since: bool = False) -> str:
    """``text`` with the date ``found`` added, unless it already names a year:
    "The user has an interview." -> "The user has an interview (2026-12-08).";
    with ``since``, a state that began then: "The user lives in Berlin (since
    November 2026)."
    """
    if re.search(r"\b\d{4}\b", text):
        return text
    body = text.rstrip()
    end = body[-1] if body and body[-1] in ".!" else ""
    label = f"since {found.label}" if since else found.label
    return f"{body[: len(body) - len(end)]} ({label}){end or '.'}"
