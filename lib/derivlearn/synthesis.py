"""The synthesis chapter: every chapter's verdicts, and what derivatives cost against what they buy.

The synthesis computes nothing. It reads the summaries the chapters write
(``<store>/<study>/summary.json`` for the ``book`` profile, ``summary.<profile>.json`` for the
others; see :meth:`derivlearn.store.ResultStore.summary_path`) and turns them into

* a **verdict matrix**: each chapter's claim table (the summary's ``claims``, as
  :func:`derivlearn.claims.to_records` writes it), counted by verdict and listed claim by claim
  (:func:`claim_rows`, :func:`verdict_matrix_markdown`, :func:`claims_markdown`);
* a **cost-benefit table** in one currency, *value samples* (:func:`cost_benefit`): per model
  family and derivative data, the cost of one training sample with derivatives relative to a
  sample with values only, the training cost per epoch relative to value training, and the
  gain, either as the number of value samples one derivative sample replaces on the way to an
  accuracy target (``gain_kind == "samples"``: derivatives pay when the gain exceeds the cost)
  or as the error ratio at equal training size (``gain_kind == "error"``);
* the numbers of the chapter's short answer (:func:`answer`), which the notebook glues into its
  prose, so that the prose cannot drift from the summaries.

A summary, a claim table or a number that is missing (the smoke profile writes the summaries of
the chapters executed before the synthesis; a chapter may not record a number yet) is reported,
never an error: every reader returns what it found and says what it did not.

**What the synthesis reads from a chapter's summary** (see :func:`expected_keys`):

* ``claims``: the claim table (``claim``, ``paper``, ``ours``, ``verdict``, ``rule``).
* ``cost``: measured costs, built with :func:`cost_record`::

      {"data":  {"<problem>": {"<order>": ratio}},   # (value + derivatives) / value, per sample
       "epoch": {"<model>":   {"<variant>": ratio}}, # training s per epoch / value training
       "how":   "what was timed, where"}

  ``<order>`` is the derivative order of the data ("1", "2", ...); ``<variant>`` the order, or
  a loss's name where one model trains with several losses (DINO). No chapter records this block
  yet; where it is missing, the table shows the cost model's C(d, r) (marked as such) or nothing.
* the gains, from each chapter's own headline numbers: ``effort_to_target`` (FE scaling),
  ``mean_error`` (higher order), ``accuracy`` (DINO) and ``rmse`` (GradINN).
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from derivlearn import cost as cost_model
from derivlearn.claims import BADGE, VERDICTS
from derivlearn.params import PROFILES, Choice, StudyConfig, knob
from derivlearn.store import ResultStore, default_root

STUDY = "synthesis"
"""The synthesis's own folder in the store (its summary; never read as a chapter's)."""

NOT_RECORDED = "not recorded"
"""What a table cell or a glued number says when its summary lacks it."""

BREAK_EVEN_BAND = 1.1
"""A gain within this factor of its cost is called break-even rather than "pays" or "does not
pay": the medians the synthesis reads carry no interval, and a few per cent either way is
within the spread over seeds of every chapter."""


# ----------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class SynthesisConfig:
    """The synthesis notebook's one knob, ``profile``, validated like a study's.

    The notebook's ``parameters`` cell declares ``profile`` and ends with
    ``PARAMETERS = dir()``; ``SynthesisConfig.from_notebook(globals(), PARAMETERS)`` refuses any
    other name papermill injected (as :meth:`derivlearn.params.StudyConfig.from_notebook`).
    """

    study: ClassVar[str] = STUDY
    profile: str = knob(Choice(PROFILES), "whose summaries to read: smoke, book or full")

    knobs = classmethod(StudyConfig.knobs.__func__)
    from_notebook = classmethod(StudyConfig.from_notebook.__func__)

    @classmethod
    def from_profile(cls, profile: str = "book", **overrides: Any) -> SynthesisConfig:
        """The validated config (the synthesis has no knob besides ``profile``).

        Raises:
            ValueError: an unknown profile, or any other parameter.
        """
        Choice(PROFILES)("profile", profile)
        if overrides:
            raise ValueError(f"unknown parameter(s) {sorted(overrides)} for the synthesis; "
                             "allowed: ['profile']")
        return cls(profile=profile)


# ----------------------------------------------------------------------------- chapters
@dataclass(frozen=True)
class Chapter:
    """A chapter of the book: its page (``doc``, the notebook's name), the folder its summary
    lives in (``study``), and a short name for tables."""

    doc: str | None
    study: str
    short: str

    def link(self) -> str:
        """A MyST link to the chapter's page from the synthesis page (plain name if none)."""
        return f"{{doc}}`{self.short} <{self.doc}>`" if self.doc else self.short


CHAPTERS: tuple[Chapter, ...] = (
    Chapter("theory", "theory", "Cost model"),
    Chapter("fe_scaling", "fe_scaling", "FE scaling"),
    Chapter("higher_order_sobolev", "higher_order_sobolev", "Higher order"),
    Chapter("dino_pde_maps", "dino", "DINO"),
    Chapter("gradinn", "gradinn", "GradINN"),
)
"""The chapters in the book's order (``tests/test_synthesis.py`` checks them against the
notebooks and their study configs)."""


@dataclass
class Summaries:
    """The chapters' summaries of one profile, as found in one store.

    Attributes:
        profile: the profile whose summaries were read.
        root: the store's root folder.
        chapters: the chapters, in the book's order (others found in the store appended).
        found: study -> its summary.
        problems: study -> why it has no summary ("no summary yet", or why it is unreadable).
    """

    profile: str
    root: Path
    chapters: list[Chapter]
    found: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)

    def get(self, study: str) -> dict[str, Any] | None:
        """A study's summary, or ``None``."""
        return self.found.get(study)

    def chapter(self, study: str) -> Chapter:
        """The chapter of a study (a plain one for a study the book does not list)."""
        return next((c for c in self.chapters if c.study == study), Chapter(None, study, study))


