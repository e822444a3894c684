"""The `assistant` command: exit codes and one-line errors for bad input and faults."""

from assistant import __version__
from tests.integration.conftest import run_cli


def one_line_error(result) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_version(data_dir) -> None:
    result = run_cli("--version", data_dir=data_dir)
    assert (result.returncode, result.stdout.strip()) == (0, f"assistant {__version__}")


def test_threads_of_a_new_data_dir_is_empty(data_dir) -> None:
    result = run_cli("threads", data_dir=data_dir)
    assert (result.returncode, result.stdout) == (0, "")


def test_empty_message(data_dir) -> None:
    assert "empty" in one_line_error(run_cli("--backend", "local", "chat", "  ", data_dir=data_dir))


def test_huge_message_from_stdin(data_dir) -> None:
    result = run_cli("--backend", "local", "chat", "-", stdin="a" * 1_048_576, data_dir=data_dir)
    assert "limit is 100,000" in one_line_error(result)


def test_unknown_thread(data_dir) -> None:
    result = run_cli("--backend", "local", "chat", "--thread", "nope", "hi", data_dir=data_dir)
    assert "No conversation" in one_line_error(result)


def test_thread_and_new_together(data_dir) -> None:
    result = run_cli("chat", "--thread", "x", "--new", "hi", data_dir=data_dir)
    assert "either --thread or --new" in one_line_error(result)


def test_data_dir_that_is_not_writable(tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert "--data-dir" in one_line_error(run_cli("threads", data_dir=blocker / "data"))


def test_corrupted_database(data_dir) -> None:
    data_dir.mkdir()
    (data_dir / "conversations.sqlite3").write_bytes(b"garbage" * 1000)
    assert "damaged" in one_line_error(run_cli("threads", data_dir=data_dir))


def test_bad_config_file(data_dir, tmp_path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("backend = [")
    result = run_cli("--config", str(config), "threads", data_dir=data_dir)
    assert "not valid TOML" in one_line_error(result)


def test_doctor_reports_the_choice_and_why(data_dir) -> None:
    result = run_cli("doctor", data_dir=data_dir)
    assert result.returncode == 0, result.stdout
    for part in ("data dir", "embedded · SmolLM2", "connection refused", "No problems found"):
        assert part in result.stdout


def test_doctor_exits_non_zero_with_a_next_step(data_dir) -> None:
    result = run_cli("--backend", "ollama", "doctor", data_dir=data_dir)
    assert result.returncode == 1
    assert "Problems:" in result.stdout and "ollama serve" in result.stdout


def test_usage_errors_exit_2(data_dir) -> None:
    assert run_cli("--backend", "cloud", "threads", data_dir=data_dir).returncode == 2
