"""Sentence splitting, which decides what reflection judges one sentence at a time."""

import pytest

from assistant.text import split_sentences


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        (
            "My doctor is Dr. Smith in St. Louis. I see him monthly.",
            ["My doctor is Dr. Smith in St. Louis.", "I see him monthly."],
        ),
        (
            "Use tables, e.g. for plans. Pi is 3.14 or so!",
            ["Use tables, e.g. for plans.", "Pi is 3.14 or so!"],
        ),
        ("Hi! I'm Marta. Are you there?", ["Hi!", "I'm Marta.", "Are you there?"]),
        ("I moved here.\n\nMy cat is Pixel", ["I moved here.", "My cat is Pixel"]),
        ("Well... I'm not sure.", ["Well... I'm not sure."]),
        ("   \n  ", []),
    ],
)
def test_sentences_split_at_their_ends_not_at_abbreviations(
    text: str, sentences: list[str]
) -> None:
    assert split_sentences(text) == sentences


def test_people_are_named_with_their_relation_titles_are_no_names() -> None:
    from assistant.memory.statements import named_relations

    assert named_relations("My sister Ana moved here with my partner Joao.") == [
        ("sister", "Ana"),
        ("partner", "Joao"),
    ]
    assert named_relations("I saw my doctor, Dr. Patel, and my teacher Mr. Brown.") == []
