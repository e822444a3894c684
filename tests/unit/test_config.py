from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.errors import ConfigError


def test_defaults_live_under_platform_dirs(isolated_env: Path) -> None:
    settings = Settings.load()
    home = isolated_env / "home"
    assert settings.data_dir.is_relative_to(home)
    assert settings.log_dir is not None and settings.log_dir.is_relative_to(home)
    assert settings.backend == "auto"
    assert settings.ollama_model == "llama3.2"


def test_data_dir_override_keeps_logs_beside_the_data(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "d")
    assert settings.log_dir == tmp_path / "d" / "logs"
    assert settings.database_path == tmp_path / "d" / "conversations.sqlite3"


def test_flags_over_env_over_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text('ollama_model = "from-file"\nbackend = "local"\ntemperature = 0.1\n')
    assert Settings.load(config).ollama_model == "from-file"
    monkeypatch.setenv("ASSISTANT_OLLAMA_MODEL", "from-env")
    settings = Settings.load(config)
    assert (settings.ollama_model, settings.backend, settings.temperature) == (
        "from-env",
        "local",
        0.1,
    )
    assert Settings.load(config, ollama_model="from-flag").ollama_model == "from-flag"


def test_data_dir_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "env-data"))
    assert Settings.load().data_dir == tmp_path / "env-data"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("localhost", "http://localhost:11434"),
        ("0.0.0.0", "http://127.0.0.1:11434"),
        ("gpu-box:8080", "http://gpu-box:8080"),
        ("https://ollama.example.org/", "https://ollama.example.org:443"),  # as ollama-python
    ],
)
def test_ollama_host_is_honoured(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: str
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", value)
    assert Settings.load().ollama_host == expected


def test_invalid_toml_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("backend = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Settings.load(config)


def test_invalid_value_names_the_field(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('backend = "cloud"\n')
    with pytest.raises(ConfigError, match="backend"):
        Settings.load(config)


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('modle = "typo"\n')
    with pytest.raises(ConfigError, match="modle"):
        Settings.load(config)
