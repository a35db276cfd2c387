"""Profiles and validated study parameters.

Every study chapter has one config dataclass (a subclass of :class:`StudyConfig`) whose
fields carry a *check* in their metadata, and one table of per-profile defaults. A notebook's
``parameters`` cell sets ``profile`` and leaves every other knob at ``None``; a re-runner
overrides any knob through papermill. :func:`resolve` merges the three layers::

    explicit override (not None)  >  profile table  >  dataclass default

and validates the result *before* any computation, raising a :class:`ValueError` that names
the parameter and what it allows. The knob ``scheduler`` has one more layer: the environment
variable ``DERIVLEARN_SCHEDULER``, set on purpose by a user (a Dask cluster), beats the profile
table but not an explicit override (see :meth:`StudyConfig.from_profile`).

A notebook declares its knobs once, in its ``parameters`` cell, which ends with
``PARAMETERS = dir()``; its config cell calls :meth:`StudyConfig.from_notebook`, which refuses
any name papermill injected that the parameters cell does not declare.

Example:
    >>> cfg = TheoryConfig.from_profile("smoke", d_max=12)   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

PROFILES: tuple[str, ...] = ("smoke", "book", "full")
"""The three profiles: seconds (tests), committed book results (CPU-hours), paper scale."""

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")


# ----------------------------------------------------------------------------- checks
class Check:
    """A validation rule for one parameter. Subclasses implement :meth:`__call__`."""

    def __call__(self, name: str, value: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError


def _fail(name: str, value: Any, allowed: str) -> ValueError:
    return ValueError(f"parameter {name!r}: got {value!r}; allowed: {allowed}")


@dataclass(frozen=True)
class Choice(Check):
    """Value must be one of ``values``."""

    values: tuple[Any, ...]

    def __call__(self, name: str, value: Any) -> Any:
        if value not in self.values:
            raise _fail(name, value, self.describe())
        return value

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class Range(Check):
    """A number in ``[lo, hi]`` (either bound may be ``None``); ``integer`` forbids fractions."""

    lo: float | None = None
    hi: float | None = None
    integer: bool = False

    def __call__(self, name: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(name, value, self.describe())
        if self.integer:
            if isinstance(value, float) and not value.is_integer():
                raise _fail(name, value, self.describe())
            value = int(value)
        else:
            try:
                finite = math.isfinite(value)
            except OverflowError:
                finite = False
            if not finite:
                raise _fail(name, value, self.describe())
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise _fail(name, value, self.describe())
        return value

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a number"
        lo = "-inf" if self.lo is None else f"{self.lo:g}"
        hi = "inf" if self.hi is None else f"{self.hi:g}"
        return f"{kind} in [{lo}, {hi}]"


@dataclass(frozen=True)
class ListOf(Check):
    """A non-empty list whose items each pass ``item``; returned as a tuple (hashable)."""

    item: Check
    min_len: int = 1
    unique: bool = True

    def __call__(self, name: str, value: Any) -> Any:
        if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
            raise _fail(name, value, self.describe())
        items = tuple(self.item(f"{name}[{i}]", v) for i, v in enumerate(value))
        if len(items) < self.min_len:
            raise _fail(name, value, self.describe())
        if self.unique and len(set(items)) != len(items):
            raise _fail(name, value, self.describe() + " without repeats")
        return items

    def describe(self) -> str:
        return f"a list of at least {self.min_len} item(s), each {self.item.describe()}"


@dataclass(frozen=True)
class Flag(Check):
    """A boolean."""

    def __call__(self, name: str, value: Any) -> Any:
        if not isinstance(value, bool):
            raise _fail(name, value, self.describe())
        return value

    def describe(self) -> str:
        return "True or False"


@dataclass(frozen=True)
class Scheduler(Check):
    """Where sweeps run: ``None`` (env ``DERIVLEARN_SCHEDULER`` or automatic),
    ``"auto"``, ``"inprocess"``, ``"local"`` or a Dask address ``"tcp://host:port"``."""

    def __call__(self, name: str, value: Any) -> Any:
        if value is None or value in ("auto", "inprocess", "local"):
            return value
        if isinstance(value, str) and value.startswith(("tcp://", "tls://", "inproc://")):
            return value
        raise _fail(name, value, self.describe())

    def describe(self) -> str:
        return "None, 'auto', 'inprocess', 'local' or a Dask address such as 'tcp://host:8786'"


@dataclass(frozen=True)
class Optional(Check):
    """``None`` or a value passing ``inner``."""

    inner: Check

    def __call__(self, name: str, value: Any) -> Any:
        return None if value is None else self.inner(name, value)

    def describe(self) -> str:
        return "None or " + self.inner.describe()


def knob(check: Check, doc: str, default: Any = None) -> Any:
    """A config field with a validation rule and a one-line description."""
    return field(default=default, metadata={"check": check, "doc": doc})


# ----------------------------------------------------------------------------- configs
C = TypeVar("C", bound="StudyConfig")


@dataclass(frozen=True)
class StudyConfig:
    """Knobs every study shares. Subclasses add their own and set ``study`` and ``PROFILE_TABLE``.

    ``PROFILE_TABLE`` maps each profile name to the defaults that profile gives the study's
    knobs; it is the single place where a profile's sizes live.
    """

    study: ClassVar[str] = "base"
    PROFILE_TABLE: ClassVar[Mapping[str, Mapping[str, Any]]] = {p: {} for p in PROFILES}
    RESULT_VERSION: ClassVar[int] = 1
    """The study's result version: part of every run key (:func:`derivlearn.store.config_key`).
    Bump it in a change that alters results, so that the old records are recomputed rather than
    served; override :meth:`version_of` to version a study's methods separately."""

    profile: str = knob(Choice(PROFILES), "smoke: seconds; book: committed results; full: paper")
    device: str = knob(Choice(DEVICES), "torch device; 'auto' picks CUDA when present", "auto")
    scheduler: str | None = knob(Scheduler(), "where the sweep runs (see derivlearn.sweep)")
    n_workers: int | None = knob(Optional(Range(1, 1024, integer=True)), "local Dask workers")
    recompute: bool = knob(Flag(), "rerun runs already in the results store", False)
    retry_failed: bool = knob(Flag(), "rerun only the runs recorded as failed", False)
    progress: bool | None = knob(Optional(Flag()), "progress bar; None: on unless DERIVLEARN_PROGRESS=0")
    compute: bool | None = knob(Optional(Flag()), "compute the runs missing from the store; None: on "
                                "unless DERIVLEARN_COMPUTE=0 (the book build of the book profile)")

    @classmethod
    def knobs(cls) -> dict[str, dataclasses.Field]:
        """Every validated field, by name."""
        return {f.name: f for f in dataclasses.fields(cls) if "check" in f.metadata}

    @classmethod
    def from_profile(cls: type[C], profile: str = "book", **overrides: Any) -> C:
        """Build a validated config: overrides (not ``None``) > profile table > defaults.

        For ``scheduler`` the order is: override > ``$DERIVLEARN_SCHEDULER`` > profile table >
        ``None`` (automatic; see :func:`derivlearn.sweep.resolve_scheduler`). A profile that pins
        a scheduler (``smoke`` runs in process) gives a default, not a veto over the user's
        environment.

        Raises:
            ValueError: unknown profile, unknown parameter, or a value out of range.
        """
        Choice(PROFILES)("profile", profile)
        known = cls.knobs()
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {unknown} for study {cls.study!r}; "
                f"allowed: {sorted(k for k in known if k != 'profile')}"
            )
        values: dict[str, Any] = {}
        table = cls.PROFILE_TABLE[profile]
        for name, f in known.items():
            if name == "profile":
                values[name] = profile
            elif overrides.get(name) is not None:
                values[name] = overrides[name]
            elif name == "scheduler" and os.environ.get(SCHEDULER_ENV):
                values[name] = env_scheduler()  # a user's explicit choice beats the profile's
            elif name in table:
                values[name] = table[name]
            else:
                values[name] = f.default
            if values[name] is None and not isinstance(f.metadata["check"], (Optional, Scheduler)):
                raise ValueError(
                    f"parameter {name!r} has no value in profile {profile!r}; "
                    f"allowed: {f.metadata['check'].describe()}"
                )
            if values[name] is not None or isinstance(f.metadata["check"], (Optional, Scheduler)):
                values[name] = f.metadata["check"](name, values[name])
        cfg = cls(**values)
        resolve_device(cfg.device)  # 'cuda' without a GPU fails here, before any computation
        cfg.check()
        return cfg

    @classmethod
    def from_notebook(cls: type[C], namespace: Mapping[str, Any], declared: Iterable[str]) -> C:
        """Build the config of a chapter notebook from its global namespace.

        The notebook's ``parameters`` cell assigns ``profile`` and each knob (``None``: the
        profile's value) and ends with ``PARAMETERS = dir()``, the names it declares. Papermill
        then injects its cell, and the config cell calls
        ``cfg = XConfig.from_notebook(globals(), PARAMETERS)``.

        Args:
            namespace: the notebook's globals after the injected-parameters cell.
            declared: the names the ``parameters`` cell saw (``PARAMETERS``); IPython's own
                names (``In``, ``Out``, ``_i1``, ``get_ipython``, ...) may be among them.

        Raises:
            ValueError: a name that papermill injected (a value in ``namespace`` that the
                parameters cell did not declare; modules, classes and functions, such as the
                config cell's imports, are not parameters) is refused, naming it and the allowed
                knobs, since papermill itself only warns and the chapter would silently run
                without it; then every check of :meth:`from_profile`.
        """
        known = cls.knobs()
        names = (list(declared) if isinstance(declared, Iterable)
                 and not isinstance(declared, (str, bytes)) else None)
        if names is None or not all(isinstance(n, str) for n in names):
            raise ValueError(f"study {cls.study!r}: 'PARAMETERS' is not a parameter (it lists the "
                             f"names of the notebook's parameters cell); allowed: {sorted(known)}")
        declared = set(names)
        undeclared = [
            name for name, value in namespace.items()
            if name not in declared and not _notebook_internal(name) and _is_value(value)
        ]
        if undeclared:
            allowed = sorted(k for k in known if k in declared)
            raise ValueError(
                f"unknown parameter(s) {sorted(undeclared)} for study {cls.study!r} (not declared "
                f"in the notebook's parameters cell); allowed: {allowed}"
            )
        if "profile" not in declared or "profile" not in namespace:
            raise ValueError(f"study {cls.study!r}: the notebook's parameters cell declares no "
                             "'profile'; allowed: one of " + ", ".join(map(repr, PROFILES)))
        values = {k: namespace[k] for k in known if k in declared and k in namespace}
        return cls.from_profile(values.pop("profile"), **values)

    def check(self) -> None:
        """Cross-field validation; subclasses raise ``ValueError`` naming the parameters."""

    def version_of(self, config: Mapping[str, Any]) -> int:
        """The result version of one run config (default: :attr:`RESULT_VERSION` for every run)."""
        return self.RESULT_VERSION

    def as_dict(self) -> dict[str, Any]:
        """Plain-JSON view of the config (tuples become lists)."""
        return _jsonable(dataclasses.asdict(self))

    def describe(self) -> str:
        """One line per knob: name, value, meaning (for the notebook's first output)."""
        rows = [f"{self.study} study, profile {self.profile!r}"]
        for name, f in self.knobs().items():
            rows.append(f"  {name:<14} = {getattr(self, name)!r:<28} # {f.metadata['doc']}")
        return "\n".join(rows)

    # Shared derived settings -----------------------------------------------------------
    @property
    def progress_enabled(self) -> bool:
        if self.progress is not None:
            return self.progress
        return os.environ.get("DERIVLEARN_PROGRESS", "1") not in ("0", "false", "no")

    @property
    def compute_enabled(self) -> bool:
        """Whether a chapter computes the runs its store lacks (else it reads the records only,
        and says which runs are missing)."""
        if self.compute is not None:
            return self.compute
        return os.environ.get("DERIVLEARN_COMPUTE", "1") not in ("0", "false", "no")


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


