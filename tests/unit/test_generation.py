"""The repetition guard, relative dates, and the history window that keeps the
prompt's prefix stable."""

from datetime import UTC, datetime
from itertools import pairwise

from langchain_core.messages import AIMessage, HumanMessage

from assistant.context_window import history_window
from assistant.llm.guard import RepetitionGuard
from assistant.memory.dates import absolute, annotate, dated_clauses

WEDNESDAY = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def feed(text: str, step: int = 3) -> RepetitionGuard:
    guard = RepetitionGuard()
    for start in range(0, len(text), step):
        if guard.feed(text[start : start + step]):
            break
    return guard


def test_an_emoji_loop_is_stopped_and_cut_to_one_copy() -> None:
    guard = feed("My cat's name is Pixel. " + "🐨" * 700)
    assert guard.looping and guard.kept() == "My cat's name is Pixel. 🐨"


def test_a_repeated_sentence_is_stopped() -> None:
    guard = feed("Sure. " + "Sleep in a dark room and avoid screens at night. " * 8)
    assert guard.looping
    assert guard.kept().count("Sleep in a dark room") == 1


def test_repeated_lines_are_stopped() -> None:
    guard = feed("Steps:\n" + "- Keep a regular bedtime every day\n" * 9, step=1)
    assert guard.looping and guard.kept().count("regular bedtime") == 1


def test_markdown_tables_rules_and_code_are_not_loops() -> None:
    text = (
        "| tip | why |\n|---|---|\n| dark room | melatonin |\n| no coffee | caffeine |\n\n"
        + "-" * 60
        + "\n```python\nfor i in range(3):\n    print(i)\n    print(i)\n```\n"
        + "Done: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10.\n"
    )
    assert not feed(text, step=1).looping


def test_relative_dates_are_resolved_against_the_message_time() -> None:
    text = "Next Tuesday I fly; I moved here last month, two weeks ago I met Ana, last year too."
    assert annotate(text, WEDNESDAY) == (
        "Next Tuesday [2026-12-08] I fly; I moved here last month [November 2026], "
        "two weeks ago [2026-11-18] I met Ana, last year [2025] too."
    )
    assert annotate("yesterday, tomorrow, in 3 days", WEDNESDAY) == (
        "yesterday [2026-12-01], tomorrow [2026-12-03], in 3 days [2026-12-05]"
    )
    assert annotate("last Wednesday and next week", WEDNESDAY) == (
        "last Wednesday [2026-11-25] and next week [the week of 2026-12-07]"
    )
    assert annotate("No dates here, May.", WEDNESDAY) == "No dates here, May."


def test_a_memory_keeps_absolute_dates_only() -> None:
    written = "Next Tuesday [2026-12-08] the user has an interview, moved last month."
    assert absolute(written, WEDNESDAY) == (
        "On 2026-12-08 the user has an interview, moved in November 2026."
    )


def test_a_date_belongs_to_its_own_clause() -> None:
    def clauses(text: str) -> list[tuple[str, str]]:
        return [(clause, found.label) for clause, found in dated_clauses(text, WEDNESDAY)]

    # A conjunction with a new subject opens a clause: the move is dated, not the job.
    assert clauses("I'm a nurse and I moved to Lisbon last month with Joao.") == [
        ("I moved to Lisbon with Joao.", "November 2026")
    ]
    assert clauses("I'm Marta, a nurse, moved here last month") == [("moved here", "November 2026")]
    # Without a subject of its own the conjunction stays inside the clause.
    assert clauses("I moved and started work last month") == [
        ("I moved and started work", "November 2026")
    ]


def test_the_history_window_start_stays_put_as_the_thread_grows() -> None:
    def thread(turns: int):
        messages = []
        for i in range(turns):
            messages += [HumanMessage(f"question {i} " * 10), AIMessage(f"answer {i} " * 30)]
        return messages

    starts = []
    for turns in range(1, 40):
        past = thread(turns)
        window = history_window(past, 1000, step=500)
        assert sum(len(m.content) for m in window) / 4 <= 1000 + 100
        assert window and window[0].type == "human"
        starts.append(len(past) - len(window))
    changes = sum(1 for a, b in pairwise(starts) if a != b)
    assert starts[0] == 0 and starts[-1] > 0
    assert changes <= len(starts) // 4  # it jumps now and then, not every turn
