"""A document's other fields through the same scrubber as its text.

``url`` and a quarantined record's ``detail`` are plain strings; ``meta`` is a JSON object (authors,
titles, mail headers), scrubbed value by value (numbers too) so that it stays valid JSON and a placeholder never
swallows a quote or a key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from filters.pii.scrubber import PiiScrubber


def scrub_strings(
    scrubber: PiiScrubber, values: Sequence[str | None], langs: Sequence[str | None] | None = None
) -> list[str | None]:
    """Each value scrubbed (None stays None)."""
    return [result.text for result in scrubber.scrub(values, langs)]


def scrub_json_values(
    scrubber: PiiScrubber, values: Sequence[str | None], langs: Sequence[str | None] | None = None
) -> list[str | None]:
    """Every string inside each JSON value scrubbed, in one scrubber call for the batch; a value that is not
    JSON is scrubbed as a plain string."""
    parsed = [_parse(value) for value in values]
    leaves, owners = [], []
    for i, (obj, _) in enumerate(parsed):
        for leaf in _strings(obj):
            leaves.append(leaf)
            owners.append(i)
    leaf_langs = [langs[i] for i in owners] if langs is not None else None
    clean = iter(scrub_strings(scrubber, leaves, leaf_langs))
    out: list[str | None] = []
    for value, (obj, is_json) in zip(values, parsed, strict=True):
        if value is None:
            out.append(None)
            continue
        rebuilt = _map_strings(obj, lambda _: next(clean))
        out.append(json.dumps(rebuilt, ensure_ascii=False, sort_keys=True) if is_json else rebuilt)
    return out


def _parse(value: str | None) -> tuple[Any, bool]:
    """(the parsed JSON, True), or (the string itself, False) when it is not JSON."""
    if value is None:
        return None, False
    try:
        return json.loads(value), True
    except ValueError:
        return value, False


def _is_number(obj: Any) -> bool:
    return isinstance(obj, (int, float)) and not isinstance(obj, bool)


def _strings(obj: Any) -> Iterator[str]:
    """The string values of ``obj`` (numbers as strings: a phone or card number may be stored as one)."""
    if isinstance(obj, str):
        yield obj
    elif _is_number(obj):
        yield str(obj)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _strings(item)
    elif isinstance(obj, list):
        for item in obj:
            yield from _strings(item)


def _map_strings(obj: Any, fn: Callable[[str], str]) -> Any:
    """``obj`` with every value ``_strings`` yields replaced by ``fn(value)`` (keys stay; a number stays a
    number unless ``fn`` changed it)."""
    if isinstance(obj, str):
        return fn(obj)
    if _is_number(obj):
        clean = fn(str(obj))
        return obj if clean == str(obj) else clean
    if isinstance(obj, dict):
        return {key: _map_strings(item, fn) for key, item in obj.items()}
    if isinstance(obj, list):
        return [_map_strings(item, fn) for item in obj]
    return obj
