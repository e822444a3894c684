import httpx
import pytest

from assistant.config import Settings
from assistant.errors import ModelError
from assistant.llm import BackendChoice, choose_backend, explain_failure
from assistant.llm.local import locate
from assistant.llm.ollama import OllamaStatus, probe

HOST = "http://127.0.0.1:11434"
UP = OllamaStatus(HOST, True, ("llama3.2:latest", "qwen2.5:0.5b"))
DOWN = OllamaStatus(HOST, False, error="connection refused")


def test_auto_uses_ollama_when_it_has_the_model() -> None:
    choice = choose_backend(Settings.load(), UP)
    assert (choice.backend, choice.model, choice.notice) == ("ollama", "llama3.2", None)


def test_auto_falls_back_and_says_so_plainly() -> None:
    choice = choose_backend(Settings.load(), DOWN)
    assert choice.backend == "local"
    assert choice.notice is not None
    for part in (HOST, "connection refused", "SmolLM2", "demo quality", "ollama pull llama3.2"):
        assert part in choice.notice


def test_auto_falls_back_when_the_model_is_missing() -> None:
    choice = choose_backend(Settings.load(ollama_model="mistral"), UP)
    assert choice.backend == "local"
    assert "does not have the model 'mistral'" in (choice.notice or "")


def test_explicit_ollama_warns_but_keeps_ollama() -> None:
    choice = choose_backend(Settings.load(backend="ollama"), DOWN)
    assert choice.backend == "ollama"
    assert "Replies will fail" in (choice.notice or "")


def test_local_never_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_probe(*args: object) -> OllamaStatus:
        raise AssertionError("probed")

    monkeypatch.setattr("assistant.llm.backends.probe", no_probe)
    assert choose_backend(Settings.load(backend="local")).backend == "local"


def test_probe_of_a_closed_port_is_quick_and_never_raises() -> None:
    status = probe("http://127.0.0.1:9", timeout_seconds=1.0)
    assert not status.reachable and status.error == "connection refused"


def test_probe_reads_the_model_list(fake_ollama: str) -> None:
    status = probe(fake_ollama)
    assert status.reachable and status.has_model("llama3.2") and not status.has_model("phi3")


def test_probe_of_something_that_is_not_ollama(fake_ollama: str) -> None:
    status = probe(fake_ollama + "/nothing-here")
    assert not status.reachable and status.error == "HTTP 404"


def test_a_missing_gguf_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        locate(Settings.load(local_model_path=tmp_path / "nope.gguf"))


def test_the_tiny_model_is_installed_and_verified() -> None:
    local = locate(Settings.load(local_model="tiny"))
    assert local.path is not None and local.path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_the_default_model_is_the_larger_one_and_not_demo_quality() -> None:
    choice = choose_backend(Settings.load(local_model="default"), DOWN)
    assert choice.model == "Qwen2.5-Coder-1.5B-Instruct" and not choice.demo_quality
    assert "demo quality" not in (choice.notice or "")


def test_failures_become_actionable_errors() -> None:
    ollama = BackendChoice("ollama", "llama3.2", "ollama · llama3.2", "", None, HOST)
    down = explain_failure(httpx.ConnectError("refused"), ollama)
    assert "not reachable" in str(down) and "--backend local" in str(down)
    missing = explain_failure(Exception("model 'llama3.2' not found"), ollama)
    assert "ollama pull llama3.2" in str(missing)
    local = BackendChoice("local", "m", "embedded · m", "", None, HOST)
    long = explain_failure(ValueError("Requested tokens (5000) exceed context window"), local)
    assert "new conversation" in str(long)