SCHEDULER_ENV = "DERIVLEARN_SCHEDULER"
"""Environment variable naming where sweeps run (e.g. a Dask cluster ``tcp://head:8786``)."""


def env_scheduler() -> str:
    """The validated value of ``$DERIVLEARN_SCHEDULER`` (which must be set and not empty)."""
    value = os.environ[SCHEDULER_ENV]
    try:
        return Scheduler()("scheduler", value)
    except ValueError as err:
        raise ValueError(f"environment variable {SCHEDULER_ENV}: {err}") from None


_IPYTHON_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython", "PARAMETERS"})
"""Globals of an IPython kernel (besides the underscore ones), and the declared-names list."""


_IPYTHON_PRIVATE = re.compile(r"_+|_i+|_i\d+|_\d+|_(?:dh|oh|ih|exit_code)|__\w+__")
"""IPython's underscore names: output caches (``_``, ``__``, ``_3``), input history (``_i``,
``_ii``, ``_i3``), ``_dh``/``_oh``/``_ih``, ``_exit_code`` and dunders (``__name__``)."""


def _notebook_internal(name: str) -> bool:
    """A name no papermill parameter can mean: IPython's (``In``, ``_i3``, ``__name__``, ...).

    Other names with a leading underscore (``_seeds``) are not exempt: papermill would inject
    them like any other."""
    return bool(_IPYTHON_PRIVATE.fullmatch(name)) or name in _IPYTHON_NAMES