def load_summaries(profile: str, root: str | Path | None = None,
                   chapters: Sequence[Chapter] = CHAPTERS) -> Summaries:
    """Read every chapter's summary of ``profile``.

    Args:
        profile: ``smoke``, ``book`` or ``full``.
        root: the store (default: :func:`derivlearn.store.default_root` of the profile, which
            honours ``$DERIVLEARN_RESULTS``).
        chapters: the chapters to look for; a summary of another study found in the store (a
            new chapter not yet listed here) is read too if it holds a claim table, the
            synthesis's own never.

    Returns:
        The summaries found and, for every chapter without one, the reason (never raises for
        a missing or unreadable file).
    """
    Choice(PROFILES)("profile", profile)
    root = Path(root) if root is not None else default_root(profile)
    listed = [c for c in chapters if c.study != STUDY]
    name = ResultStore(root, STUDY).summary_path(profile).name
    extra = sorted(p.parent.name for p in root.glob(f"*/{name}")
                   if p.parent.name not in {c.study for c in listed} | {STUDY})
    extra = [s for s in extra if isinstance(_read(root / s / name)[0].get("claims"), list)]
    out = Summaries(profile, root, listed + [Chapter(None, s, s) for s in extra])
    for ch in out.chapters:
        data, problem = _read(ResultStore(root, ch.study).summary_path(profile))
        if problem:
            out.problems[ch.study] = problem
        else:
            out.found[ch.study] = data
    return out


def _read(path: Path) -> tuple[dict[str, Any], str]:
    """A summary file's JSON object and ``""``, or ``{}`` and why there is none."""
    if not path.is_file():
        return {}, "no summary yet"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        return {}, f"summary unreadable ({type(err).__name__})"
    if not isinstance(data, dict):
        return {}, "summary unreadable (not a JSON object)"
    return data, ""


# ----------------------------------------------------------------------------- verdicts
@dataclass(frozen=True)
class ClaimRow:
    """One claim of one chapter, as its summary records it."""

    study: str
    claim: str
    paper: str
    ours: str
    verdict: str
    rule: str


CLAIMS_NOT_RECORDED = "claim table not yet recorded"


def claim_rows(s: Summaries) -> tuple[list[ClaimRow], dict[str, str]]:
    """Every recorded claim, and each chapter's status.

    Returns:
        ``(rows, status)``: the claims in the book's order; ``status`` maps every chapter's
        study to ``"recorded"``, :data:`CLAIMS_NOT_RECORDED`, ``"no summary yet"`` or what is
        wrong with its claim table (a row without a known verdict is left out and counted there).
    """
    rows: list[ClaimRow] = []
    status: dict[str, str] = {}
    for ch in s.chapters:
        summary = s.get(ch.study)
        if summary is None:
            status[ch.study] = s.problems.get(ch.study, "no summary yet")
            continue
        claims = summary.get("claims")
        if claims is None:
            status[ch.study] = CLAIMS_NOT_RECORDED
            continue
        if not isinstance(claims, list):
            status[ch.study] = "claim table unreadable (not a list)"
            continue
        bad = 0
        for c in claims:
            if not isinstance(c, Mapping) or c.get("verdict") not in VERDICTS:
                bad += 1
                continue
            rows.append(ClaimRow(ch.study, str(c.get("claim", "")), str(c.get("paper", "")),
                                 str(c.get("ours", "")), str(c["verdict"]),
                                 str(c.get("rule", c.get("deviation", "")))))
        status[ch.study] = "recorded" if not bad else (
            f"recorded; {bad} row{'s' if bad > 1 else ''} without a known verdict left out")
        if not claims:
            status[ch.study] = "claim table recorded, but empty"
    return rows, status


def verdict_counts(rows: Iterable[ClaimRow]) -> dict[str, dict[str, int]]:
    """Claims per verdict, per study (every verdict present, zero where none)."""
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        out.setdefault(r.study, dict.fromkeys(VERDICTS, 0))[r.verdict] += 1
    return out


def badges_available(root: Path | None = None) -> bool:
    """Whether the book renders sphinx-design badges: the extension is installed (jupyter-book
    1.x loads it by default) or listed in ``_config.yml`` (``sphinx.extra_extensions``)."""
    import importlib.util

    if importlib.util.find_spec("sphinx_design") is not None:   # jupyter-book 1.x loads it
        return True
    from derivlearn.store import repo_root

    root = root or repo_root()
    config = (root / "_config.yml") if root else None
    if config is None or not config.is_file():
        return False
    import yaml

    data = yaml.safe_load(config.read_text()) or {}
    extra = ((data.get("sphinx") or {}).get("extra_extensions") or [])
    return any(str(e).replace("-", "_") == "sphinx_design" for e in extra)


def verdict_label(verdict: str, badges: bool = True) -> str:
    """A verdict as a sphinx-design badge, or as plain text when ``badges`` is false."""
    if verdict not in BADGE:
        raise ValueError(f"parameter 'verdict': got {verdict!r}; allowed: {VERDICTS}")
    return f"{{{BADGE[verdict]}}}`{verdict}`" if badges else verdict


def _cell(text: str) -> str:
    return " ".join(str(text).replace("|", "\\|").split())


def verdict_matrix_markdown(s: Summaries, rows: Sequence[ClaimRow], status: Mapping[str, str],
                            badges: bool = True) -> str:
    """The verdict matrix: one row per chapter, one column per verdict, counts in the cells;
    a chapter without a claim table says so instead."""
    counts = verdict_counts(rows)
    head = "| chapter | " + " | ".join(verdict_label(v, badges) for v in VERDICTS) + " | claims |"
    out = [head, "|---|" + "---:|" * (len(VERDICTS) + 1)]
    total = dict.fromkeys(VERDICTS, 0)
    for ch in s.chapters:
        c = counts.get(ch.study)
        if c is None:
            out.append(f"| {ch.link()} | " + " | ".join("" for _ in VERDICTS)
                       + f" | {_cell(status.get(ch.study, CLAIMS_NOT_RECORDED))} |")
            continue
        for v in VERDICTS:
            total[v] += c[v]
        out.append(f"| {ch.link()} | " + " | ".join(str(c[v]) for v in VERDICTS)
                   + f" | {sum(c.values())} |")
    out.append("| **all recorded** | " + " | ".join(f"**{total[v]}**" for v in VERDICTS)
               + f" | **{sum(total.values())}** |")
    return "\n".join(out)


def claims_markdown(s: Summaries, rows: Sequence[ClaimRow], badges: bool = True) -> str:
    """Every recorded claim, one line each: chapter, claim, verdict (details stay in the
    chapter's own reproduction record)."""
    if not rows:
        return "No chapter has recorded its claim table yet."
    out = ["| chapter | claim | verdict |", "|---|---|---|"]
    for r in rows:
        out.append(f"| {s.chapter(r.study).link()} | {_cell(r.claim)} | "
                   f"{verdict_label(r.verdict, badges)} |")
    return "\n".join(out)


