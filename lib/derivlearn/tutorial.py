"""The tutorial chapter (``notebooks/tutorial.ipynb``): its one parameter and its summary.

The tutorial shows the methods of the book in small code and computes everything it shows in
seconds; it reads no stored results. Its one parameter is the profile (``smoke`` shrinks every
size for the tests; ``book`` and ``full`` give the page), validated like a study's: the
notebook's config cell calls ``TutorialConfig.from_notebook(globals(), PARAMETERS)``, which
refuses any other name papermill injected. Its summary holds the errors of its derivative
checks, nothing that varies from run to run, so that a rebuild leaves the file unchanged.

Example:
    >>> TutorialConfig.from_profile("smoke").profile
    'smoke'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from derivlearn.params import PROFILES, Choice, ProfileConfig, knob
from derivlearn.store import ResultStore, default_root

STUDY = "tutorial"
"""The folder of the tutorial's summary in the results store."""


@dataclass(frozen=True)
class TutorialConfig(ProfileConfig):
    """The tutorial's one knob, ``profile`` (``smoke``: toy sizes for the tests)."""

    study: ClassVar[str] = STUDY
    NAME: ClassVar[str] = "the tutorial"
    profile: str = knob(Choice(PROFILES), "smoke: toy sizes (the tests); book and full: the page")

    @property
    def smoke(self) -> bool:
        """Whether the page runs at toy sizes."""
        return self.profile == "smoke"


def write_summary(profile: str, summary: Mapping[str, Any], root: str | Path | None = None) -> Path:
    """Write the tutorial's summary (``summary.json`` for ``book``, ``summary.<profile>.json``
    otherwise) under ``root`` (default: the store of ``profile``, see
    :func:`derivlearn.store.default_root`); unchanged numbers leave the file alone."""
    return ResultStore(Path(root) if root is not None else default_root(profile), STUDY) \
        .write_summary(summary, profile)


__all__ = ["STUDY", "TutorialConfig", "write_summary"]
