"""The CLI, clean (issue 17), through the installed command: every slash command
works or says where it does, a missing config file is an error, stdin's last
newline is no part of the message, and the help says what `assistant` alone does."""

from assistant.conversations import ConversationStore
from tests.integration.conftest import run_cli


def test_slash_commands_of_the_tui_say_so_in_the_cli(tmp_path) -> None:
    for command, words in (
        ("/memories", "assistant memories list"),
        ("/forget tea", "use it in the TUI"),
        ("/incognito", "--incognito"),
    ):
        result = run_cli("chat", command, data_dir=tmp_path)
        assert result.returncode == 1, (command, result.stderr)
        assert result.stderr.startswith("error: ") and words in result.stderr
        assert "Traceback" not in result.stderr


def test_a_missing_config_file_is_an_error(tmp_path) -> None:
    result = run_cli("--config", str(tmp_path / "nowhere.toml"), "threads", data_dir=tmp_path)
    assert result.returncode == 1
    assert "No config file at" in result.stderr and "Traceback" not in result.stderr


def test_a_message_from_stdin_loses_the_newline_it_ends_with(tmp_path) -> None:
    result = run_cli("chat", "-", data_dir=tmp_path, stdin="Hello there\nsecond line\n")
    assert result.returncode == 0, result.stderr
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    try:
        (thread,) = store.list_threads()
        user = [m.content for m in store.messages(thread.id) if m.role == "user"]
    finally:
        store.close()
    assert user == ["Hello there\nsecond line"]


def test_the_help_says_what_assistant_alone_does_and_completion_installs(tmp_path) -> None:
    help_text = run_cli("--help", data_dir=tmp_path).stdout
    assert "`assistant` alone opens the chat (the TUI)" in " ".join(help_text.split())
    assert "--install-completion" in help_text
    script = run_cli("--show-completion", "bash", data_dir=tmp_path)
    assert script.returncode == 0 and "_assistant_completion" in script.stdout


def test_the_backend_note_is_said_once_until_it_changes(tmp_path) -> None:
    """No Ollama answers here: the fallback to the embedded model is noted once."""
    first = run_cli("chat", "Hi", data_dir=tmp_path)
    second = run_cli("chat", "Hi again", data_dir=tmp_path)
    changed = run_cli("chat", "And now?", data_dir=tmp_path, OLLAMA_HOST="127.0.0.1:8")

    assert first.returncode == second.returncode == changed.returncode == 0
    assert first.stderr.count("note: ") == 1 and "embedded" in first.stderr
    assert "note: " not in second.stderr
    assert "127.0.0.1:8" in changed.stderr  # a new host: a new note


def test_every_command_in_a_help_list_is_summed_up_in_one_unbroken_line(tmp_path) -> None:
    """Typer's command lists keep the line breaks of a docstring's first paragraph
    ("...updates its twin; a" / "changed fact..."): each command's summary is one
    source line (PEP 257), and each group's --help shows it whole."""
    import typer.main

    from assistant.cli.app import cli

    root = typer.main.get_command(cli)
    groups = [("assistant", root)]
    for name in root.list_commands(None):  # type: ignore[arg-type]
        sub = root.get_command(None, name)  # type: ignore[arg-type]
        if hasattr(sub, "list_commands"):
            groups.append((name, sub))
    for group_name, group in groups:
        args = ["--help"] if group is root else [group_name, "--help"]
        shown = " ".join(run_cli(*args, data_dir=tmp_path).stdout.split())
        for name in group.list_commands(None):  # type: ignore[arg-type]
            command = group.get_command(None, name)  # type: ignore[arg-type]
            summary = (command.help or "").split("\n\n")[0].strip()
            assert "\n" not in summary, f"{group_name} {name}: {summary!r}"
            assert " ".join(summary.split()[:6]) in shown, (group_name, name)
