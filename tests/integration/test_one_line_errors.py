"""Issue 18, item 9: faults that used to end in a traceback (or a segmentation
fault) end in one line that says what to do, through the installed command."""

import os
import signal
import sqlite3
import subprocess

import pytest

from tests.integration.conftest import ASSISTANT, interruptible, run_cli
from tests.integration.test_cli import one_line_error


def test_a_log_file_that_cannot_be_written(data_dir) -> None:
    (data_dir / "logs" / "assistant.log").mkdir(parents=True)  # open() fails, even for root
    line = one_line_error(run_cli("threads", data_dir=data_dir))
    assert "Cannot write the log file" in line and "log_dir" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only directories")
def test_a_read_only_data_dir_you_own(data_dir) -> None:
    assert run_cli("threads", data_dir=data_dir).returncode == 0
    for path in (data_dir / "logs", data_dir):
        path.chmod(0o500)
    try:
        line = one_line_error(run_cli("threads", data_dir=data_dir))
    finally:
        for path in (data_dir, data_dir / "logs"):
            path.chmod(0o700)
    assert "writable" in line


def test_a_binary_config_file(data_dir, tmp_path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b"\xff\xfe\x00\x01\x89PNG\r\n")
    result = run_cli("--config", str(config), "threads", data_dir=data_dir)
    assert "not UTF-8" in one_line_error(result) and str(config) in result.stderr


def run_bytes(*args: str, data_dir, stdin: bytes) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ASSISTANT, "--data-dir", str(data_dir), *args],
        input=stdin,
        capture_output=True,
        timeout=120,
    )


def test_invalid_utf8_on_stdin_in_chat_saves_nothing(data_dir) -> None:
    result = run_bytes("--backend", "local", "chat", "-", data_dir=data_dir, stdin=b"caf\xe9 ok")
    result.stdout, result.stderr = result.stdout.decode(), result.stderr.decode()
    assert "not UTF-8 (byte 0xe9 at character 3)" in one_line_error(result)
    assert run_cli("threads", data_dir=data_dir).stdout == ""


def test_invalid_utf8_in_memories_add(data_dir) -> None:
    result = subprocess.run(
        [ASSISTANT.encode(), b"--data-dir", bytes(data_dir), b"memories", b"add", b"caf\xe9"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "not UTF-8" in one_line_error(result)


def test_a_garbled_job_store(data_dir) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "jobs.sqlite3").write_bytes(b"SQLite format 3\x00" + b"garbage" * 2000)
    daemon = subprocess.run(
        [ASSISTANT, "--data-dir", str(data_dir), "daemon"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = one_line_error(daemon)
    assert str(data_dir / "jobs.sqlite3") in line and "Move it aside" in line
    assert "SQL:" not in line and "sqlalche.me" not in line


def story(attempt: int) -> list[str]:
    return ["chat", "--new", f"Tell me a long story about dragons, number {attempt}."]


@pytest.mark.model
def test_ctrl_c_in_chat_exits_130_and_saves_the_message(data_dir) -> None:
    """Interrupted while the reply streams, five times over: exit 130, never 139 (a
    segmentation fault: llama.cpp freed under a running decode)."""
    codes = []
    for attempt in range(5):
        chat = subprocess.Popen(
            [ASSISTANT, "--data-dir", str(data_dir), "--backend", "local", *story(attempt)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=interruptible,
        )
        assert chat.stdout is not None
        chat.stdout.read(1)  # the first byte of the reply: the model is decoding
        chat.send_signal(signal.SIGINT)
        _, err = chat.communicate(timeout=60)
        codes.append(chat.returncode)
        assert b"Traceback" not in err
    assert codes == [130] * 5
    db = sqlite3.connect(data_dir / "conversations.sqlite3")
    said = [row[0] for row in db.execute("SELECT content FROM messages WHERE role = 'user'")]
    assert len(said) == 5 and all("dragons" in text for text in said)
