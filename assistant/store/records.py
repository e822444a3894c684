"""How items are kept as Chroma records (see ``assistant.store.chroma``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
from langgraph.store.base import IndexConfig, Item, SearchItem

Best = dict[tuple[tuple[str, ...], str], tuple[float, Item]]


def describe_embedder(index: IndexConfig | None, explicit: str | None) -> str:
    if explicit:
        return explicit
    if not index:
        return "none"
    embed = index.get("embed")
    if isinstance(embed, str):
        return embed
    named = getattr(embed, "name", None)
    if isinstance(named, str):
        return named
    target = embed if callable(embed) and not hasattr(embed, "embed_documents") else type(embed)
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', '?')}"


def placeholder(key: str, dims: int) -> list[float]:
    """A fixed unit vector for an item without text: random, so far from real ones."""
    seed = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
    vector = np.random.default_rng(seed).standard_normal(dims)
    return (vector / np.linalg.norm(vector)).tolist()


def _dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def to_item(namespace: tuple[str, ...], record_id: str, meta: Mapping[str, Any]) -> Item:
    return Item(
        value=json.loads(meta["value"]),
        key=record_id[2:],
        namespace=namespace,
        created_at=_dt(meta["created_at"]),
        updated_at=_dt(meta["updated_at"]),
    )


def dumps(value: Any) -> str:
    """JSON text of a value; TypeError for what JSON cannot hold (as LangGraph's
    SQL stores raise)."""
    if not isinstance(value, Mapping):
        raise TypeError(f"An item's value must be a mapping, not {type(value).__name__}")
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def keep(best: Best, score: float, item: Item) -> None:
    """Record an item's score, keeping the best per item (max pooling)."""
    key = (item.namespace, item.key)
    if key not in best or best[key][0] < score:
        best[key] = (score, item)


def search_item(item: Item, score: float | None) -> SearchItem:
    return SearchItem(
        namespace=item.namespace,
        key=item.key,
        value=item.value,
        created_at=item.created_at,
        updated_at=item.updated_at,
        score=score,
    )