# ----------------------------------------------------------------------------- costs and gains
def cost_record(data: Mapping[str, Mapping[Any, float]] | None = None,
                epoch: Mapping[str, Mapping[Any, float]] | None = None,
                how: str = "") -> dict[str, Any]:
    """The ``cost`` block a chapter adds to its summary for the synthesis to read.

    Args:
        data: ``{problem: {order: ratio}}``, the measured cost of one sample with derivatives
            up to that order over a sample with values only (e.g. ``{"frame": {1: 1.3}}``).
        epoch: ``{model: {variant: ratio}}``, the measured training time per epoch over value
            training of the same model; ``variant`` is the derivative order, or the loss's
            name where a model trains with several losses (``{"generic": {"h1": 22.3}}``).
        how: one sentence on what was timed, and where.

    Returns:
        ``{"data": ..., "epoch": ..., "how": ...}`` with string keys.

    Raises:
        ValueError: a ratio that is not a positive finite number, naming it.
    """
    out: dict[str, Any] = {"data": {}, "epoch": {}, "how": str(how)}
    for kind, table in (("data", data or {}), ("epoch", epoch or {})):
        for outer, inner in table.items():
            for key, ratio in inner.items():
                x = _num(ratio)
                if x is None or x <= 0:
                    raise ValueError(f"parameter 'cost.{kind}.{outer}.{key}': got {ratio!r}; "
                                     "allowed: a positive finite number")
                out[kind].setdefault(str(outer), {})[str(key)] = x
    return out



@dataclass(frozen=True)
class CostBenefit:
    """One row of the cost-benefit table: a model family trained on one kind of derivative
    data, against the same family trained on values.

    Attributes:
        study: the chapter's study.
        problem: where the gain was measured (display text).
        model: the model family (display text).
        data: the derivative data (display text: "gradient", "Hessian", "Jacobian", ...).
        order: derivative order of the data (0 for a prior without derivative data).
        gain: value samples one derivative sample replaces (``gain_kind == "samples"``), or the
            value model's error over the derivative model's at equal N (``"error"``); ``inf``
            when only the derivative model reaches the target; ``None`` if not recorded.
        gain_kind: ``"samples"`` or ``"error"``.
        gain_at: where the gain was read ("R² = 0.99, d = 7"; "N = 1000, median of 18").
        gain_small: for error gains, the same ratio at the smallest training size (else None).
        gain_small_at: where ``gain_small`` was read.
        note: anything a reader must know about the gain (e.g. where only derivatives reach).
        data_cost: cost of one derivative sample in value samples, or ``None``.
        data_cost_kind: ``"measured"``, ``"cost model"``, ``"same data"`` or ``""`` (none).
        epoch_cost: measured training seconds per epoch relative to value training, or None.
        missing: the summary keys the row looked for and did not find.
        n: for error gains, the training size of ``gain`` (else None).
        n_small: for error gains, the smallest training size with a ratio (else None).
    """

    study: str
    problem: str
    model: str
    data: str
    order: int
    gain: float | None
    gain_kind: str
    gain_at: str
    gain_small: float | None = None
    gain_small_at: str = ""
    note: str = ""
    data_cost: float | None = None
    data_cost_kind: str = ""
    epoch_cost: float | None = None
    missing: tuple[str, ...] = ()
    n: int | None = None
    n_small: int | None = None

    def pays(self) -> str | None:
        """``"pays"``, ``"does not pay"`` or ``"breaks even"`` where the row decides it, else
        ``None``.

        A samples gain pays when it exceeds the data cost by more than :data:`BREAK_EVEN_BAND`,
        and does not pay when it falls short by more; an error gain decides only when the
        derivative model uses the same data (cost 1).
        """
        if self.gain is None or self.data_cost is None:
            return None
        if self.gain_kind == "samples" or self.data_cost_kind == "same data":
            return compare_to_cost(self.gain, self.data_cost)
        return None


def compare_to_cost(gain: float, cost: float) -> str:
    """``"pays"`` if ``gain > cost * BREAK_EVEN_BAND``, ``"does not pay"`` if
    ``gain < cost / BREAK_EVEN_BAND``, else ``"breaks even"``."""
    if gain > cost * BREAK_EVEN_BAND:
        return "pays"
    if gain < cost / BREAK_EVEN_BAND:
        return "does not pay"
    return "breaks even"


def _num(x: Any) -> float | None:
    """A finite float, or None (JSON null, NaN, a string...)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _get(tree: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(tree, Mapping) or key not in tree:
            return None
        tree = tree[key]
    return tree


def _median(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(statistics.median(vals)) if vals else None


def _int_keys(tree: Any) -> list[int]:
    """The keys of a mapping that are integers, sorted (e.g. training sizes "16", "64")."""
    if not isinstance(tree, Mapping):
        return []
    return sorted(int(k) for k in tree if str(k).lstrip("-").isdigit())


def _measured(summary: Mapping[str, Any], kind: str, outer: Sequence[str], inner: str,
              missing: list[str]) -> float | None:
    """A measured cost ``cost.<kind>.<outer>.<inner>``: the median over the ``outer`` keys
    present (several problems or networks of one row), else ``None`` with the keys noted as
    missing."""
    vals = [_num(_get(summary, "cost", kind, o, inner)) for o in outer]
    got = _median(vals)
    if got is None:
        where = outer[0] if len(outer) == 1 else "{" + ", ".join(outer) + "}"
        missing.append(f"cost.{kind}.{where}.{inner}")
    return got


def people(x: float | None, none: str = NOT_RECORDED) -> str:
    """A ratio for people: two significant digits below 10 (``1.3``, ``0.72``), whole numbers
    above (``36``), ``"∞"`` for infinity, ``none`` for a missing number."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return none
    if math.isinf(x):
        return "∞"
    if abs(x) >= 9.95:
        return f"{x:.0f}"
    if abs(x) >= 0.995:
        return f"{x:.1f}"
    return f"{x:.2g}"


def _dims_text(ds: Sequence[int]) -> str:
    """``[4, 5, 6]`` -> ``"d = 4–6"``; ``[3, 5]`` -> ``"d = 3, 5"``."""
    ds = sorted(ds)
    if len(ds) > 2 and ds == list(range(ds[0], ds[-1] + 1)):
        return f"d = {ds[0]}–{ds[-1]}"
    return "d = " + ", ".join(map(str, ds))


