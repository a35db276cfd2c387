"""Typesetting of reader-facing Markdown: no line break inside a unit that belongs together.

A browser breaks a line at any space and after an en dash, so a narrow column (a phone, a table
cell) can split "d = 4–8" into "d / = 4– / 8", or "95 %" into "95 / %". :func:`keep_together`
joins such units with non-breaking characters, outside inline code and maths, and
:func:`plain` undoes it (for tests and for text that leaves the page, such as ``summary.json``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

NBSP = "\u00a0"
"""No-break space."""
WORD_JOINER = "\u2060"
"""Forbids a line break where it stands (after an en dash in a range of numbers)."""

_KEEP = (
    (re.compile(r"\b([dNr]|R²) ([=≥≤<>]) "), rf"\1{NBSP}\2{NBSP}"),   # "d = 4", "R² ≥ 0.99"
    (re.compile(r"\bR² (?=\d)"), f"R²{NBSP}"),                           # "R² 0.99"
    (re.compile(r"(\d) %"), rf"\1{NBSP}%"),                              # "95 %"
    (re.compile(r"(\d)–(?=[\d∞])"), rf"\1–{WORD_JOINER}"),               # "4–8"
    (re.compile(r" → "), f"{NBSP}→{NBSP}"),                              # "184 → 15"
    (re.compile(r"(\d) × (?=\d)"), rf"\1{NBSP}×{NBSP}"),                 # "2 × 16"
    (re.compile(r"(?<![\d.,])(\d{1,3}) (?=\d{3}(?!\d|[.,]\d))"), rf"\1{NBSP}"),  # "100 000"
)
_PROTECTED = re.compile(r"(`[^`]*`|\$[^$]*\$|\]\([^)]*\)|<[A-Za-z/][^<>]*>)")
"""Left as they are: inline code (and roles' targets), inline maths, link targets and HTML tags."""


def keep_together(text: str) -> str:
    """``text`` with non-breaking spaces inside "d = 4", "R² ≥ 0.99", "95 %", "184 → 15",
    "2 × 16" and "100 000" (a thousands separator), and no break inside a range "4–8", except in
    inline code (and roles), inline maths, link targets and HTML tags."""
    parts = _PROTECTED.split(text)
    for i in range(0, len(parts), 2):   # the even parts lie outside code and maths
        for pattern, repl in _KEEP:
            parts[i] = pattern.sub(repl, parts[i])
    return "".join(parts)


def plain(text: str) -> str:
    """Undo :func:`keep_together`: ordinary spaces, no word joiners."""
    return text.replace(NBSP, " ").replace(WORD_JOINER, "")


def typeset(fn: Callable[..., str]) -> Callable[..., str]:
    """Decorate a function that returns reader-facing Markdown with :func:`keep_together`."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs) -> str:
        return keep_together(fn(*args, **kwargs))
    return wrapper


__all__ = ["NBSP", "WORD_JOINER", "keep_together", "plain", "typeset"]
