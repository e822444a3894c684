"""assistant.formats.terminal_safe and json_line: what a terminal would obey is shown."""

import json

from assistant.formats import json_line, terminal_safe


def test_controls_are_shown_in_caret_notation_and_text_is_kept() -> None:
    text = "a\x1b]52;c;eA==\x07b\x00\x7f\x9b2J\x9d0;x\tc\nd\r\ne\rf"
    assert terminal_safe(text) == "a^[]52;c;eA==^Gb^@^?\\x9b2J\\x9d0;x\tc\nd\ne^Mf"


def test_plain_unicode_is_untouched() -> None:
    text = "Zoë's café: 3 €, naïve ☕ 日本"
    assert terminal_safe(text) == text


def test_a_json_line_has_no_control_and_decodes_to_the_value() -> None:
    value = {"text": "x\x1b[2J\x9b\x7fy", "n": 1}
    line = json_line(value)
    assert all(ch >= " " and not "\x7f" <= ch <= "\x9f" for ch in line)
    assert json.loads(line) == value
