"""A guard against degenerate generation: a reply stuck in a repetition loop.

Small models under sampling sometimes fall into a loop ("🐨🐨🐨...", the same
sentence again and again) until the token cap. :class:`RepetitionGuard` watches
the streamed text and reports a loop as soon as the tail of the reply is one
short span repeated many times, or the same line repeated many times in a row:
the two shapes of "neural text degeneration" (Holtzman et al., 2020, "The Curious
Case of Neural Text Degeneration"). Thresholds are set so that Markdown rules,
tables and ordinary code do not trip it.
"""

from __future__ import annotations

STOPPED_NOTE = "Stopped: the model was repeating itself."


class RepetitionGuard:
    """Feed it the reply as it streams; it says when the reply loops.

    Args:
        max_period: the longest repeated span looked for, in characters.
        min_repeats: how many times a span must repeat back to back.
        min_chars: how many characters the repetition must cover in all (a span
            of one character must repeat this many times).
        min_lines: how many identical non-blank lines in a row count as a loop.
    """

    def __init__(
        self,
        *,
        max_period: int = 200,
        min_repeats: int = 4,
        min_chars: int = 120,
        min_lines: int = 6,
    ) -> None:
        self.max_period = max_period
        self.min_repeats = min_repeats
        self.min_chars = min_chars
        self.min_lines = min_lines
        self._text = ""
        self.loop_start: int | None = None
        """Where the repetition began in the text fed (set once a loop is found)."""

    @property
    def looping(self) -> bool:
        """Whether a loop has been found."""
        return self.loop_start is not None

    def feed(self, piece: str) -> bool:
        """Add ``piece`` of the reply; whether the reply now loops."""
        if self.looping:
            return True
        self._text += piece
        window = self._text[-(self.max_period * self.min_repeats + self.min_chars) :]
        offset = len(self._text) - len(window)
        for period in range(1, min(self.max_period, len(window) // self.min_repeats) + 1):
            span = window[-period:]
            if span.isspace():
                continue
            need = max(self.min_repeats, -(-self.min_chars // period))
            if need * period > len(window) or window[-need * period :] != span * need:
                continue
            # Walk back to where the repetition starts, to keep one copy of it.
            start = len(window) - need * period
            while start >= period and window[start - period : start] == span:
                start -= period
            self.loop_start = offset + start + period
            return True
        return self._repeated_lines()

    def _repeated_lines(self) -> bool:
        lines = self._text.split("\n")
        if len(lines) <= self.min_lines:
            return False
        last = lines[-self.min_lines - 1 : -1]  # complete lines only
        first = last[0].strip()
        if len(first) < 8 or any(line.strip() != first for line in last):
            return False
        # Keep the first copy of the line and drop the rest.
        end = len(self._text) - len(lines[-1])
        kept = end - sum(len(line) + 1 for line in last[1:])
        self.loop_start = kept
        return True

    def kept(self) -> str:
        """The reply without the repetition (one copy of the repeated span stays)."""
        text = self._text if self.loop_start is None else self._text[: self.loop_start]
        return text.rstrip()