# -- FE scaling: effort to a target ----------------------------------------------------------
FE_FAMILIES: dict[str, tuple[str, tuple[str, str, str]]] = {
    "gp": ("Gaussian process", ("gp", "gegp", "hegp")),
    "nn": ("neural network", ("nn0", "nn1", "nn2")),
}
"""FE scaling's methods per family: value model, order 1, order 2."""
FE_DATA = {("gp", 1): "gradient", ("gp", 2): "gradient, Hessian diagonal",
           ("nn", 1): "gradient", ("nn", 2): "gradient, Hessian"}
PROBLEM_NAMES = {"frame": "FE frame", "rosenbrock": "Rosenbrock"}
MEASURED_DATA_PROBLEMS = ("frame",)
"""Problems whose derivative data come from a simulator, so that their cost can be measured
(an analytic test function's derivatives cost what the cost model charges)."""


def fe_sample_gain(summary: Mapping[str, Any], problem: str, base: str, method: str,
                   order: int) -> tuple[float | None, str, str, int | None]:
    """Value samples one order-``order`` sample replaces on the way to an accuracy target.

    The summary's ``effort_to_target.<problem>.<method>.<target>.<d>`` is the median effort
    ``N * C(d, r)`` at which a method first reaches the target; the sample ratio is
    ``N_0 / N_r = E_0 * C(d, r) / (E_r * C(d, 0))``. It is read at the highest target that
    both methods reach at some d, and there at the largest such d.

    Returns:
        ``(gain, at, note, d)``: ``gain`` is ``inf`` when only ``method`` reaches a target
        (then at its highest target), ``None`` when neither does; ``note`` names the dimensions
        at which only ``method`` reaches the target used.
    """
    eff = _get(summary, "effort_to_target", problem)
    if not isinstance(eff, Mapping) or base not in eff or method not in eff:
        return None, "", "", None
    targets = sorted((t for t in eff[method] if _num(_safe_float(t)) is not None),
                     key=float, reverse=True)
    only_r: tuple[str, list[int]] | None = None
    for t in targets:
        e0, er = eff[base].get(t) or {}, eff[method].get(t) or {}
        both, only = [], []
        for d in _int_keys(er):
            a, b = _num(e0.get(str(d))), _num(er.get(str(d)))
            if a is not None and b is not None and b > 0:
                both.append(d)
            elif b is not None and a is None:
                only.append(d)
        if only_r is None and only:
            only_r = (t, only)
        if both:
            d = max(both)
            gain = _num(e0[str(d)]) * cost_model.cost(d, order) / _num(er[str(d)])
            only = [x for x in only if x > d]
            note = (f"{_dims_text(only)}: only the order-{order} model reaches R² = {t}"
                    if only else "")
            return gain, f"R² = {t}, d = {d}", note, d
    if only_r is not None:
        t, only = only_r
        return math.inf, f"R² = {t}", f"{_dims_text(only)}: only the order-{order} model reaches it", None
    return None, "", "", None


def _safe_float(x: Any) -> float | None:
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def fe_rows(summary: Mapping[str, Any]) -> list[CostBenefit]:
    """FE scaling: per problem, family and order, the sample gain to the highest target
    (:func:`fe_sample_gain`); data cost measured (``cost.data.<problem>.<r>``) or the cost
    model's C(d, r); training cost ``cost.epoch.<gp|nn>.<r>``."""
    rows = []
    eff = summary.get("effort_to_target")
    if not isinstance(eff, Mapping):
        return rows
    for problem in eff:
        for fam, (model, (base, m1, m2)) in FE_FAMILIES.items():
            for order, method in ((1, m1), (2, m2)):
                if base not in eff[problem] or method not in eff[problem]:
                    continue
                gain, at, note, d = fe_sample_gain(summary, problem, base, method, order)
                missing: list[str] = []
                data_cost, kind = None, ""
                if problem in MEASURED_DATA_PROBLEMS:
                    data_cost = _measured(summary, "data", [problem], str(order), missing)
                    kind = "measured" if data_cost is not None else ""
                if data_cost is None and d is not None:
                    data_cost, kind = float(cost_model.cost(d, order)), "cost model"
                epoch = _measured(summary, "epoch", [fam], str(order), missing)
                rows.append(CostBenefit(
                    "fe_scaling", PROBLEM_NAMES.get(problem, problem), model, FE_DATA[fam, order],
                    order, gain, "samples", at, note=note, data_cost=data_cost,
                    data_cost_kind=kind, epoch_cost=epoch, missing=tuple(missing)))
    return rows


# -- error ratios at equal N ------------------------------------------------------------------
def _error_ratios(cells: Iterable[tuple[Any, Any]]) -> list[float]:
    """Base error / derivative error for each (base, derivative) pair of finite positive errors."""
    out = []
    for a, b in cells:
        a, b = _num(a), _num(b)
        if a is not None and b is not None and a > 0 and b > 0:
            out.append(a / b)
    return out


def higher_order_rows(summary: Mapping[str, Any]) -> list[CostBenefit]:
    """Higher-order Sobolev: per order r, the median over the test functions of the mean test
    error of value training over order-r training (``mean_error.<function>.<r>.<N>``), at the
    largest and the smallest N; data cost: the cost model's C(2, r) (analytic 2-D functions);
    training cost ``cost.epoch.nn.<r>``."""
    me = summary.get("mean_error")
    if not isinstance(me, Mapping):
        return []
    orders = sorted({int(r) for f in me.values() if isinstance(f, Mapping)
                     for r in f if str(r).isdigit() and int(r) > 0})
    rows = []
    for r in orders:
        per_n: dict[int, list[float]] = {}
        for f in me.values():
            if not isinstance(f, Mapping) or str(r) not in f or "0" not in f:
                continue
            for n in set(_int_keys(f["0"])) & set(_int_keys(f[str(r)])):
                per_n.setdefault(n, []).extend(_error_ratios([(f["0"][str(n)], f[str(r)][str(n)])]))
        per_n = {n: v for n, v in per_n.items() if v}
        if not per_n:
            continue
        hi, lo = max(per_n), min(per_n)
        missing: list[str] = []
        epoch = _measured(summary, "epoch", ["nn"], str(r), missing)
        rows.append(CostBenefit(
            "higher_order_sobolev", "2-D test functions", "neural network",
            "gradient" if r == 1 else f"derivatives up to order {r}",
            r, _median(per_n[hi]), "error", f"N = {hi}, median of {len(per_n[hi])} functions",
            gain_small=_median(per_n[lo]) if lo != hi else None,
            gain_small_at=f"N = {lo}" if lo != hi else "", n=hi, n_small=lo,
            data_cost=float(cost_model.cost(2, r)), data_cost_kind="cost model",
            epoch_cost=epoch, missing=tuple(missing)))
    return rows


