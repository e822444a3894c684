"""``memories add`` of a changed fact supersedes, through the installed command
(issue 18, item 13): the old fact stays in history."""

import json

from tests.integration.conftest import run_cli


def test_a_changed_appointment_supersedes_and_keeps_history(data_dir) -> None:
    first = run_cli(
        "memories", "add", "fact: I have a dentist appointment on Monday", data_dir=data_dir
    )
    second = run_cli(
        "memories", "add", "fact: I have a dentist appointment on Friday", data_dir=data_dir
    )

    assert first.returncode == 0 and second.returncode == 0, second.stderr
    assert second.stdout.startswith("Remembered (semantic)")
    assert "It replaces (kept as history):" in second.stdout and "Monday" in second.stdout
    listed = run_cli("memories", "list", "--history", "--json", data_dir=data_dir).stdout
    rows = {row["text"]: row for row in map(json.loads, listed.splitlines())}
    monday = rows['The user said: "I have a dentist appointment on Monday."']
    friday = rows['The user said: "I have a dentist appointment on Friday."']
    assert monday["superseded_by"] == friday["id"] and monday["invalid_at"] is not None
    assert friday["superseded_by"] is None
