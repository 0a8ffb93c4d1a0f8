"""Nested settings mappings: one applied over another, and what one changes from another."""

from __future__ import annotations

from typing import Any


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied, nested mappings merged key by key."""
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def changed_values(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted key -> value in ``new``, for every leaf where ``new`` differs from ``old``."""
    found: dict[str, Any] = {}
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found.update(changed_values(a, b, f"{prefix}{key}."))
        elif a != b:
            found[f"{prefix}{key}"] = b
    return found