def _is_value(value: Any) -> bool:
    """Whether a global holds a value, as papermill injects, rather than a module, class or
    function (the config cell's imports)."""
    return not (inspect.ismodule(value) or inspect.isclass(value) or callable(value))


def check_choice(name: str, value: Any, allowed: Sequence[Any]) -> Any:
    """Validate a single value against a list of names (used by registries)."""
    return Choice(tuple(allowed))(name, value)


def resolve_device(device: str) -> str:
    """Map ``'auto'`` to ``'cuda'`` when a GPU is visible, else ``'cpu'``; validate others."""
    Choice(DEVICES)("device", device)
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ValueError("parameter 'device': got 'cuda' but no CUDA device is visible; "
                             "allowed here: 'auto', 'cpu'")
    return device


__all__ = [
    "PROFILES",
    "Check",
    "Choice",
    "Range",
    "ListOf",
    "Flag",
    "Optional",
    "Scheduler",
    "StudyConfig",
    "knob",
    "check_choice",
    "resolve_device",
    "SCHEDULER_ENV",
    "env_scheduler",
]


@dataclass(frozen=True)
class ProfileConfig:
    """The config of a chapter with no sweep of its own (the tutorial, the synthesis): its one
    knob is ``profile``, validated like a study's. A subclass sets ``study`` and ``NAME`` and may
    redeclare ``profile`` with its own description.

    ``Config.from_notebook(globals(), PARAMETERS)`` refuses any other name papermill injected
    (as :meth:`StudyConfig.from_notebook`).
    """

    study: ClassVar[str] = ""
    NAME: ClassVar[str] = "this chapter"
    profile: str = knob(Choice(PROFILES), "profile")

    knobs = classmethod(StudyConfig.knobs.__func__)
    from_notebook = classmethod(StudyConfig.from_notebook.__func__)

    @classmethod
    def from_profile(cls, profile: str = "book", **overrides: Any):
        """The validated config (no knob besides ``profile``).

        Raises:
            ValueError: an unknown profile, or any other parameter.
        """
        Choice(PROFILES)("profile", profile)
        if overrides:
            raise ValueError(f"unknown parameter(s) {sorted(overrides)} for {cls.NAME}; "
                             "allowed: ['profile']")
        return cls(profile=profile)
