"""Tables for the book: a pandas DataFrame shown without its index, readable on a phone."""

from __future__ import annotations


def styled(frame, digits: int | None = None, wrap: bool = False):
    """A table for the book: no index, cells on one line with some padding (with ``wrap``, text
    cells wrap instead, for tables of words such as the settings), left-aligned headers that may
    wrap, the first column fixed when the table scrolls sideways; with ``digits``, every float
    to that many decimals with a true minus ("−1.4").
    *Returns* a pandas Styler."""
    style = frame.style.hide(axis="index")
    if digits is not None:
        style = style.format(lambda v: f"{v:.{digits}f}".replace("-", "\u2212") if v == v else "–",
                             subset=[c for c in frame.columns if frame[c].dtype.kind == "f"])
    return (style
            .set_table_styles([{"selector": "td", "props": [("white-space", "normal" if wrap else "nowrap"),
                                                           ("padding", "0.2em 0.6em")]},
                               {"selector": "th", "props": [("padding", "0.2em 0.6em"),
                                                           ("text-align", "left")]},
                               # the first column stays in view while a phone scrolls the rest
                               {"selector": "td:first-child, th:first-child",
                                "props": [("position", "sticky"), ("left", "0"),
                                          ("background", "var(--pst-color-background, white)")]}]))


def styled_index(frame):
    """Like :func:`styled`, for a frame whose (multi-)index holds the row labels: the index is
    shown (repeated labels merged into one cell), its names row hidden. *Returns* a pandas Styler."""
    style = frame.style.hide(axis="index", names=True)
    return style.set_table_styles([{"selector": "td, th", "props": [("padding", "0.2em 0.35em"),
                                                                     ("white-space", "nowrap")]},
                                   {"selector": "th", "props": [("text-align", "left")]}])
