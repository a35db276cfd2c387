"""A chapter's answer: right under its question in the book, where it is computed in Jupyter.

A chapter computes its answer from the records, after its hidden setup cells; the house style
puts the answer right under the question. So the cell that computes it glues the Markdown under
a key (MyST-NB's ``glue``), the question's cell pastes it there (:func:`paste`, a ``{glue:md}``
directive), and the book removes the computing cell (tag ``remove-cell``; glued values outlive
it). Run as a plain notebook, the same cell shows the answer where it is computed.
"""

from __future__ import annotations

import sys

KEY = "answer"
"""The glue key of a chapter's answer (one per notebook: keys are local to their page)."""


def paste(key: str = KEY) -> str:
    """The Markdown block that pastes the answer glued under ``key``, read as MyST (roles such as
    badges and cross-references work in it)."""
    return f"```{{glue:md}} {key}\n:format: myst\n```"


def show(markdown: str, key: str = KEY) -> None:
    """Glue ``markdown`` under ``key`` for the book (no visible output there) and display it here.

    Outside a notebook (no IPython), print it. Without MyST-NB (a bare Jupyter), only display it."""
    ipython = sys.modules.get("IPython")
    if ipython is None or ipython.get_ipython() is None:
        print(markdown)
        return
    from IPython.display import Markdown, display

    try:
        from myst_nb import glue
    except ImportError:  # pragma: no cover - a Jupyter without the book's packages
        pass
    else:
        glue(key, Markdown(markdown), display=False)
    display(Markdown(markdown))


__all__ = ["KEY", "paste", "show"]