DINO_LOSSES = {"h1": "Jacobian (H1 loss)", "reduced_h1": "Jacobian (reduced H1)",
               "reduced_h1_ms": "Jacobian (reduced H1, MS)", "sketched_h1": "Jacobian (sketched H1)",
               "nullspace_sketched_h1": "Jacobian (reduced H1 + null-space sketch)"}


def dino_rows(summary: Mapping[str, Any]) -> list[CostBenefit]:
    """DINO: per derivative loss, the median over problems and networks of the relative L2
    error of L2 training over that loss's (``accuracy.<problem>.<network>.<loss>.<N>
    .l2_accuracy``, relative error = 1 - accuracy), at the largest and smallest N; data cost
    ``cost.data.<problem>.1``, training cost ``cost.epoch.<network>.<loss>`` (medians)."""
    acc = summary.get("accuracy")
    if not isinstance(acc, Mapping):
        return []
    losses: list[str] = []
    for p in acc.values():
        for net in (p.values() if isinstance(p, Mapping) else []):
            for loss in (net if isinstance(net, Mapping) else []):
                if loss != "l2" and loss not in losses:
                    losses.append(loss)
    losses.sort(key=lambda x: (list(DINO_LOSSES).index(x) if x in DINO_LOSSES else 99, x))
    rows = []
    for loss in losses:
        per_n: dict[int, list[float]] = {}
        problems, networks = set(), set()
        for p, nets in acc.items():
            for net, cells in (nets.items() if isinstance(nets, Mapping) else []):
                if not isinstance(cells, Mapping) or "l2" not in cells or loss not in cells:
                    continue
                for n in set(_int_keys(cells["l2"])) & set(_int_keys(cells[loss])):
                    a = _num(_get(cells, "l2", str(n), "l2_accuracy"))
                    b = _num(_get(cells, loss, str(n), "l2_accuracy"))
                    if a is None or b is None:
                        continue
                    got = _error_ratios([(1 - a, 1 - b)])
                    if got:
                        per_n.setdefault(n, []).extend(got)
                        problems.add(p)
                        networks.add(net)
        if not per_n:
            continue
        hi, lo = max(per_n), min(per_n)
        missing: list[str] = []
        data_cost = _measured(summary, "data", sorted(problems), "1", missing)
        epoch = _measured(summary, "epoch", sorted(networks), loss, missing)
        rows.append(CostBenefit(
            "dino", "PDE maps", "neural operator", DINO_LOSSES.get(loss, loss.replace("_", " ")),
            1, _median(per_n[hi]), "error", f"N = {hi}, median of {len(per_n[hi])} cells",
            gain_small=_median(per_n[lo]) if lo != hi else None,
            gain_small_at=f"N = {lo}" if lo != hi else "", n=hi, n_small=lo,
            data_cost=data_cost, data_cost_kind="measured" if data_cost is not None else "",
            epoch_cost=epoch, missing=tuple(missing)))
    return rows


GRADINN_MODELS = (("gradinn", "GradINN", "none (a gradient prior)", 0),
                  ("sobolev", "Sobolev NN", "gradient", 1))
"""GradINN's models against the standard network: key prefix, name, data, order."""


def _noise_free_sizes(cells: Mapping[str, Any]) -> dict[int, Any]:
    """``{"N=25,noise=0": x, ...}`` -> ``{25: x}`` (noise-free cells only)."""
    out = {}
    for key, v in cells.items():
        parts = dict(p.split("=", 1) for p in str(key).split(",") if "=" in p)
        if _safe_float(parts.get("noise")) == 0.0 and str(parts.get("N", "")).isdigit():
            out[int(parts["N"])] = v
    return out


def gradinn_rows(summary: Mapping[str, Any]) -> list[CostBenefit]:
    """GradINN: the standard NN's noise-free test RMSE over GradINN's (and over the Sobolev
    network's, where the summary has it), median over problems (``rmse.<problem>.<model>
    ."N=..,noise=0"``), at the largest and smallest N. GradINN uses the same data as the NN
    (cost 1); the Sobolev network's gradient is charged the cost model's C(d, 1) = 2. Training
    cost ``cost.epoch.<gradinn|sobolev>.<0|1>``."""
    rmse = summary.get("rmse")
    if not isinstance(rmse, Mapping):
        return []
    rows = []
    for prefix, name, data, order in GRADINN_MODELS:
        per_n: dict[int, list[float]] = {}
        for cells in rmse.values():
            if not isinstance(cells, Mapping) or "nn" not in cells:
                continue
            keys = sorted(k for k in cells if k == prefix or k.startswith(prefix + "-"))
            if not keys:
                continue
            model = "gradinn-finetuned" if "gradinn-finetuned" in keys else keys[0]
            base, enh = _noise_free_sizes(cells["nn"]), _noise_free_sizes(cells[model])
            for n in set(base) & set(enh):
                per_n.setdefault(n, []).extend(_error_ratios([(base[n], enh[n])]))
        per_n = {n: v for n, v in per_n.items() if v}
        if not per_n:
            continue
        hi, lo = max(per_n), min(per_n)
        missing: list[str] = []
        epoch = _measured(summary, "epoch", [prefix], str(order), missing)
        rows.append(CostBenefit(
            "gradinn", "5 regression problems", name, data, order, _median(per_n[hi]), "error",
            f"N = {hi}, median of {len(per_n[hi])} problems",
            gain_small=_median(per_n[lo]) if lo != hi else None,
            gain_small_at=f"N = {lo}" if lo != hi else "", n=hi, n_small=lo,
            data_cost=1.0 if order == 0 else float(cost_model.cost(1, 1)),
            data_cost_kind="same data" if order == 0 else "cost model",
            epoch_cost=epoch, missing=tuple(missing)))
    return rows


ROW_READERS: dict[str, Callable[[Mapping[str, Any]], list[CostBenefit]]] = {
    "fe_scaling": fe_rows,
    "higher_order_sobolev": higher_order_rows,
    "dino": dino_rows,
    "gradinn": gradinn_rows,
}
"""How each chapter's gains are read from its summary (the theory chapter has no model)."""


