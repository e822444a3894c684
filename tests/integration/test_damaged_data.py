"""A damaged store reads as damaged, never as empty (issue 18, item 3), through the
installed command on real SQLite and Chroma files damaged on purpose: a 0-byte
conversation database, a 0-byte memory database, bad pages found by ``doctor``."""

from pathlib import Path

from assistant.conversations import ConversationStore
from tests.integration.conftest import run_cli


def one_line_error(done) -> str:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_a_zero_byte_conversation_database_is_refused(data_dir: Path) -> None:
    store = ConversationStore(data_dir / "conversations.sqlite3")
    store.create_thread("Trip to Porto")
    store.close()
    assert run_cli("threads", data_dir=data_dir).returncode == 0  # records what it holds
    (data_dir / "conversations.sqlite3").write_bytes(b"")
    for name in ("conversations.sqlite3-wal", "conversations.sqlite3-shm"):
        (data_dir / name).unlink(missing_ok=True)

    error = one_line_error(run_cli("threads", data_dir=data_dir))

    assert "is empty (0 bytes)" in error and "Restore conversations.sqlite3" in error
    assert (data_dir / "conversations.sqlite3").stat().st_size == 0  # left as found
    doctor = run_cli("doctor", data_dir=data_dir)
    assert doctor.returncode == 1 and "is empty (0 bytes)" in doctor.stdout
    assert "No problems found" not in doctor.stdout


def test_a_zero_byte_memory_database_is_refused(data_dir: Path) -> None:
    added = run_cli("memories", "add", "fact: My dog is called Fido.", data_dir=data_dir)
    assert added.returncode == 0, added.stderr
    (data_dir / "memory" / "chroma.sqlite3").write_bytes(b"")

    error = one_line_error(run_cli("memories", "list", data_dir=data_dir))

    assert "has lost its data" in error and "assistant memories import" in error
    doctor = run_cli("doctor", data_dir=data_dir)
    assert doctor.returncode == 1 and "has lost its data" in doctor.stdout


def test_doctor_finds_bad_pages(data_dir: Path) -> None:
    store = ConversationStore(data_dir / "conversations.sqlite3")
    thread = store.create_thread("Long one")
    for i in range(400):
        store.add_message(thread.id, "user", f"message {i} " + "words " * 40)
    store.close()
    path = data_dir / "conversations.sqlite3"
    healthy = run_cli("doctor", data_dir=data_dir)
    assert "conversations.sqlite3 DAMAGED" not in healthy.stdout
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(page * 3, min(len(data), page * 12), page):
        data[offset + 8 : offset + 200] = b"\xa5" * 192  # garble b-tree page contents
    path.write_bytes(bytes(data))

    doctor = run_cli("doctor", data_dir=data_dir)

    assert doctor.returncode == 1
    assert "conversations.sqlite3 DAMAGED" in doctor.stdout
    assert "integrity_check" in doctor.stdout or "cannot be read" in doctor.stdout
