"""Typed, bounded reading of untrusted spec mappings, with field paths for every error.

Every family parses its part of a spec through :class:`Fields`, so all specs share the same
messages, bounds and unknown-key checks. Values are never evaluated: a number must be a number.
"""
from __future__ import annotations

import math
from typing import Any, Iterator, Optional, Sequence, Tuple

from .errors import SpecError

_REQUIRED = object()


def describe(value: Any) -> str:
    """A short, safe rendering of an offending value for error messages."""
    if isinstance(value, str):
        text = repr(value)
        return f"string {text[:40] + '...' if len(text) > 40 else text}"
    if isinstance(value, bool):
        return f"boolean {value}"
    if isinstance(value, (dict, list)):
        return f"a {'mapping' if isinstance(value, dict) else 'list'}"
    if value is None:
        return "nothing (null)"
    text = repr(value)
    return text[:40] + "..." if len(text) > 40 else text


class Fields:
    """A view on one mapping of a spec at a known field path."""

    def __init__(self, raw: Any, source: str, path: str = ""):
        self.source = source
        self.path = path
        if not isinstance(raw, dict):
            raise self.error("", f"expected a mapping, got {describe(raw)}")
        self.raw = raw
        self._seen: set = set()

    # -- plumbing -----------------------------------------------------------------------------
    def sub_path(self, key: Any) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else str(key)

    def error(self, key: Any, message: str) -> SpecError:
        path = self.sub_path(key) if key != "" else self.path
        return SpecError(self.source, path, message)

    def has(self, key: str) -> bool:
        return key in self.raw

    def _get(self, key: str, default: Any) -> Tuple[Any, bool]:
        """(value, given): an absent or null field yields the default, unvalidated."""
        self._seen.add(key)
        if key in self.raw and self.raw[key] is not None:
            return self.raw[key], True
        if default is _REQUIRED:
            typos = [k for k in self.raw if isinstance(k, str) and k not in self._seen
                     and _close_matches(k, [key])]
            hint = f" (found {typos[0][:40]!r}: did you mean {key!r}?)" if typos else ""
            raise self.error(key, f"is required{hint}")
        return default, False

    # -- typed readers ------------------------------------------------------------------------
    def value(self, key: str, default: Any = _REQUIRED) -> Any:
        """The raw value, for a caller that checks it itself (marks the key as read)."""
        return self._get(key, default)[0]

    def int(self, key: str, default: Any = _REQUIRED, *, lo: Optional[int] = None,
            hi: Optional[int] = None) -> int:
        value, given = self._get(key, default)
        if not given:
            return value
        if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {describe(value)}")
        return self._bounded(key, value, lo, hi)

    def float(self, key: str, default: Any = _REQUIRED, *, lo: Optional[float] = None,
              hi: Optional[float] = None) -> float:
        value, given = self._get(key, default)
        if not given:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, f"expected a number, got {describe(value)}")
        if isinstance(value, int) and abs(value) > 2 ** 53:
            raise self.error(key, f"{describe(value)} is out of range")
        value = float(value)
        if not math.isfinite(value):
            raise self.error(key, f"expected a finite number, got {value}")
        return self._bounded(key, value, lo, hi)

    def bool(self, key: str, default: Any = _REQUIRED) -> bool:
        value, given = self._get(key, default)
        if not given:
            return value
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {describe(value)}")
        return value

    def str(self, key: str, default: Any = _REQUIRED, *, choices: Optional[Sequence[str]] = None,
            max_len: int = 200) -> str:
        value, given = self._get(key, default)
        if not given:
            return value
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {describe(value)}")
        if len(value) > max_len:
            raise self.error(key, f"is longer than {max_len} characters")
        if choices is not None and value not in choices:
            hint = _close_matches(value, choices)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise self.error(key, f"{describe(value)} is not one of {', '.join(choices)}{extra}")
        return value

    def pair(self, key: str, default: Any = _REQUIRED, *, lo: Optional[int] = None,
             hi: Optional[int] = None) -> Tuple[int, int]:
        """An int (the same on both axes) or a list ``[h, w]`` of two ints, as a tuple."""
        value, given = self._get(key, default)
        if not given:
            return value if value is None or isinstance(value, tuple) else (value, value)
        if isinstance(value, list):
            if len(value) != 2:
                raise self.error(key, f"expected an integer or [h, w], got {len(value)} entries")
            return tuple(Fields({key: v}, self.source, self.path).int(key, lo=lo, hi=hi)
                         for v in value)  # type: ignore[return-value]
        number = self.int(key, lo=lo, hi=hi)
        return number, number

    def per_axis(self, key: str, default: Any = _REQUIRED, *, lo: Optional[int] = None,
                 hi: Optional[int] = None, max_axes: int = 3) -> Any:
        """An int (the same on every spatial axis, kept as an int) or a list of one per axis
        (1 to ``max_axes`` ints, as a tuple): a window size of a 1D, 2D or 3D op."""
        value, given = self._get(key, default)
        if not given:
            return value
        if isinstance(value, list):
            if not 1 <= len(value) <= max_axes:
                raise self.error(key, f"expected an integer or a list of 1 to {max_axes} (one "
                                      f"per spatial axis), got {len(value)} entries")
            return tuple(Fields({key: v}, self.source, self.path).int(key, lo=lo, hi=hi)
                         for v in value)
        return self.int(key, lo=lo, hi=hi)

    def int_list(self, key: str, default: Any = _REQUIRED, *, lo: Optional[int] = None,
                 hi: Optional[int] = None, min_len: int = 0, max_len: int = 64) -> Tuple[int, ...]:
        """A list of bounded ints, as a tuple (an int alone is a list of one)."""
        value, given = self._get(key, default)
        if not given:
            return value
        entries = value if isinstance(value, list) else [value]
        if not min_len <= len(entries) <= max_len:
            raise self.error(key, f"expected {min_len} to {max_len} entries, got {len(entries)}")
        return tuple(Fields({key: v}, self.source, self.path).int(key, lo=lo, hi=hi)
                     for v in entries)

    def list(self, key: str, default: Any = _REQUIRED, *, min_len: int = 0,
             max_len: int = 100_000) -> list:
        value, given = self._get(key, default)
        if not given:
            return value
        if not isinstance(value, list):
            raise self.error(key, f"expected a list, got {describe(value)}")
        if not min_len <= len(value) <= max_len:
            raise self.error(key, f"expected {min_len} to {max_len} entries, got {len(value)}")
        return value

    def items(self, key: str, **kwargs: Any) -> Iterator["Fields"]:
        """Each entry of a list of mappings, as Fields with its own path (``stages[2]``)."""
        entries = self.list(key, **kwargs)
        base = self.sub_path(key)
        for i, entry in enumerate(entries):
            yield Fields(entry, self.source, f"{base}[{i}]")

    def mapping(self, key: str) -> "Fields":
        return Fields(self._get(key, _REQUIRED)[0], self.source, self.sub_path(key))

    def finish(self, allowed_extra: Sequence[str] = ()) -> None:
        """Reject any key that nobody read: a typo must not silently fall back to a default."""
        unknown = [k for k in self.raw if k not in self._seen and k not in allowed_extra]
        if unknown:
            key = unknown[0]
            known = sorted(str(k) for k in self._seen)
            hint = _close_matches(str(key), known)
            extra = f" (did you mean {hint[0]!r}?)" if hint else f" (known: {', '.join(known)})"
            raise self.error(str(key)[:40], f"unknown field{extra}")

    def _bounded(self, key: str, value: Any, lo: Any, hi: Any) -> Any:
        if lo is not None and value < lo:
            raise self.error(key, f"{value} is below the minimum {lo}")
        if hi is not None and value > hi:
            raise self.error(key, f"{value} is above the maximum {hi}")
        return value


def _close_matches(word: str, candidates: Sequence[str]) -> list:
    return closest(word, candidates, n=1)


def closest(word: str, candidates: Sequence[str], n: int = 3) -> list:
    """The candidates a user probably meant by ``word``, best first.

    Abbreviations and fragments come first (``effnet`` -> ``efficientnet``, ``regnetx_8`` ->
    ``regnetx_800mf``): a candidate that starts with the word, then one that contains it, then
    one that contains its letters in order. Then typos, by difflib's similarity (``dpeth`` ->
    ``depth``), which alone would rank ``rexnet`` above ``efficientnet`` for ``effnet``.
    """
    from difflib import get_close_matches  # only on the error path

    low = word.lower()

    def rank(candidate: str) -> int:
        text = candidate.lower()
        if text.startswith(low):
            return 0
        if low in text:
            return 1
        letters = iter(text)
        return 2 if all(ch in letters for ch in low) else 3

    fragments = sorted((c for c in candidates if len(low) >= 3 and rank(c) < 3), key=rank)
    typos = get_close_matches(word, candidates, n=n)
    return list(dict.fromkeys(fragments + typos))[:n]