def cost_benefit(s: Summaries) -> tuple[list[CostBenefit], dict[str, str]]:
    """The cost-benefit rows of every chapter with a summary, in the book's order.

    Returns:
        ``(rows, notes)``: ``notes`` maps a study to why it gave no row (no summary, no gain in
        its summary, or a summary whose layout the reader did not understand).
    """
    rows: list[CostBenefit] = []
    notes: dict[str, str] = {}
    for ch in s.chapters:
        reader = ROW_READERS.get(ch.study)
        if reader is None:
            continue
        summary = s.get(ch.study)
        if summary is None:
            notes[ch.study] = s.problems.get(ch.study, "no summary yet")
            continue
        try:
            got = reader(summary)
        except (KeyError, TypeError, ValueError, AttributeError, ZeroDivisionError) as err:
            notes[ch.study] = f"its summary could not be read ({type(err).__name__}: {err})"
            continue
        if not got:
            notes[ch.study] = "its summary records no gain yet"
        rows.extend(got)
    return rows, notes


MISSING_CELL = "–"
"""A table cell whose number the chapter's summary does not record yet."""
PAYS_WORDS = {"pays": "yes", "does not pay": "no", "breaks even": "even"}


def price(x: float | None, kind: str) -> str:
    """A cost for people: the cost model's prices are whole numbers ("2", "10")."""
    if x is not None and kind == "cost model" and float(x).is_integer():
        return str(int(x))
    return people(x)


def cost_benefit_markdown(s: Summaries, rows: Sequence[CostBenefit]) -> str:
    """The cost-benefit table as Markdown, one row per (chapter, problem, model, data): the
    cost of a sample and of an epoch relative to values, the gain, where it was read, and
    whether the data pay for themselves (:meth:`CostBenefit.pays`: yes, no, even; "open" where
    the row cannot decide). A number the summary does not record is :data:`MISSING_CELL`; the
    chapter is named on its first row only."""
    if not rows:
        return "No chapter's summary records a gain yet."
    out = ["| chapter | model: derivative data | cost per sample | cost per epoch | gain "
           "| gain read at | pays? |", "|---|---|---:|---:|---:|---|---|"]
    last = None
    for r in rows:
        cost = MISSING_CELL if r.data_cost is None else price(r.data_cost, r.data_cost_kind) + {
            "cost model": " (model)", "same data": " (same data)"}.get(r.data_cost_kind, "")
        gain = MISSING_CELL if r.gain is None else people(r.gain) + (
            " samples" if r.gain_kind == "samples" else "×")
        at = r.gain_at + (f"; {people(r.gain_small)}× at {r.gain_small_at}"
                          if r.gain_small is not None else "")
        if r.note:
            at += f"; {r.note}"
        pays = PAYS_WORDS.get(r.pays() or "", "open")
        if pays != "open" and r.data_cost_kind == "cost model":
            pays += " (model)"
        chapter = s.chapter(r.study).link() if r.study != last else ""
        last = r.study
        out.append(f"| {chapter} | {_cell(r.model)} ({_cell(r.problem)}): {_cell(r.data)} "
                   f"| {cost} | {people(r.epoch_cost, MISSING_CELL)} | {gain} "
                   f"| {_cell(at) or MISSING_CELL} | {pays} |")
    return "\n".join(out)


def expected_keys(s: Summaries, rows: Sequence[CostBenefit], status: Mapping[str, str],
                  notes: Mapping[str, str]) -> dict[str, list[str]]:
    """Per chapter, the summary keys the synthesis looked for and did not find."""
    out: dict[str, list[str]] = {}
    for ch in s.chapters:
        keys: list[str] = []
        if status.get(ch.study) in (CLAIMS_NOT_RECORDED, "no summary yet") or \
                str(status.get(ch.study, "")).startswith("summary unreadable"):
            keys.append("claims")
        if ch.study in notes:
            keys.append(f"(gains: {notes[ch.study]})")
        for r in rows:
            if r.study == ch.study:
                keys.extend(k for k in r.missing if k not in keys)
        if keys:
            out[ch.study] = keys
    return out


def missing_markdown(s: Summaries, missing: Mapping[str, Sequence[str]]) -> str:
    """What each chapter's summary does not record yet, as a Markdown list."""
    if not missing:
        return "Every chapter's summary records everything this chapter reads."
    lines = []
    for ch in s.chapters:
        if ch.study in missing:
            keys = [f"`{k}`" if not k.startswith("(") else k for k in missing[ch.study]]
            lines.append(f"* {ch.link()}: " + ", ".join(keys))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the figure
