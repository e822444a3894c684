"""Filter and namespace matching with the semantics of LangGraph's stores.

``BaseStore.search(filter=...)`` and ``list_namespaces(prefix=..., suffix=...)``
are documented in ``langgraph.store.base``; the reference behaviour is
``InMemoryStore`` (which follows PostgreSQL's JSONB comparisons):

- a plain value matches by equality; a dict without ``$`` keys matches nested
  fields; a list matches element by element;
- a dict of operators applies each: ``$eq``, ``$ne``, ``$gt``, ``$gte``, ``$lt``,
  ``$lte`` (the ordering operators compare as numbers);
- a namespace condition matches label by label from the start (prefix) or the
  end (suffix), ``"*"`` matching any one label.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langgraph.store.base import MatchCondition

_ORDERING = {
    "$gt": float.__gt__,
    "$gte": float.__ge__,
    "$lt": float.__lt__,
    "$lte": float.__le__,
}


def matches_filter(value: Mapping[str, Any], filter: Mapping[str, Any] | None) -> bool:
    """Whether an item's value passes a ``search`` filter.

    Raises:
        ValueError: an unknown ``$`` operator.
        TypeError, ValueError: an ordering operator on a value that is not a number
            (as ``InMemoryStore`` raises).
    """
    if not filter:
        return True
    return all(_matches(value.get(key), expected) for key, expected in filter.items())


def _matches(actual: Any, expected: Any) -> bool:
    if isinstance(expected, Mapping):
        if any(str(k).startswith("$") for k in expected):
            return all(_apply(actual, op, operand) for op, operand in expected.items())
        if not isinstance(actual, Mapping):
            return False
        return all(_matches(actual.get(k), v) for k, v in expected.items())
    if isinstance(expected, list | tuple):
        return (
            isinstance(actual, list | tuple)
            and len(actual) == len(expected)
            and all(_matches(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return actual == expected


def _apply(actual: Any, operator: str, operand: Any) -> bool:
    if operator == "$eq":
        return actual == operand
    if operator == "$ne":
        return actual != operand
    compare = _ORDERING.get(operator)
    if compare is None:
        raise ValueError(f"Unsupported operator: {operator}")
    return compare(float(actual), float(operand))


def matches_condition(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    """Whether a namespace passes one ``list_namespaces`` match condition."""
    path = tuple(condition.path)
    if len(namespace) < len(path):
        return False
    if condition.match_type == "prefix":
        labels = namespace[: len(path)]
    elif condition.match_type == "suffix":
        labels = namespace[len(namespace) - len(path) :]
    else:
        raise ValueError(f"Unsupported match type: {condition.match_type}")
    return all(p == "*" or p == label for p, label in zip(path, labels, strict=True))
