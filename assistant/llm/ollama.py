"""The Ollama backend: ``ChatOllama`` (langchain-ollama) against a configured host.

:func:`probe` asks the server which models it has (``GET /api/tags`` of Ollama's
REST API) within a short timeout; it never raises.
"""

from dataclasses import dataclass, field

import httpx


@dataclass(frozen=True)
class OllamaStatus:
    """What a probe found: whether the server answered, and its model names."""

    host: str
    reachable: bool
    models: tuple[str, ...] = field(default_factory=tuple)
    error: str | None = None

    def has_model(self, name: str) -> bool:
        """Whether ``name`` is served, with Ollama's implicit ``:latest`` tag."""
        wanted = name if ":" in name else f"{name}:latest"
        return any(m in (name, wanted) for m in self.models)


def probe(host: str, timeout_seconds: float = 1.0) -> OllamaStatus:
    """List the models of the Ollama server at ``host`` (a base URL).

    Args:
        host: e.g. ``http://127.0.0.1:11434``.
        timeout_seconds: total time allowed for connecting and answering.

    Returns:
        The status; ``reachable`` is False with a short ``error`` when the server
        did not answer in time, refused, or answered something that is not Ollama.
    """
    try:
        response = httpx.get(f"{host}/api/tags", timeout=timeout_seconds, trust_env=False)
        response.raise_for_status()
        models = tuple(m["name"] for m in response.json().get("models", []))
    except httpx.ConnectError:
        return OllamaStatus(host, False, error="connection refused")
    except httpx.TimeoutException:
        return OllamaStatus(host, False, error=f"no answer within {timeout_seconds:g} s")
    except httpx.HTTPStatusError as exc:
        return OllamaStatus(host, False, error=f"HTTP {exc.response.status_code}")
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return OllamaStatus(host, False, error=f"not an Ollama server ({type(exc).__name__})")
    return OllamaStatus(host, True, models)