ORDER_MARKERS = {0: "X", 1: "o", 2: "s", 3: "^", 4: "D", 5: "v"}
TICKS = (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def placed(rows: Sequence[CostBenefit]) -> list[CostBenefit]:
    """The rows the figure can place: a finite positive gain and a cost."""
    return [r for r in rows if r.data_cost is not None and r.gain is not None
            and math.isfinite(r.gain) and r.gain > 0]


def _series(s: Summaries, rows: Sequence[CostBenefit]) -> list[tuple[str, str]]:
    """The (study, model) pairs of the placed rows, in the book's order: one colour each."""
    order = {c.study: i for i, c in enumerate(s.chapters)}
    pairs = {(r.study, r.model) for r in placed(rows)}
    return sorted(pairs, key=lambda p: (order.get(p[0], 99), p[1]))


def plot_gain_cost(s: Summaries, rows: Sequence[CostBenefit]):
    """Gain against cost, one point per row with a gain and a cost (:func:`placed`), in two
    panels: (a) value samples one derivative sample replaces, with the break-even line
    gain = cost; (b) the error ratio at equal N, with "no gain" (1) and the line gain = cost
    dashed (break-even only where the error falls as 1/N). Colour: chapter and model; marker:
    derivative order; filled: a measured cost (or the same data), open: the cost model's.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator, ScalarFormatter

    from derivlearn.plotting import PALETTE

    series = _series(s, rows)
    color = {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(series)}
    fig, axes = plt.subplots(1, 2, figsize=(7.6, 4.3), constrained_layout=True)
    panels = (("samples", "(a) effort to an accuracy target",
               "value samples one sample replaces"),
              ("error", "(b) error at equal training size",
               "error of value training / with derivatives"))
    for ax, (kind, title, ylabel) in zip(axes, panels, strict=True):
        pts = [r for r in placed(rows) if r.gain_kind == kind]
        vals = [v for r in pts for v in (r.gain, r.data_cost)] or [1.0]
        lo, hi = min(min(vals), 1.0) / 1.5, max(max(vals), 2.0) * 1.5
        ax.plot([lo, hi], [lo, hi], color="black", lw=1.2, ls="--" if kind == "error" else "-",
                zorder=1)
        if kind == "error":
            ax.axhline(1.0, color="grey", lw=1.0, zorder=1)
        for r in pts:
            c = color[r.study, r.model]
            filled = r.data_cost_kind in ("measured", "same data")
            ax.scatter([r.data_cost], [r.gain], s=60, marker=ORDER_MARKERS.get(r.order, "P"),
                       facecolor=c if filled else "white", edgecolor=c, linewidth=1.6, zorder=3)
        ax.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi), title=title,
               xlabel="cost of one sample (value samples)", ylabel=ylabel)
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(FixedLocator([t for t in TICKS if lo <= t <= hi]))
            axis.set_major_formatter(ScalarFormatter())
            axis.set_minor_locator(NullLocator())
            axis.set_minor_formatter(NullFormatter())
        if not pts:
            ax.text(0.5, 0.5, "no point recorded yet", transform=ax.transAxes, ha="center",
                    va="center", fontsize=10, color="grey")
    handles = [Line2D([], [], ls="", marker="o", ms=8, color=color[p],
                      label=s.chapter(p[0]).short + ("" if p[1] == s.chapter(p[0]).short
                                                     else f": {p[1]}")) for p in series]
    handles += [Line2D([], [], ls="", marker=ORDER_MARKERS[o], ms=8, color="black", mfc="white",
                       label=("gradient prior, no derivative data" if o == 0 else f"order {o}"))
                for o in sorted({r.order for r in placed(rows)} & set(ORDER_MARKERS))]
    handles += [Line2D([], [], ls="", marker="o", ms=8, color="black", label="cost measured"),
                Line2D([], [], ls="", marker="o", ms=8, color="black", mfc="white",
                       label="cost model"),
                Line2D([], [], color="black", label="gain = cost"),
                Line2D([], [], color="grey", label="no gain")]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=9)
    return fig


def unplaced_markdown(s: Summaries, rows: Sequence[CostBenefit]) -> str:
    """The rows the figure cannot place, grouped by reason, as Markdown (empty if none)."""
    shown = placed(rows)
    why: dict[str, list[str]] = {}
    for r in rows:
        if r in shown:
            continue
        reason = ("only the derivative model reaches the target" if r.gain is not None
                  and math.isinf(r.gain) else "no gain recorded" if r.gain is None
                  else "no cost recorded")
        why.setdefault(reason, []).append(f"{s.chapter(r.study).short}, {r.model} "
                                          f"({r.problem}): {r.data}")
    return "\n".join(f"* Not in the figure, {reason}: " + "; ".join(items) + "."
                     for reason, items in why.items())


# ----------------------------------------------------------------------------- the answer
def _row(rows: Sequence[CostBenefit], study: str, model: str, order: int,
         problem: str | None = None) -> CostBenefit | None:
    for r in rows:
        if (r.study == study and r.model == model and r.order == order
                and (problem is None or r.problem == problem)):
            return r
    return None


def _pays_text(r: CostBenefit | None) -> str:
    if r is None or r.pays() is None:
        return "cannot be judged yet"
    return r.pays() + (" under the cost model" if r.data_cost_kind == "cost model" else "")


def _cost_text(r: CostBenefit | None) -> str:
    if r is None or r.data_cost is None:
        return NOT_RECORDED
    return price(r.data_cost, r.data_cost_kind) + {
        "cost model": " (cost model)", "measured": " (measured)",
        "same data": " (the same data)"}.get(r.data_cost_kind, "")


def _range(values: Iterable[float | None]) -> str:
    """``"1.2–1.9"`` (people-formatted), one number if they agree, else not recorded."""
    vals = [v for v in values if v is not None]
    if not vals:
        return NOT_RECORDED
    a, b = people(min(vals)), people(max(vals))
    return a if a == b else f"{a}–{b}"


def _sizes_text(ns: Iterable[int | None]) -> str:
    """``"N = 16"`` when every row was read at one size, ``"N = 16–1024"`` (each row at its own)
    otherwise; not recorded without sizes."""
    got = sorted({n for n in ns if n is not None})
    if not got:
        return NOT_RECORDED
    return f"N = {got[0]}" if len(got) == 1 else f"N = {got[0]}–{got[-1]} (by loss)"


def answer(s: Summaries, rows: Sequence[CostBenefit], claims: Sequence[ClaimRow],
           status: Mapping[str, str]) -> dict[str, str]:
    """The numbers of the chapter's short answer, and the words that depend on them, by glue
    key; a number the summaries do not hold reads :data:`NOT_RECORDED`.

    Keys:
        verdicts: ``n_claims``, ``n_confirmed``, ``n_partly``, ``n_not_confirmed``,
            ``n_not_tested``, ``n_chapters_claims`` (chapters with a claim table),
            ``n_chapters``;
        FE frame, ``<k>`` = ``fe_gp1``, ``fe_gp2``, ``fe_nn1``, ``fe_nn2`` (family, order):
            ``<k>_gain``, ``<k>_at``, ``<k>_cost``, ``<k>_pays``, ``<k>_only``;
        higher order: ``ho_gain_<r>`` and ``ho_cost_<r>`` (r = 1..5), ``ho_at``,
            ``ho_verdict`` (from which order on the cost model's price outgrows the gain);
        DINO: ``dino_gain`` (range over the losses at the largest N), ``dino_at``,
            ``dino_small`` and ``dino_small_at`` (at the smallest N), ``dino_cost``,
            ``dino_epoch``;
        GradINN: ``gradinn_gain``, ``gradinn_at``, ``gradinn_small``, ``gradinn_small_at``,
            ``gradinn_verdict``;
        figure: ``n_rows``, ``n_placed``, ``n_samples_rows``, ``n_samples_pay``.
    """
    counts = {v: sum(1 for c in claims if c.verdict == v) for v in VERDICTS}
    out = {
        "n_claims": str(len(claims)),
        "n_confirmed": str(counts["confirmed"]),
        "n_partly": str(counts["partly confirmed"]),
        "n_not_confirmed": str(counts["not confirmed"]),
        "n_not_tested": str(counts["not tested"]),
        "n_chapters_claims": str(sum(1 for st in status.values() if st.startswith("recorded"))),
        "n_chapters": str(len(s.chapters)),
    }
    for fam, (model, _) in FE_FAMILIES.items():
        for order in (1, 2):
            r = _row(rows, "fe_scaling", model, order, problem=PROBLEM_NAMES["frame"])
            k = f"fe_{fam}{order}"
            out[f"{k}_gain"] = people(r.gain if r else None)
            out[f"{k}_at"] = r.gain_at if r and r.gain_at else NOT_RECORDED
            out[f"{k}_cost"] = _cost_text(r)
            out[f"{k}_pays"] = _pays_text(r)
            out[f"{k}_only"] = (r.note if r and r.note
                                else "no dimension where only one of the two reaches it")
    ho = {r.order: r for r in rows if r.study == "higher_order_sobolev"}
    for order in range(1, 6):
        out[f"ho_gain_{order}"] = people(ho[order].gain if order in ho else None)
        out[f"ho_cost_{order}"] = str(cost_model.cost(2, order))
    out["ho_at"] = ho[min(ho)].gain_at if ho else NOT_RECORDED
    short = [r.order for r in sorted(ho.values(), key=lambda r: r.order)
             if r.gain is not None and compare_to_cost(r.gain, r.data_cost) == "does not pay"]
    out["ho_verdict"] = (NOT_RECORDED if not any(r.gain is not None for r in ho.values())
                         else f"from order {short[0]} on, the price outgrows the gain" if short
                         else "at no order does the price outgrow the gain")
    dino = [r for r in rows if r.study == "dino" and r.gain is not None]
    out["dino_gain"] = _range(r.gain for r in dino)
    out["dino_at"] = _sizes_text(r.n for r in dino)
    # at the smallest N of each loss (its largest, where a loss ran one N only)
    out["dino_small"] = _range(r.gain if r.gain_small is None else r.gain_small for r in dino)
    out["dino_small_at"] = _sizes_text(r.n_small for r in dino)
    out["dino_cost"] = people(_median(r.data_cost for r in dino if r.data_cost_kind == "measured"))
    out["dino_epoch"] = people(_median(r.epoch_cost for r in dino))
    g = _row(rows, "gradinn", "GradINN", 0)
    out["gradinn_gain"] = people(g.gain if g else None)
    out["gradinn_at"] = _sizes_text([g.n] if g else [])
    out["gradinn_small"] = people((g.gain if g.gain_small is None else g.gain_small) if g else None)
    out["gradinn_small_at"] = _sizes_text([g.n_small] if g else [])
    verdicts = {compare_to_cost(x, 1.0) for x in (g.gain, g.gain_small) if x is not None} if g else set()
    out["gradinn_verdict"] = (NOT_RECORDED if not verdicts
                              else "a gain" if verdicts == {"pays"}
                              else "a loss" if verdicts == {"does not pay"}
                              else "no clear gain")
    samples = [r for r in rows if r.gain_kind == "samples" and r.pays() is not None]
    out["n_rows"] = str(len(rows))
    out["n_placed"] = str(len(placed(rows)))
    out["n_samples_rows"] = str(len(samples))
    out["n_samples_pay"] = str(sum(1 for r in samples if r.pays() == "pays"))
    return out


def chapter_summary(s: Summaries, rows: Sequence[CostBenefit], claims: Sequence[ClaimRow],
                    status: Mapping[str, str], values: Mapping[str, str]) -> dict[str, Any]:
    """The synthesis's own ``summary.json``: what it read and every glued value (no new
    numbers: each is a reading of the chapters' summaries)."""
    return {
        "chapters": {c.study: {"summary": c.study in s.found,
                               "claims": status.get(c.study, "no summary yet")}
                     for c in s.chapters},
        "verdicts": verdict_counts(claims),
        "cost_benefit": [_jsonable_row(r) for r in rows],
        "answer": dict(values),
    }


def _jsonable_row(r: CostBenefit) -> dict[str, Any]:
    """A row for JSON: an infinite gain (only the derivative model reaches the target) becomes
    ``None`` with ``gain_is_infinite`` set."""
    row = dataclasses.asdict(r)
    row["gain_is_infinite"] = r.gain is not None and math.isinf(r.gain)
    if row["gain_is_infinite"]:
        row["gain"] = None
    return row


def write_summary(profile: str, summary: Mapping[str, Any], root: str | Path | None = None) -> Path:
    """Write the synthesis's summary into the store of ``profile`` (see
    :meth:`derivlearn.store.ResultStore.write_summary`: unchanged numbers leave the file alone)."""
    root = Path(root) if root is not None else default_root(profile)
    return ResultStore(root, STUDY).write_summary(summary, profile)


# ----------------------------------------------------------------------------- the chapter
@dataclass
class Synthesis:
    """Everything the chapter shows, read from one profile's summaries (:func:`build`)."""

    summaries: Summaries
    claims: list[ClaimRow]
    status: dict[str, str]
    rows: list[CostBenefit]
    notes: dict[str, str]
    values: dict[str, str]

    def missing(self) -> dict[str, list[str]]:
        """Per chapter, the summary keys the synthesis looked for and did not find."""
        return expected_keys(self.summaries, self.rows, self.status, self.notes)

    def summary(self) -> dict[str, Any]:
        """The synthesis's own summary (:func:`chapter_summary`)."""
        return chapter_summary(self.summaries, self.rows, self.claims, self.status, self.values)


def build(profile: str, root: str | Path | None = None) -> Synthesis:
    """Read the summaries of ``profile`` and derive everything the chapter shows."""
    s = load_summaries(profile, root)
    claims, status = claim_rows(s)
    rows, notes = cost_benefit(s)
    return Synthesis(s, claims, status, rows, notes, answer(s, rows, claims, status))


def sources_markdown(syn: Synthesis) -> str:
    """One sentence: whose summaries were read, and which chapters have none."""
    s = syn.summaries
    found = [c.link() for c in s.chapters if c.study in s.found]
    none = [f"{c.link()} ({s.problems[c.study]})" for c in s.chapters if c.study in s.problems]
    text = (f"Summaries read (profile `{s.profile}`): "
            + (", ".join(found) if found else "none") + ".")
    if none:
        text += " Without a summary: " + ", ".join(none) + "."
    return text

