"""``assistant memories import`` through the installed command (issue 18, items 1,
9, 10): one line for deep nesting, control characters removed and said, progress
on stderr."""

import json

from assistant.memory.schemas import SemanticMemory
from tests.integration.conftest import run_cli


def test_deep_nesting_is_one_line_and_control_characters_are_said(data_dir, tmp_path) -> None:
    deep = tmp_path / "deep.jsonl"
    good = SemanticMemory(subject="the user", fact="The user is tall.").to_value()
    deep.write_text(json.dumps(good) + "\n" + "[" * 50_000 + "]" * 50_000 + "\n")

    refused = run_cli("memories", "import", str(deep), data_dir=data_dir)

    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr and "RecursionError" not in refused.stderr
    assert "Line 2 is nested too deeply" in refused.stderr
    assert run_cli("memories", "list", data_dir=data_dir).stdout == ""  # nothing written

    value = SemanticMemory(subject="the user", fact="The user likes \x1b]52;c;cHduZWQ=\x07tea.")
    hostile = tmp_path / "hostile.jsonl"
    hostile.write_text(json.dumps({"id": "h1", **value.to_value()}) + "\n")

    done = run_cli("memories", "import", str(hostile), data_dir=data_dir)

    assert done.returncode == 0, done.stderr
    assert "added 1" in done.stdout and "control characters removed from 1 lines" in done.stdout
    assert "Importing: 1 of 1 lines" in done.stderr
    listed = run_cli("memories", "list", "--json", data_dir=data_dir)
    assert "\x1b" not in listed.stdout and "\\u001b" not in listed.stdout
    assert json.loads(listed.stdout)["fact"] == "The user likes ]52;c;cHduZWQ=tea."
