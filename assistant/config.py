"""Settings: CLI flags over ``ASSISTANT_*`` environment variables over a TOML file.

Built once at the entry point (:meth:`Settings.load`) and passed down; nothing
here reads the environment at import time. ``OLLAMA_HOST`` is honoured as
Ollama's own clients honour it. Follows pydantic-settings' documented source
priority (init kwargs > environment > TOML file > defaults).
"""

import tomllib
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from assistant.errors import ConfigError
from assistant.formats import validation_problems
from assistant.paths import (
    default_config_file,
    default_data_dir,
    default_log_dir,
    default_models_dir,
)

Backend = Literal["auto", "ollama", "local"]
OLLAMA_DEFAULT_PORT = 11434


class Settings(BaseSettings):
    """Everything the user can configure. Units are in the field names or docstrings."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_", extra="forbid", populate_by_name=True, frozen=True
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    """Where conversations (and later memories and jobs) are stored."""

    log_dir: Path | None = None
    """Where log files go. Default: ``<data_dir>/logs`` when the data dir was set
    explicitly, otherwise the platform's user log directory."""

    backend: Backend = "auto"
    """``auto``: Ollama when it answers and has the model, else the embedded model;
    ``ollama``: always Ollama; ``local``: always the embedded llama.cpp model."""

    ollama_host: str = Field(
        default=f"http://127.0.0.1:{OLLAMA_DEFAULT_PORT}",
        validation_alias=AliasChoices("ollama_host", "ASSISTANT_OLLAMA_HOST", "OLLAMA_HOST"),
    )
    """Base URL of the Ollama server; ``OLLAMA_HOST`` is honoured."""

    ollama_model: str = "llama3.2"
    """The Ollama model to chat with (as in ``ollama pull NAME``)."""

    local_model: Literal["default", "small", "tiny"] | None = None
    """The bundled model of the embedded backend: ``default`` (Qwen2.5-Coder-1.5B),
    ``small`` (Qwen2.5-Coder-0.5B) or ``tiny`` (SmolLM2-135M); unset: the first of
    these that is installed. ``assistant models`` lists them and sets this."""

    local_model_path: Path | None = None
    """Any GGUF chat model for the embedded backend, used instead of a bundled one."""

    models_dir: Path = Field(default_factory=default_models_dir)
    """Where the bundled models that come in parts are joined (once) and kept."""

    local_context_tokens: int = Field(default=4096, ge=512)
    """Context window of the embedded model, in tokens."""

    local_threads: int | None = Field(default=None, ge=1)
    """CPU threads for the embedded model's decoding; default: one for a tiny model
    (under 300 MB), all cores (at most 8) for larger ones (docs/benchmarks.md)."""

    probe_timeout_seconds: float = Field(default=1.0, gt=0)
    """How long ``auto`` waits for Ollama before choosing the embedded model."""

    first_token_timeout_seconds: float = Field(default=120.0, gt=0)
    """How long a reply from Ollama may take to start: loading the model and reading
    the prompt, which on a CPU host takes tens of seconds. Longer: an error."""

    inter_token_timeout_seconds: float = Field(default=30.0, gt=0)
    """How long Ollama may go quiet between two pieces of a reply. Longer: an error
    (the partial reply is kept)."""

    temperature: float | None = Field(default=None, ge=0, le=2)
    """Sampling temperature of replies; unset: the model card's (bundled models),
    0.7 otherwise."""

    max_reply_tokens: int = Field(default=768, ge=16)
    """Upper bound on the length of one reply, in tokens."""

    history_tokens: int = Field(default=2048, ge=64)
    """Token budget for the past messages of a conversation put into the prompt."""

    max_message_chars: int = Field(default=100_000, ge=1)
    """Longest message accepted, in characters; longer ones are refused unsaved."""

    embedder: str = "minilm"
    """What embeds memories: ``minilm`` (bundled all-MiniLM-L6-v2, offline) or
    ``ollama:MODEL`` (an Ollama embedding model, e.g. ``ollama:nomic-embed-text``).
    Changing it needs ``assistant memories reindex``."""

    chroma_url: str | None = None
    """A Chroma server (``chroma run``) to keep memories in, e.g.
    ``http://127.0.0.1:8000``; default: embedded Chroma in ``<data_dir>/memory``."""

    user_id: str = Field(default="me", min_length=1, pattern=r"^[^.]+$")
    """Whose memories these are: fills ``{user_id}`` in ``memory_namespace``."""

    memory_namespace: tuple[str, ...] = ("memories", "{user_id}")
    """The LangGraph store namespace of memories; ``{user_id}`` is filled in."""

    recall_budget_tokens: int = Field(default=1000, ge=0)
    """Token budget for the memories recalled into each turn's prompt (0: none)."""

    search_min_score: float = Field(default=0.25, ge=-1, le=1)
    """The least cosine similarity of a memory a search lists by meaning (the memory
    pane's ``/``, ``assistant memories search``); one whose text holds the words is
    listed whatever its score. 0.25 suits the bundled MiniLM (the figures are in
    ``assistant.memory.editing.SEARCH_MIN_SCORE``); another embedder may need another."""

    conversation_search: bool = True
    """Also recall past exchanges: every message of every conversation that is not
    incognito is embedded and searched (in the memory store, namespace
    ``("conversations", user_id)``), within the same token budget."""

    reflection_delay_seconds: float = Field(default=600.0, gt=0)
    """Quiet time after a conversation's last message before it is reflected on."""

    reflection_max_wait_seconds: float = Field(default=7200.0, gt=0)
    """The longest a message waits for reflection, even if the conversation goes on."""

    reflection_retry_seconds: float = Field(default=1800.0, ge=0)
    """How long after a failed reflection the next try waits."""

    reconcile_interval_seconds: float = Field(default=300.0, gt=0)
    """How often the scheduler compares its jobs with the conversations (and picks
    up messages sent from another process)."""

    consolidation_cron: str = "0 3 * * *"
    """When the nightly consolidation runs (crontab: minute hour day month weekday,
    local time): duplicates across conversations are merged, old history retired."""

    history_retention_days: int | None = Field(default=90, ge=1)
    """How long superseded and retired memories are kept as history before the
    consolidation deletes them; unset (``None``) keeps them for ever."""

    jobstore_url: str | None = None
    """SQLAlchemy URL of the reflection job store, e.g. ``postgresql://...``;
    default: SQLite in ``<data_dir>/jobs.sqlite3``."""

    @field_validator("ollama_host")
    @classmethod
    def _normalise_host(cls, value: str) -> str:
        """Read ``host``, ``host:port``, ``[::1]:port`` or a URL as Ollama's Python
        client does (``ollama._client._parse_host``): no scheme is ``http`` on port
        11434, ``http://host`` port 80, ``https://host`` port 443, empty the default;
        ``0.0.0.0`` (a server's bind address) is this machine."""
        text = value.strip()
        scheme, _, rest = text.partition("://")
        port = OLLAMA_DEFAULT_PORT
        if not rest:
            scheme, rest = "http", text
        elif scheme in ("http", "https"):
            port = 80 if scheme == "http" else 443
        else:
            raise ValueError(f"{value!r} (from OLLAMA_HOST or ollama_host) is not http(s)")
        try:
            parts = urlsplit(f"{scheme}://{rest}")
            port = parts.port or port
        except ValueError as exc:  # a port that is not a number, a bad IPv6 address
            raise ValueError(
                f"{value!r} (from OLLAMA_HOST or ollama_host) is not a host, host:port "
                f"or URL ({exc})"
            ) from None
        host = parts.hostname or "127.0.0.1"
        host = "127.0.0.1" if host == "0.0.0.0" else f"[{host}]" if ":" in host else host
        path = parts.path.strip("/")
        return f"{scheme}://{host}:{port}" + (f"/{path}" if path else "")

    @field_validator("consolidation_cron")
    @classmethod
    def _check_cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"not a crontab expression ({exc}): {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _resolve_log_dir(self) -> "Settings":
        if self.log_dir is None:
            log_dir = (
                self.data_dir / "logs" if "data_dir" in self.model_fields_set else default_log_dir()
            )
            object.__setattr__(self, "log_dir", log_dir)
        return self

    @property
    def database_path(self) -> Path:
        """The conversations database, ``<data_dir>/conversations.sqlite3``."""
        return self.data_dir / "conversations.sqlite3"

    @property
    def memory_path(self) -> Path:
        """The embedded memory store (a Chroma directory), ``<data_dir>/memory``."""
        return self.data_dir / "memory"

    @property
    def jobstore(self) -> str:
        """The job store URL: ``jobstore_url``, or SQLite in ``<data_dir>/jobs.sqlite3``."""
        return self.jobstore_url or f"sqlite:///{self.data_dir / 'jobs.sqlite3'}"

    @property
    def scheduler_lock_path(self) -> Path:
        """The file whose lock makes a process the scheduler owner."""
        return self.data_dir / "scheduler.lock"

    @property
    def job_log_path(self) -> Path:
        """One line per background job: ``<log_dir>/jobs.log``."""
        assert self.log_dir is not None
        return self.log_dir / "jobs.log"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides: object) -> "Settings":
        """Read settings from the TOML file, the environment and ``overrides``.

        Args:
            config_file: the TOML file; default :func:`assistant.paths.default_config_file`.
                A missing file is fine (defaults apply).
            overrides: values from CLI flags; ``None`` values are ignored.

        Raises:
            ConfigError: the file is not valid TOML or a value is invalid.
        """
        path = config_file or default_config_file()

        class _FromFile(cls):  # type: ignore[valid-type, misc]
            model_config = SettingsConfigDict(toml_file=path)

        _FromFile.__name__ = cls.__name__
        given = {key: value for key, value in overrides.items() if value is not None}
        try:
            return _FromFile(**given)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"The config file {path} is not valid TOML: {exc}.") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"The config file {path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} "
                f"at offset {exc.start}). Write it as TOML in UTF-8, or move it aside."
            ) from exc
        except OSError as exc:
            raise ConfigError(
                f"Cannot read the config file {path}: {exc.strerror or exc}. "
                "Fix its permissions, or point --config elsewhere."
            ) from exc
        except ValidationError as exc:
            problems = validation_problems(exc, whole="settings")
            raise ConfigError(
                f"Invalid settings ({problems}). Check {path} and ASSISTANT_* variables."
            ) from exc


def write_setting(config_file: Path, key: str, value: object) -> None:
    """Set ``key = value`` in the TOML config file, keeping its comments and layout
    (tomlkit); the file is created (mode 0600) if it does not exist.

    Raises:
        ConfigError: the file is not valid TOML, or cannot be written.
    """
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        text = config_file.read_text() if config_file.is_file() else ""
        document = tomlkit.parse(text)
    except (OSError, TOMLKitError) as exc:
        raise ConfigError(f"Cannot read the config file {config_file}: {exc}.") from exc
    document[key] = value
    try:
        config_file.parent.mkdir(parents=True, exist_ok=True)
        config_file.write_text(tomlkit.dumps(document))
        config_file.chmod(0o600)
    except OSError as exc:
        raise ConfigError(
            f"Cannot write the config file {config_file}: {exc.strerror or exc}."
        ) from exc
