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
* the gains, from each chapter's own headline numbers: ``effort_to_target`` (FE scaling: its
  Gaussian processes; its networks from ``arms.<arm>.effort_to_target``, the no-decay arm being
  the reading and the paper arm, whose value network stalls, shown for comparison only),
  ``mean_error`` (higher order), ``accuracy`` (DINO, every loss read at one training size) and
  ``rmse`` (GradINN);
* ``progress`` or ``missing_runs``: how many runs of a chapter's plan are recorded, for the
  sentences that say which runs are still pending.

The DINO finding is quoted from that chapter's claim table (:func:`dino_text`), not re-judged.
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
import re
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from derivlearn import cost as cost_model
from derivlearn.claims import BADGE, VERDICTS
from derivlearn.params import PROFILES, Choice, ProfileConfig, knob
from derivlearn.store import ResultStore, default_root
from derivlearn.typeset import typeset

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
class SynthesisConfig(ProfileConfig):
    """The synthesis notebook's one knob, ``profile``, validated like a study's.

    The notebook's ``parameters`` cell declares ``profile`` and ends with
    ``PARAMETERS = dir()``; ``SynthesisConfig.from_notebook(globals(), PARAMETERS)`` refuses any
    other name papermill injected (as :meth:`derivlearn.params.StudyConfig.from_notebook`).
    """

    study: ClassVar[str] = STUDY
    NAME: ClassVar[str] = "the synthesis"
    profile: str = knob(Choice(PROFILES), "whose summaries to read: smoke, book or full")


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
    """The verdict matrix, verdict first and three columns wide (it fits a phone screen): one
    row per verdict with the number of claims and the chapters they come from, a total row, and
    a sentence naming the chapters without a claim table."""
    counts = verdict_counts(rows)
    out = ["| verdict | claims | by chapter |", "|---|---:|---|"]
    for v in VERDICTS:
        by = [f"{s.chapter(st).link()} {c[v]}" for st, c in counts.items() if c[v]]
        out.append(f"| {verdict_label(v, badges)} | {sum(c[v] for c in counts.values())} "
                   f"| {', '.join(by) or 'none'} |")
    total = sum(sum(c.values()) for c in counts.values())
    out.append(f"| **all claims** | **{total}** | {len(counts)} of {len(s.chapters)} chapters |")
    without = [f"{ch.link()} ({_cell(status.get(ch.study, CLAIMS_NOT_RECORDED))})"
               for ch in s.chapters if ch.study not in counts]
    if without:
        out += ["", "Without a recorded claim: " + ", ".join(without) + "."]
    return "\n".join(out)


def claims_markdown(s: Summaries, rows: Sequence[ClaimRow], badges: bool = True) -> str:
    """Every recorded claim, one line each, chapter by chapter: the verdict first, then the claim
    (two columns, for a phone screen; the paper's number, ours and the rule stay in the
    chapter's own reproduction record)."""
    if not rows:
        return "No chapter has recorded its claim table yet."
    out: list[str] = []
    for ch in s.chapters:
        mine = [r for r in rows if r.study == ch.study]
        if not mine:
            continue
        out += ["" if out else None, f"**{ch.link()}**", "", "| verdict | claim |", "|---|---|"]
        out += [f"| {verdict_label(r.verdict, badges)} | {_cell(r.claim)} |" for r in mine]
    return "\n".join(x for x in out if x is not None)


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
        arm: for the FE chapter's networks, the arm of the network sweep the row reads
            (``"no_decay"`` or ``"paper"``; ``""`` elsewhere).
        comparison_only: why the row is shown in the table for comparison but left out of the
            figure and the counts (``""``: a row like any other).
        provisional: why the row's numbers may still change (the chapter's runs or cells it
            rests on are not all recorded), ``""`` where they are final.
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
    arm: str = ""
    comparison_only: str = ""
    provisional: str = ""

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


ARMS = {"no_decay": "no-decay arm", "paper": "paper arm"}
"""The FE chapter's two arms of the network sweep, in the order the synthesis reads them: the
no-decay arm (Adam without weight decay) is where that chapter makes the paper's comparison; in
the paper arm (Adam with the coupled L2 decay the paper's wording implies) the value network
stalls, so its gains measure the stall as much as the derivatives."""
PAPER_ARM_NOTE = "paper arm: the value network stalls under the coupled weight decay"


def fe_arm_efforts(summary: Mapping[str, Any], arm: str) -> dict[str, Any] | None:
    """An arm's efforts to a target in the layout of the summary's top-level
    ``effort_to_target`` (``[problem][method][target][d]`` = the median, ``None`` where not
    reached), from ``arms.<arm>.effort_to_target`` (whose cells hold ``median``, ``lo``, ``hi``,
    ``reached`` and ``seeds``); ``None`` if the summary has no such arm."""
    eff = _get(summary, "arms", arm, "effort_to_target")
    if not isinstance(eff, Mapping):
        return None
    out: dict[str, Any] = {}
    for problem, methods in eff.items():
        for method, targets in (methods.items() if isinstance(methods, Mapping) else []):
            for t, ds in (targets.items() if isinstance(targets, Mapping) else []):
                for d, cell in (ds.items() if isinstance(ds, Mapping) else []):
                    med = cell.get("median") if isinstance(cell, Mapping) else cell
                    out.setdefault(problem, {}).setdefault(method, {}).setdefault(t, {})[d] = med
    return out


def _arm_runs(summary: Mapping[str, Any], arm: str, problem: str, methods: Sequence[str],
              target: str, d: int | None) -> int | None:
    """The fewest training runs (``seeds``) behind one (target, d) cell of an arm's methods."""
    if d is None:
        return None
    got = [_get(summary, "arms", arm, "effort_to_target", problem, m, target, str(d), "seeds")
           for m in methods]
    got = [int(x) for x in got if isinstance(x, int) and not isinstance(x, bool)]
    return min(got) if got else None


def fe_rows(summary: Mapping[str, Any]) -> list[CostBenefit]:
    """FE scaling: per problem, family and order, the sample gain to the highest target
    (:func:`fe_sample_gain`); data cost measured (``cost.data.<problem>.<r>``) or the cost
    model's C(d, r); training cost ``cost.epoch.<gp|nn>.<r>``.

    The Gaussian processes are read from the summary's ``effort_to_target`` (one set of fits).
    The networks are read per arm (``arms.<arm>.effort_to_target``): the no-decay arm first,
    the primary reading; the paper arm's rows follow, marked ``comparison_only`` (its value
    network stalls). A summary without ``arms`` gives one network row from ``effort_to_target``.
    """
    rows = []
    eff = summary.get("effort_to_target")
    if not isinstance(eff, Mapping):
        return rows
    sources: list[tuple[str, str, Mapping[str, Any]]] = [("gp", "", eff)]
    arms = [(arm, e) for arm in ARMS if (e := fe_arm_efforts(summary, arm)) is not None]
    sources += [("nn", arm, e) for arm, e in arms] if arms else [("nn", "", eff)]
    for problem in eff:
        for fam, arm, tree in sources:
            model, (base, m1, m2) = FE_FAMILIES[fam]
            name = f"{model}, {ARMS[arm]}" if arm else model
            for order, method in ((1, m1), (2, m2)):
                if base not in tree.get(problem, {}) or method not in tree.get(problem, {}):
                    continue
                gain, at, note, d = fe_sample_gain({"effort_to_target": tree}, problem, base,
                                                   method, order)
                runs = _arm_runs(summary, arm, problem, (base, method),
                                 at.split(",")[0].removeprefix("R² = "), d) if arm else None
                if runs is not None:
                    at += f", median of {runs} run{'s' if runs != 1 else ''}"
                missing: list[str] = []
                data_cost, kind = None, ""
                if problem in MEASURED_DATA_PROBLEMS:
                    data_cost = _measured(summary, "data", [problem], str(order), missing)
                    kind = "measured" if data_cost is not None else ""
                if data_cost is None and d is not None:
                    data_cost, kind = float(cost_model.cost(d, order)), "cost model"
                epoch = _measured(summary, "epoch", [fam], str(order), missing)
                rows.append(CostBenefit(
                    "fe_scaling", PROBLEM_NAMES.get(problem, problem), name, FE_DATA[fam, order],
                    order, gain, "samples", at, note=note, data_cost=data_cost,
                    data_cost_kind=kind, epoch_cost=epoch, missing=tuple(missing), arm=arm,
                    comparison_only=PAPER_ARM_NOTE if arm == "paper" else ""))
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


DINO_SHORT = {"h1": "H1", "reduced_h1": "reduced H1", "reduced_h1_ms": "reduced H1 MS",
              "sketched_h1": "sketched H1", "nullspace_sketched_h1": "null-space sketched H1"}
"""The DINO losses as that chapter's claim table names them."""


class DinoPair(NamedTuple):
    """One (problem, network) cell at one N: L2 training's relative L2 error over a derivative
    loss's, and the training runs behind each side (0 where the summary does not say)."""

    ratio: float
    cell: tuple[str, str]
    l2_runs: int
    loss_runs: int


def dino_ratios(summary: Mapping[str, Any]) -> dict[str, dict[int, list[DinoPair]]]:
    """Per derivative loss and training size, the relative L2 error of L2 training over the
    loss's in every (problem, network) cell with both (``accuracy.<problem>.<network>.<loss>
    .<N>.l2_accuracy``, relative error = 1 - accuracy, runs from ``seeds``), losses in the
    order of :data:`DINO_LOSSES`."""
    acc = summary.get("accuracy")
    if not isinstance(acc, Mapping):
        return {}
    out: dict[str, dict[int, list[DinoPair]]] = {}
    for p, nets in acc.items():
        for net, cells in (nets.items() if isinstance(nets, Mapping) else []):
            if not isinstance(cells, Mapping) or "l2" not in cells:
                continue
            for loss in cells:
                if loss == "l2":
                    continue
                for n in set(_int_keys(cells["l2"])) & set(_int_keys(cells[loss])):
                    a = _num(_get(cells, "l2", str(n), "l2_accuracy"))
                    b = _num(_get(cells, loss, str(n), "l2_accuracy"))
                    if a is None or b is None:
                        continue
                    runs = [int(_num(_get(cells, k, str(n), "seeds")) or 0) for k in ("l2", loss)]
                    for ratio in _error_ratios([(1 - a, 1 - b)]):
                        out.setdefault(loss, {}).setdefault(n, []).append(
                            DinoPair(ratio, (str(p), str(net)), *runs))
    return dict(sorted(out.items(), key=lambda kv: (
        list(DINO_LOSSES).index(kv[0]) if kv[0] in DINO_LOSSES else 99, kv[0])))


def dino_rows(summary: Mapping[str, Any]) -> list[CostBenefit]:
    """DINO: per derivative loss, the median over (problem, network) cells of the relative L2
    error of L2 training over that loss's (:func:`dino_ratios`), at the largest and the smallest
    training size that every loss shares (never a different size per loss; a loss's own sizes
    only where the losses share none); data cost ``cost.data.<problem>.1``, training cost
    ``cost.epoch.<network>.<loss>`` (medians)."""
    ratios = dino_ratios(summary)
    acc = summary.get("accuracy")
    if not ratios or not isinstance(acc, Mapping):
        return []
    common = set.intersection(*(set(per_n) for per_n in ratios.values()))
    claims = summary.get("claims") if isinstance(summary.get("claims"), list) else []
    untested = sum(1 for c in claims if isinstance(c, Mapping) and c.get("verdict") == "not tested")
    provisional = ("" if not untested else "none of the chapter's claims is tested yet"
                   if untested == len(claims) else
                   f"{untested} of the chapter's {len(claims)} claims are not tested yet")
    rows = []
    for loss, per_n in ratios.items():
        sizes = common or set(per_n)
        hi, lo = max(sizes), min(sizes)
        where = [(p, net) for p, nets in acc.items() if isinstance(nets, Mapping)
                 for net, cells in nets.items() if isinstance(cells, Mapping) and loss in cells]
        problems, networks = sorted({p for p, _ in where}), sorted({n for _, n in where})
        missing: list[str] = []
        data_cost = _measured(summary, "data", problems, "1", missing)
        epoch = _measured(summary, "epoch", networks, loss, missing)
        cells = len(per_n[hi])
        rows.append(CostBenefit(
            "dino", "PDE maps", "neural operator", DINO_LOSSES.get(loss, loss.replace("_", " ")),
            1, _median(x.ratio for x in per_n[hi]), "error",
            f"N = {hi}, median of {cells} cell{'s' if cells != 1 else ''}",
            gain_small=_median(x.ratio for x in per_n[lo]) if lo != hi else None,
            gain_small_at=f"N = {lo}" if lo != hi else "", n=hi, n_small=lo,
            data_cost=data_cost, data_cost_kind="measured" if data_cost is not None else "",
            epoch_cost=epoch, missing=tuple(missing), provisional=provisional))
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


GRADINN_PROBLEMS = {"friedman1": "Friedman #1, 10 inputs", "friedman1_5d": "Friedman #1, 5 inputs",
                    "stokes": "Stokes", "lotka_volterra": "Lotka–Volterra", "burgers": "Burgers"}
"""The GradINN chapter's problems in words (as its tables name them)."""

GRADINN_READINGS = {"friedman": "the Friedman #1 comparison", "low_data": "the low-data comparison",
                    "size": "the comparison at every size"}
"""The GradINN chapter's claim readings the synthesis quotes, in words."""


def _gradinn_problem(key: str) -> str:
    return GRADINN_PROBLEMS.get(key, key.replace("_", " "))


def gradinn_problems_text(keys: Iterable[str]) -> str:
    """``["friedman1", "friedman1_5d", "stokes"]`` -> ``"Friedman #1 (10 and 5 inputs) and
    Stokes"``: the problems a GradINN number rests on, in words, in the chapter's order
    (:data:`GRADINN_PROBLEMS`), so that every row and sentence lists them alike."""
    order = list(GRADINN_PROBLEMS)
    keys = sorted(dict.fromkeys(keys), key=lambda k: (order.index(k) if k in order else len(order), k))
    names, friedman = [], [k for k in keys if k in ("friedman1", "friedman1_5d")]
    for k in keys:
        if k in friedman:
            if k == friedman[0]:
                names.append("Friedman #1 (" + " and ".join(
                    "10" if f == "friedman1" else "5" for f in friedman) + " inputs)")
        else:
            names.append(_gradinn_problem(k))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class GradinnPair(NamedTuple):
    """One paired comparison of the GradINN chapter: the standard NN's test RMSE over GradINN's
    on the same repetitions (the geometric mean of the paired ratios), its 95 % interval, and
    the outcome by the chapter's tie rule (``"win"``: GradINN better beyond the spread)."""

    problem: str
    n: int
    ratio: float
    lo: float | None
    hi: float | None
    outcome: str
    reading: str
    holm: str | None = None
    """The outcome under Holm's correction over the low-data cells (the chapter's later,
    stricter reading), where the summary gives it."""


def _outcome(lo: float | None, hi: float | None) -> str:
    if lo is None or hi is None:
        return "tie"
    return "win" if lo > 1 else "loss" if hi < 1 else "tie"


def gradinn_pairs(summary: Mapping[str, Any]) -> list[GradinnPair]:
    """The GradINN chapter's own paired comparisons of GradINN (its main reading of F) against
    the regularised standard NN on test RMSE, as its summary records them: the Friedman claim's
    ``<problem>_<N>`` blocks (``nn_over_gradinn_paired_geomean`` and its interval) and the
    low-data cells (``claim_details.low_data.<main>``, those with a result), and every other
    noise-free (problem, N) the chapter compared (``paired_rmse.cells``). Sorted by N and
    problem; empty for a summary without them."""
    out: dict[tuple[str, int], GradinnPair] = {}
    for key, block in summary.items():
        m = re.fullmatch(r"(\w+?)_(\d+)", str(key))
        if m is None or not isinstance(block, Mapping):
            continue
        ratio = _num(block.get("nn_over_gradinn_paired_geomean"))
        if ratio is None:
            continue
        iv = block.get("nn_over_gradinn_interval_95")
        lo, hi = (_num(iv[0]), _num(iv[1])) if isinstance(iv, list) and len(iv) == 2 else (None, None)
        out[m[1], int(m[2])] = GradinnPair(m[1], int(m[2]), ratio, lo, hi, _outcome(lo, hi),
                                           "friedman")
    main = _get(summary, "claim_details", "main")
    cells = _get(summary, "claim_details", "low_data", str(main)) if main else None
    for c in cells if isinstance(cells, list) else []:
        res = c.get("result") if isinstance(c, Mapping) else None
        ratio = _num(_get(res, "ratio"))
        n = _num(c.get("N")) if isinstance(c, Mapping) else None
        if ratio is None or n is None or (c.get("problem"), int(n)) in out:
            continue
        lo, hi = _num(res.get("lo")), _num(res.get("hi"))
        outcome = res.get("outcome") if res.get("outcome") in ("win", "tie", "loss") else _outcome(lo, hi)
        holm = c.get("holm") if c.get("holm") in ("win", "tie", "loss") else None
        out[str(c["problem"]), int(n)] = GradinnPair(str(c["problem"]), int(n), ratio, lo, hi,
                                                     outcome, "low_data", holm)
    sized = _get(summary, "paired_rmse", "cells")
    for c in sized if isinstance(sized, list) else []:
        res = c.get("result") if isinstance(c, Mapping) else None
        ratio, n = _num(_get(res, "ratio")), _num(_get(c, "N"))
        if ratio is None or n is None or (c.get("problem"), int(n)) in out:
            continue
        lo, hi = _num(res.get("lo")), _num(res.get("hi"))
        outcome = res.get("outcome") if res.get("outcome") in ("win", "tie", "loss") else _outcome(lo, hi)
        out[str(c["problem"]), int(n)] = GradinnPair(str(c["problem"]), int(n), ratio, lo, hi, outcome,
                                                     "size")
    order = list(GRADINN_PROBLEMS)
    return sorted(out.values(), key=lambda x: (x.n, order.index(x.problem)
                                               if x.problem in order else 99, x.problem))


def tally_text(outcomes: Sequence[str]) -> str:
    """``["win", "tie", "tie"]`` -> ``"1 win, 2 ties"`` (zero counts left out)."""
    words = {"win": ("win", "wins"), "tie": ("tie", "ties"), "loss": ("loss", "losses")}
    parts = [f"{k} {words[o][k != 1]}" for o in ("win", "tie", "loss")
             if (k := sum(1 for x in outcomes if x == o))]
    return ", ".join(parts) or "none"


def gradinn_provisional(summary: Mapping[str, Any] | None, readings: Iterable[str]) -> str:
    """Why GradINN numbers resting on ``readings`` (``"friedman"``, ``"low_data"``) are
    provisional, from the summary's ``claim_details.readings`` (``recorded`` of ``planned``
    cells, ``final``); ``""`` when every such reading is final."""
    got = []
    for k in dict.fromkeys(readings):
        r = _get(summary, "claim_details", "readings", k)
        if k == "size":  # not a claim: the summary's own count of the cells compared at every size
            b = _get(summary, "paired_rmse")
            r = ({"final": b.get("recorded") == b.get("planned"), "recorded": b.get("recorded"),
                  "planned": b.get("planned"), "unit": "cells"} if isinstance(b, Mapping) else None)
        if not isinstance(r, Mapping) or r.get("final") is not False:
            continue
        rec, plan = _num(r.get("recorded")), _num(r.get("planned"))
        unit = str(r.get("unit") or "cells")
        what = GRADINN_READINGS.get(k, k.replace("_", " "))
        got.append(f"{int(rec)} of the {int(plan)} {unit} of {what} are recorded"
                   if rec is not None and plan is not None else f"{what} is not complete")
    return "; ".join(got)


def _unparen(text: str) -> str:
    """``"Friedman #1 (10 and 5 inputs)"`` -> ``"Friedman #1, 10 and 5 inputs"`` (for a table
    cell that puts the problem in brackets itself)."""
    return re.sub(r" \(([^()]*)\)", r", \1", text)


def _gradinn_pair_rows(summary: Mapping[str, Any]) -> list[CostBenefit]:
    """The GradINN row from the chapter's paired comparisons (:func:`gradinn_pairs`): the
    median ratio at the largest and at the smallest N compared, with the outcomes."""
    pairs = gradinn_pairs(summary)
    if not pairs:
        return []
    hi, lo = max(p.n for p in pairs), min(p.n for p in pairs)
    big = [p for p in pairs if p.n == hi]
    small = [p for p in pairs if p.n == lo]

    def where(ps: Sequence[GradinnPair], names: bool, base: bool = True) -> str:
        """The median's base in a few words (the chapter lists the ratios per problem): how many
        problems' paired ratios (``base``), their outcomes, and the problems where they differ
        from the largest N's (``names``)."""
        k = len(ps)
        return ((f"{gradinn_problems_text(p.problem for p in ps)}, " if names else "")
                + (("paired ratio, " if k == 1 else f"median of {k} problems' paired ratios, ")
                   if base else "")
                + tally_text([p.outcome for p in ps]))

    missing: list[str] = []
    epoch = _measured(summary, "epoch", ["gradinn"], "0", missing)
    provisional = gradinn_provisional(summary, [p.reading for p in pairs])
    other = {p.problem for p in small} != {p.problem for p in big}  # name them only then
    return [CostBenefit(
        "gradinn", _unparen(gradinn_problems_text(p.problem for p in big)), "GradINN",
        "none (a gradient prior)", 0, _median(p.ratio for p in big), "error",
        f"N = {hi}, {where(big, False)}",
        gain_small=_median(p.ratio for p in small) if lo != hi else None,
        gain_small_at=f"N = {lo}, {where(small, other, other)}" if lo != hi else "", n=hi,
        n_small=lo, data_cost=1.0, data_cost_kind="same data", epoch_cost=epoch,
        missing=tuple(missing), provisional=provisional)]


def gradinn_rows(summary: Mapping[str, Any]) -> list[CostBenefit]:
    """GradINN: the standard NN's noise-free test RMSE over GradINN's, at the largest and the
    smallest N.

    Where the summary records the chapter's own paired comparisons (:func:`gradinn_pairs`),
    the GradINN row reads them, the numbers that chapter judges its claims by: per problem the
    geometric mean of the paired ratios, the row's gain being their median at the largest N
    compared and ``gain_small`` at the smallest, with the outcomes by the chapter's tie rule.
    Otherwise (and for the Sobolev network, where the summary has it) the ratio of the mean
    RMSEs, median over problems (``rmse.<problem>.<model>."N=..,noise=0"``). GradINN uses the
    same data as the NN (cost 1); the Sobolev network's gradient is charged the cost model's
    C(d, 1) = 2. Training cost ``cost.epoch.<gradinn|sobolev>.<0|1>``. A row resting on a
    reading the chapter has not completed is marked provisional (:func:`gradinn_provisional`).
    """
    rmse = summary.get("rmse")
    paired = _gradinn_pair_rows(summary)
    if not isinstance(rmse, Mapping):
        return paired
    rows = []
    for prefix, name, data, order in GRADINN_MODELS:
        if prefix == "gradinn" and paired:
            rows.extend(paired)
            continue
        per_n: dict[int, list[tuple[str, float]]] = {}
        for problem, cells in rmse.items():
            if not isinstance(cells, Mapping) or "nn" not in cells:
                continue
            keys = sorted(k for k in cells if k == prefix or k.startswith(prefix + "-"))
            if not keys:
                continue
            model = "gradinn-finetuned" if "gradinn-finetuned" in keys else keys[0]
            base, enh = _noise_free_sizes(cells["nn"]), _noise_free_sizes(cells[model])
            for n in set(base) & set(enh):
                per_n.setdefault(n, []).extend((str(problem), x) for x in
                                               _error_ratios([(base[n], enh[n])]))
        per_n = {n: v for n, v in per_n.items() if v}
        if not per_n:
            continue
        hi, lo = max(per_n), min(per_n)
        missing: list[str] = []
        epoch = _measured(summary, "epoch", [prefix], str(order), missing)
        k = len(per_n[hi])
        rows.append(CostBenefit(
            "gradinn", _unparen(gradinn_problems_text(p for p, _ in per_n[hi])), name, data, order,
            _median(x for _, x in per_n[hi]), "error",
            f"N = {hi}, ratio of mean RMSEs" + (f", median of {k} problems" if k > 1 else ""),
            gain_small=_median(x for _, x in per_n[lo]) if lo != hi else None,
            gain_small_at=(f"N = {lo}" + (f", {gradinn_problems_text(p for p, _ in per_n[lo])}"
                                          if {p for p, _ in per_n[lo]} != {p for p, _ in per_n[hi]} else "")
                           if lo != hi else ""), n=hi, n_small=lo,
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


def pays_words(r: CostBenefit) -> str:
    """The table's "pays?" cell: yes, no or even (:meth:`CostBenefit.pays`; "(model)" where the
    price is the cost model's), "open" where the row cannot decide, "not judged" for a row shown
    for comparison only. A row that uses the same data as the value model pays nothing in data,
    only in training time: its cell says so, with the training time per epoch where the chapter
    records it; elsewhere a recorded training time above the break-even band is named."""
    if r.comparison_only:
        return "not judged"
    verdict = r.pays()
    if verdict is None:
        return "open"
    words = PAYS_WORDS[verdict] + (" (model)" if r.data_cost_kind == "cost model" else "")
    if r.data_cost_kind == "same data":
        return words + " in data; training time per epoch " + (
            "not recorded" if r.epoch_cost is None else f"{people(r.epoch_cost)}×")
    if r.epoch_cost is not None and r.epoch_cost > BREAK_EVEN_BAND:
        words += f"; {people(r.epoch_cost)}× training time per epoch"
    return words


@typeset
def cost_benefit_markdown(s: Summaries, rows: Sequence[CostBenefit]) -> str:
    """The cost-benefit table as Markdown, one row per (chapter, problem, model, data): whether
    the data pay for themselves first (:meth:`CostBenefit.pays`: yes, no, even; "open" where the
    row cannot decide), then the row, the cost of a sample and of an epoch relative to values,
    and the gain with where it was read (four columns, for a phone). A number the summary does
    not record is :data:`MISSING_CELL`; the
    chapter is linked on its first row only, and named on its other rows for a phone alone
    (``phone-only``: there each row is a card of its own, book/_static/derivlearn.css)."""
    if not rows:
        return "No chapter's summary records a gain yet."
    out = ["| pays? | chapter, model: derivative data | cost per sample, per epoch | gain (read at) |",
           "|---|---|---|---|"]  # the answer first, so that it stays in view on a phone
    last, said = None, ""
    for r in rows:
        cost = MISSING_CELL if r.data_cost is None else price(r.data_cost, r.data_cost_kind) + {
            "cost model": " (model)", "same data": " (same data)"}.get(r.data_cost_kind, "")
        gain = MISSING_CELL if r.gain is None else people(r.gain) + (
            " samples" if r.gain_kind == "samples" else "×")
        at = r.gain_at + (f"; {people(r.gain_small)}× at {r.gain_small_at}"
                          if r.gain_small is not None else "")
        if r.note:
            at += "; " + re.sub(r"^(d = [^:]+): ", r"at \1 ", r.note)
        if r.provisional:  # said in full once per chapter, then in one word
            at += ("; provisional" if r.study == last and r.provisional == said
                   else f"; provisional: {r.provisional}")
            said = r.provisional
        short = s.chapter(r.study).short
        model = _cell(r.model)
        if r.study != last:  # the link, and the model's name only where it adds to the chapter's
            chapter = s.chapter(r.study).link() + ("" if r.model.startswith(short) else ": ")
            model = _cell(r.model[len(short):]) if r.model.startswith(short) else model
        else:
            chapter = ("" if r.model.startswith(short)
                       else f'<span class="phone-only">{html.escape(short)}: </span>')
        last = r.study
        out.append(f"| {pays_words(r)} | {chapter}{model} ({_cell(r.problem)}): {_cell(r.data)} "
                   f"| {cost}, {people(r.epoch_cost, MISSING_CELL)} | {gain} "
                   f"({_cell(at) or MISSING_CELL}) |")
    return "\n".join(out)


def expected_keys(s: Summaries, rows: Sequence[CostBenefit], status: Mapping[str, str],
                  notes: Mapping[str, str]) -> dict[str, list[str]]:
    """Per chapter, the summary keys the synthesis looked for and did not find (``claims``,
    ``cost.<data|epoch>.<where>.<which>``, or ``(gains: why)``)."""
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


MODEL_WORDS = {"gp": "Gaussian process", "nn": "neural network", "gradinn": "GradINN network",
               "sobolev": "Sobolev network", "generic": "generic encoder-decoder",
               "dipnet_100_50": "DIPNet 100-50"}
"""Model keys of the ``cost.epoch`` block, in words."""


def _model_words(key: str) -> str:
    return MODEL_WORDS.get(key, key.replace("dipnet_", "DIPNet ").replace("_", "-"))


def _data_words(study: str, order: str) -> str:
    """What a sample carries besides its value, in words."""
    if study == "dino":
        return "its Jacobian"
    if study == "fe_scaling" and order in ("1", "2"):
        return "its gradient" if order == "1" else "its gradient and Hessian"
    return "its gradient" if order == "1" else f"its derivatives up to order {order}"


def _variant_words(study: str, variant: str) -> str:
    if study == "dino" or not variant.isdigit():
        return f"trained with the {DINO_SHORT.get(variant, variant.replace('_', ' '))} loss"
    if variant == "0":
        return "without derivative data"
    return "trained on gradients" if variant == "1" else f"trained on derivatives up to order {variant}"


def missing_words(study: str, key: str) -> str:
    """A key :func:`expected_keys` reports, in words for readers (``cost.epoch.gp.1`` -> "the
    measured training time per epoch of the Gaussian process trained on gradients")."""
    if key == "claims":
        return "the claim table"
    if key.startswith("(gains: "):
        return f"the gains of its models ({key[len('(gains: '):-1]})"
    parts = key.split(".", 2)
    if len(parts) == 3 and parts[0] == "cost":
        where, _, which = parts[2].rpartition(".")
        names = [w.strip() for w in where.strip("{}").split(",")]
        if parts[1] == "data":
            place = ("the PDE maps" if study == "dino" else
                     " and ".join(PROBLEM_NAMES.get(n, n.replace("_", " ")) for n in names))
            return f"the measured cost of a sample with {_data_words(study, which)} ({place})"
        models = " and the ".join(_model_words(n) for n in names)
        return f"the measured training time per epoch of the {models} {_variant_words(study, which)}"
    return key


def missing_markdown(s: Summaries, missing: Mapping[str, Sequence[str]]) -> str:
    """What each chapter's summary does not record yet, as a Markdown list in words, followed by
    a folded note for developers with the summary keys behind each item."""
    if not missing:
        return "Every chapter's summary records everything this chapter reads."
    lines, keys = [], []
    for ch in s.chapters:
        if ch.study in missing:
            words = list(dict.fromkeys(missing_words(ch.study, k) for k in missing[ch.study]))
            lines.append(f"* {ch.link()}: " + "; ".join(words) + ".")
            keys.append(f"* {ch.short}: " + ", ".join(
                f"`{k}`" if not k.startswith("(") else k for k in missing[ch.study]))
    return "\n".join(lines + [
        "", ":::{dropdown} For developers: the summary keys behind this list",
        "The synthesis reads a chapter's `claims`, its gains (by the readers in `ROW_READERS` of "
        "`derivlearn.synthesis`) and the `cost` block that `derivlearn.synthesis.cost_record` "
        "writes. Keys not found:", "", *keys, ":::"])


# ----------------------------------------------------------------------------- the figure
ORDER_MARKERS = {0: "X", 1: "o", 2: "s", 3: "^", 4: "D", 5: "v"}
FILL_MARKER = "p"
"""The legend's marker for filled (measured cost) against open (cost model): a pentagon, which
no derivative order uses."""
TICKS = (0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
PANELS = {"samples": ("effort to an accuracy target", "value samples one sample replaces"),
          "error": ("error at equal training size", "error of value training / with derivatives")}
MIN_POINTS = 2
"""A panel of the figure is drawn only with at least this many points (a lone point says
nothing a table row does not)."""


def placeable(rows: Sequence[CostBenefit]) -> list[CostBenefit]:
    """The rows with a finite positive gain and a cost, not shown for comparison only."""
    return [r for r in rows if r.data_cost is not None and r.gain is not None
            and math.isfinite(r.gain) and r.gain > 0 and not r.comparison_only]


def panels(rows: Sequence[CostBenefit]) -> list[str]:
    """The gain kinds whose panel the figure draws: those with :data:`MIN_POINTS` or more."""
    got = placeable(rows)
    return [k for k in PANELS if sum(1 for r in got if r.gain_kind == k) >= MIN_POINTS]


def placed(rows: Sequence[CostBenefit]) -> list[CostBenefit]:
    """The rows the figure places: placeable, in a panel the figure draws."""
    kinds = panels(rows)
    return [r for r in placeable(rows) if r.gain_kind in kinds]


def _series(s: Summaries, rows: Sequence[CostBenefit]) -> list[tuple[str, str]]:
    """The (study, model) pairs of the placed rows, in the book's order: one colour each."""
    order = {c.study: i for i, c in enumerate(s.chapters)}
    pairs = {(r.study, r.model) for r in placed(rows)}
    return sorted(pairs, key=lambda p: (order.get(p[0], 99), p[1]))


def plot_gain_cost(s: Summaries, rows: Sequence[CostBenefit]):
    """Gain against cost, one point per placed row (:func:`placed`), one panel per kind of gain
    with at least :data:`MIN_POINTS` points (:func:`panels`): "samples", value samples one
    derivative sample replaces, with the break-even line gain = cost; "error", the error ratio
    at equal N, with "no gain" (1) and the line gain = cost dashed (break-even only where the
    error falls as 1/N). Colour: chapter and model; marker shape: derivative order; filled: a
    measured cost (or the same data), open: the cost model's. Without any such panel, one empty
    panel says so.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator, ScalarFormatter

    from derivlearn.plotting import PALETTE

    series = _series(s, rows)
    color = {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(series)}
    kinds = panels(rows)
    fig, axes = plt.subplots(1, max(len(kinds), 1), figsize=(7.6 if len(kinds) > 1 else 7.0, 4.6),
                             constrained_layout=True, squeeze=False)
    letters = "ab" if len(kinds) > 1 else ("", "")
    for ax, kind, letter in zip(axes[0], kinds or [None], letters, strict=False):
        if kind is None:
            ax.set(xscale="log", yscale="log", xlim=(0.5, 50), ylim=(0.5, 50),
                   xlabel="cost of one sample (value samples)", ylabel="gain")
            ax.text(0.5, 0.5, f"fewer than {MIN_POINTS} points recorded in either panel yet",
                    transform=ax.transAxes, ha="center", va="center", fontsize=10, color="grey")
            continue
        title, ylabel = PANELS[kind]
        pts = [r for r in placed(rows) if r.gain_kind == kind]
        vals = [v for r in pts for v in (r.gain, r.data_cost)]
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
        ax.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi),
               title=f"({letter}) {title}" if letter else title,
               xlabel="cost of one sample (value samples)", ylabel=ylabel)
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(FixedLocator([t for t in TICKS if lo <= t <= hi]))
            axis.set_major_formatter(ScalarFormatter())
            axis.set_minor_locator(NullLocator())
            axis.set_minor_formatter(NullFormatter())
    shown = placed(rows)
    handles = [Line2D([], [], ls="", marker="o", ms=8, color=color[p],
                      label=s.chapter(p[0]).short + ("" if p[1] == s.chapter(p[0]).short
                                                     else f": {p[1]}")) for p in series]
    # orders: their shapes, half-tone (neither the filled nor the open of the cost's legend)
    handles += [Line2D([], [], ls="", marker=ORDER_MARKERS[o], ms=8, color="black", mfc="0.75",
                       label=("gradient prior, no derivative data" if o == 0 else f"order {o}"))
                for o in sorted({r.order for r in shown} & set(ORDER_MARKERS))]
    fills = {r.data_cost_kind in ("measured", "same data") for r in shown}
    handles += [Line2D([], [], ls="", marker=FILL_MARKER, ms=9, color="black",
                       label="filled: cost measured")] if True in fills else []
    handles += [Line2D([], [], ls="", marker=FILL_MARKER, ms=9, color="black", mfc="white",
                       label="open: cost model")] if False in fills else []
    if kinds:  # drawn solid where it is the break-even line (samples), dashed where it is not
        if kinds != ["error"]:
            handles.append(Line2D([], [], color="black", label="gain = cost (break-even)"))
        if "error" in kinds:
            handles.append(Line2D([], [], color="black", ls="--", label="gain = cost (error ratio)"))
    if "error" in kinds:
        handles.append(Line2D([], [], color="grey", label="no gain"))
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=9)
    return fig


def unplaced_markdown(s: Summaries, rows: Sequence[CostBenefit]) -> str:
    """The rows the figure does not place, grouped by reason, as Markdown (empty if none)."""
    shown = placed(rows)
    kinds = panels(rows)
    why: dict[str, list[str]] = {}
    for r in rows:
        if r in shown:
            continue
        reason = (f"shown in the table for comparison only ({r.comparison_only})"
                  if r.comparison_only
                  else "only the derivative model reaches the target" if r.gain is not None
                  and math.isinf(r.gain) else "no gain recorded" if r.gain is None
                  else "no cost recorded" if r.data_cost is None
                  else f"its panel ({PANELS[r.gain_kind][0]}) would hold fewer than "
                       f"{MIN_POINTS} points" if r.gain_kind not in kinds
                  else "no finite positive gain")
        why.setdefault(reason, []).append(f"{s.chapter(r.study).short}, {r.model} "
                                          f"({r.problem}): {r.data}")
    return "\n".join(f"* Not in the figure, {reason}: " + "; ".join(items) + "."
                     for reason, items in why.items())


# ----------------------------------------------------------------------------- the answer
def _row(rows: Sequence[CostBenefit], study: str, model: str, order: int,
         problem: str | None = None, arm: str | None = None) -> CostBenefit | None:
    for r in rows:
        if (r.study == study and r.model.startswith(model) and r.order == order
                and (problem is None or r.problem == problem) and (arm is None or r.arm == arm)):
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
    """``"N = 16"`` when every row was read at one size; not recorded without sizes, or where
    the rows were read at different sizes (a gain is never quoted at a different N per row)."""
    got = sorted({n for n in ns if n is not None})
    return f"N = {got[0]}" if len(got) == 1 else NOT_RECORDED


def pending_runs(summary: Mapping[str, Any] | None, part: str | None = None) -> tuple[int, int] | None:
    """``(recorded, planned)`` runs of a chapter's plan (or of one ``part`` of it), where its
    summary says: ``progress`` (``[{part, recorded, planned}]``) or ``missing_runs`` with
    ``runs``; ``None`` where it does not."""
    if not isinstance(summary, Mapping):
        return None
    prog = summary.get("progress")
    if isinstance(prog, list):
        got = [p for p in prog if isinstance(p, Mapping) and (part is None or p.get("part") == part)]
        rec = [_num(p.get("recorded")) for p in got]
        plan = [_num(p.get("planned")) for p in got]
        if got and None not in rec and None not in plan:
            return int(sum(rec)), int(sum(plan))
    miss, runs = summary.get("missing_runs"), _num(summary.get("runs"))
    if part is None and runs is not None:
        miss = len(miss) if isinstance(miss, list) else _num(miss)
        if miss is not None:
            return int(runs), int(runs + miss)
    return None


def _runs_text(prog: tuple[int, int] | None, whose: str = "the plan's") -> str:
    return "" if prog is None else f" ({prog[0]} of {whose} {prog[1]} runs recorded)"


def fe_nn_text(rows: Sequence[CostBenefit], summary: Mapping[str, Any] | None) -> tuple[str, str]:
    """The neural-network finding of the FE chapter: the long text (the synthesis's answer)
    and the short one (the intro's key findings). The gain is read in the no-decay arm; the
    paper arm's, where the value network stalls, is named as such."""
    frame = PROBLEM_NAMES["frame"]
    arms = {r.arm for r in rows if r.study == "fe_scaling"}
    primary = "no_decay" if "no_decay" in arms else ("" if "" in arms else None)
    r1 = _row(rows, "fe_scaling", "neural network", 1, frame, primary) if primary is not None else None
    r2 = _row(rows, "fe_scaling", "neural network", 2, frame, primary) if primary is not None else None
    if r1 is None or r1.gain is None:
        prog = pending_runs(summary, primary or None)
        text = ("The frame's network runs that compare gradient and value training are still "
                "being computed" + _runs_text(prog) + ".")
        return text, text
    where = ("In the FE chapter's no-decay arm (both networks trained by Adam without weight "
             "decay, the arm in which that chapter makes the paper's comparison), a gradient "
             if primary == "no_decay" else "On the FE frame, a gradient ")
    gain = ("only the Sobolev network reaches the target" if math.isinf(r1.gain) else
            f"one frame sample with its gradient replaced {people(r1.gain)} value samples "
            f"({r1.gain_at})")
    long = (f"{where}{_pays_text(r1)}: {gain} at a price of {_cost_text(r1)}"
            + (f"; {r1.note}" if r1.note else "") + ".")
    short = (("In the no-decay arm of the FE chapter, where the paper's comparison can be made, "
              "a gradient " if primary == "no_decay" else "On the FE frame, a gradient ")
             + f"{_pays_text(r1)}: {gain} at a price of {price(r1.data_cost, r1.data_cost_kind)}.")
    if r2 is None or r2.gain is None:
        long += (" The Hessian networks of that arm are still being computed"
                 + _runs_text(pending_runs(summary, primary), "the arm's") + "." if primary == "no_decay"
                 else " The Hessian networks' gain is not recorded yet.")
    else:
        long += (f" With the Hessian as well, a sample {_pays_text(r2)}: it replaced "
                 f"{people(r2.gain)} value samples ({r2.gain_at}) at a price of {_cost_text(r2)}.")
    p1 = _row(rows, "fe_scaling", "neural network", 1, frame, "paper") if primary == "no_decay" else None
    if p1 is not None and p1.gain is not None:
        long += (" In the paper arm (Adam with the coupled weight decay the paper's wording "
                 "implies) the value network stalls: "
                 + (f"the same reading gives {people(p1.gain)} value samples ({p1.gain_at})"
                    if math.isfinite(p1.gain) else "only the Sobolev network reaches the target")
                 + (", and at " + p1.note.replace(": ", " ", 1) if p1.note else "")
                 + "; those numbers measure the stall more than the gradient.")
        short += (" In the paper arm, with the paper's weight decay read literally, the value "
                  "network stalls, and the larger gain read there"
                  + (f" ({people(p1.gain)} value samples)" if math.isfinite(p1.gain) else "")
                  + " is not the derivatives' doing.")
    return long, short


HO_CAVEAT = (" (an error ratio set against a price in samples: that decides whether derivatives "
             "pay only where the error falls as 1/N, so the cost-benefit table calls these rows open)")
"""Said with every comparison of the higher-order chapter's error ratios with the prices."""


def ho_text(rows: Sequence[CostBenefit], summary: Mapping[str, Any] | None) -> tuple[str, str]:
    """The higher-order finding, long and short: the gains per order against the cost model's
    prices, or one sentence saying the runs are still pending."""
    ho = {r.order: r for r in rows if r.study == "higher_order_sobolev" and r.gain is not None}
    if not ho:
        text = ("The runs with derivatives up to order 5 on 2-D test functions are still being "
                "computed" + _runs_text(pending_runs(summary)) + ", so their gains cannot be set "
                "against the cost model's prices yet.")
        return text, text
    orders = sorted(ho)
    gains = ", ".join(f"{people(ho[o].gain)}× at order {o}" for o in orders)
    prices = ", ".join(str(cost_model.cost(2, o)) for o in orders)
    short = [o for o in orders if compare_to_cost(ho[o].gain, ho[o].data_cost) == "does not pay"]
    verdict = (f"from order {short[0]} on, the error falls by less than the price{HO_CAVEAT}"
               if short else f"at every order the error falls by more than the price{HO_CAVEAT}")
    long = (f"On 2-D test functions ({ho[orders[0]].gain_at}), derivatives cut the error by a "
            f"median factor of {gains}, while the cost model prices such a sample at {prices} "
            f"value samples: {verdict}.")
    missing = [o for o in range(1, 6) if o not in ho]
    if missing:
        long += (" The runs of order " + ", ".join(map(str, missing))
                 + " are still being computed.")
    return long, f"On 2-D test functions, at the cost model's prices, {verdict}."


def _gradinn_phrase(pairs: Sequence[GradinnPair]) -> str:
    """What the paired comparisons at one N say, in a few words: "a modest gain" (every one a
    win, the ratios below 2), "a gain", "no clear gain" (all ties), "a loss", or "a gain on 1 of
    3 problems" where wins and ties mix."""
    outs = [p.outcome for p in pairs]
    wins, losses = outs.count("win"), outs.count("loss")
    if outs and wins == len(outs):
        return "a modest gain" if max(p.ratio for p in pairs) < 2 else "a gain"
    if outs and losses == len(outs):
        return "a loss"
    if not wins and not losses:
        return "no clear gain"
    if not losses:
        return f"a gain on {wins} of {len(outs)} problems"
    return f"a mixed result ({tally_text(outs)})"


def _gradinn_at_text(pairs: Sequence[GradinnPair]) -> str:
    """``"wins on Stokes (error ratio 1.3) and ties on Friedman #1 (10 and 5 inputs: 0.98 and
    1.0)"``: the comparisons at one N, grouped by outcome."""
    verbs = {"win": "wins on", "tie": "ties on", "loss": "loses on"}
    parts = []
    for o in ("win", "tie", "loss"):
        ps = [p for p in pairs if p.outcome == o]
        if not ps:
            continue
        ratios = " and ".join(people(p.ratio) for p in ps)
        names = gradinn_problems_text(p.problem for p in ps)
        if names.endswith(")"):
            parts.append(f"{verbs[o]} {names[:-1]}: error ratio {ratios})")
        else:
            parts.append(f"{verbs[o]} {names} (error ratio {ratios})")
    return " and ".join(parts)


def gradinn_verdict(g: CostBenefit | None, summary: Mapping[str, Any] | None) -> str:
    """GradINN against the standard NN in a few words, from the same row as the table: per N
    compared, the outcomes of the chapter's paired comparisons (:func:`_gradinn_phrase`); for a
    row of mean-RMSE ratios without outcomes, the ratio against the break-even band."""
    if g is None or g.gain is None:
        return NOT_RECORDED
    pairs = gradinn_pairs(summary or {})
    if pairs:
        at = {n: [p for p in pairs if p.n == n] for n in (g.n, g.n_small) if n is not None}
        phrases = [f"{_gradinn_phrase(ps)} at N = {n}" for n, ps in at.items()]
        return " and ".join(dict.fromkeys(phrases))
    verdicts = {compare_to_cost(x, 1.0) for x in (g.gain, g.gain_small) if x is not None}
    return ("a gain" if verdicts == {"pays"} else "a loss" if verdicts == {"does not pay"}
            else "no clear gain")


def gradinn_later_readings(pairs: Sequence[GradinnPair], summary: Mapping[str, Any] | None) -> str:
    """What the GradINN chapter's stricter readings, written after its first results, make of
    the wins among ``pairs``: the low-data wins that Holm's correction turns into ties, and
    Friedman wins with an error ratio below 2 where the chapter's Friedman reading asks for at
    least 2. ``""`` when they change nothing."""
    out = []
    holm = [p for p in pairs if p.reading == "low_data" and p.outcome == "win" and p.holm
            and p.holm != "win"]
    if holm:
        where = ", ".join(f"{gradinn_problems_text([p.problem])} at N = {p.n}" for p in holm)
        out.append(f"Under Holm's correction for the number of low-data cells compared, a stricter "
                   f"reading the GradINN chapter wrote after its first results, "
                   f"{'this win is a tie' if len(holm) == 1 else 'these wins are ties'} ({where}).")
    later = _get(summary, "claim_details", "readings", "friedman", "after_results")
    small = [p for p in pairs if p.reading == "friedman" and p.outcome == "win" and p.ratio < 2]
    if small and isinstance(later, str) and later != _get(summary, "claim_details", "readings",
                                                           "friedman", "first"):
        out.append("The chapter's stricter reading of the Friedman claim, also written after its "
                   "first results, asks for at least half the error (a ratio of 2), and reads it "
                   f"{later}.")
    return "".join(" " + x for x in out)


def gradinn_text(g: CostBenefit | None, summary: Mapping[str, Any] | None) -> tuple[str, str]:
    """The GradINN finding, long (the synthesis's answer) and short (the intro's box), from the
    row the table shows and the figure places: the ratios per problem at the largest and the
    smallest N compared, their outcomes, the training cost where the chapter records it, and
    whether the numbers are provisional."""
    if g is None or g.gain is None:
        text = ("The GradINN chapter's comparisons of a gradient prior with a standard network "
                "are still being computed.")
        return text, text
    pairs = gradinn_pairs(summary or {})
    if pairs:
        sizes = [n for n in (g.n, g.n_small) if n is not None]
        sizes = list(dict.fromkeys(sizes))
        at = {n: [p for p in pairs if p.n == n] for n in sizes}
        long = ("A gradient prior without gradient data (GradINN) gave "
                + " and ".join(f"{_gradinn_phrase(ps)} at N = {n}" for n, ps in at.items())
                + " over a standard network. "
                + " ".join(f"At N = {n}, GradINN {_gradinn_at_text(ps)}." for n, ps in at.items())
                + " The error ratio is the standard network's test RMSE over GradINN's (the "
                "geometric mean over repetitions on the same training sets), and GradINN wins "
                "where its 95 % interval lies above 1, as the GradINN chapter judges it.")
        long += gradinn_later_readings([p for ps in at.values() for p in ps], summary)
        main = str(_get(summary, "claim_details", "main"))
        planned = [c.get("problem") for c in (_get(summary, "claim_details", "low_data", main) or [])
                   if isinstance(c, Mapping)]
        done = {p.problem for p in pairs}
        none_yet = [x for x in dict.fromkeys(planned) if x and x not in done]
        if none_yet:
            long += (" " + gradinn_problems_text(none_yet) + (" have" if len(none_yet) > 1 else " has")
                     + " no runs of the chapter's current protocol yet.")
    else:
        long = ("A gradient prior without gradient data (GradINN) gave "
                f"{gradinn_verdict(g, summary)} over a standard network: error ratio "
                f"{people(g.gain)} ({g.gain_at})"
                + (f", {people(g.gain_small)} at {g.gain_small_at}" if g.gain_small is not None
                   else "") + ".")
    cost = (f" It needs no extra data, but trains {people(g.epoch_cost)}× as long per epoch."
            if g.epoch_cost is not None else
            " It needs no extra data; its training time per epoch is not in the chapter's summary, "
            "so the synthesis cannot weigh the gain against the training time.")
    long += cost
    big = [p for p in pairs if p.n == g.n]
    where = (f"its error was {_range(p.ratio for p in big)} times lower on "
             f"{gradinn_problems_text(p.problem for p in big)}" if big
             else f"error ratio {people(g.gain)}")
    short = (f"A gradient prior without gradient data (GradINN) gave {gradinn_verdict(g, summary)} "
             f"over a standard network; at N = {g.n}, {where}, with no extra data"
             + ("" if g.epoch_cost is None else f" but {people(g.epoch_cost)}× the training time per epoch")
             + ".")
    if g.provisional:
        long += f" These numbers are provisional: {g.provisional}."
        short += " Provisional: not all of the GradINN chapter's runs are recorded yet."
    return long, short


DINO_CLAIM = "Derivative information improves L2 accuracy at small N"
"""The DINO claim the synthesis quotes (the paper's comparison: equal epochs, small N)."""
DINO_CLAIM_BEYOND = "The gain of derivative information at small N is not only"


def _find_claim(claims: Sequence[ClaimRow], study: str, start: str) -> ClaimRow | None:
    return next((c for c in claims if c.study == study and c.claim.startswith(start)), None)


PROVISIONAL = re.compile(r"^(?P<why>.*?);?\s*provisional, on the runs so far: (?P<ours>.*) "
                         r"\((?P<verdict>confirmed|partly confirmed|not confirmed)\)$")
"""A claim a chapter leaves "not tested" while its cells are incomplete, with the reading of the
runs so far (``"no complete cell yet; provisional, on the runs so far: ... (confirmed)"``)."""


def claim_reading(c: ClaimRow) -> tuple[str, str, str]:
    """``(verdict, ours, why)``: a claim's verdict and its decisive numbers; for a claim "not
    tested" with a provisional reading of the runs so far, that reading's verdict and numbers,
    and why the claim itself is not tested (else ``why`` is ``""``)."""
    m = PROVISIONAL.match(c.ours) if c.verdict == "not tested" else None
    if m is None:
        return c.verdict, c.ours, ""
    return m["verdict"], m["ours"], m["why"].strip() or "its cells are not complete yet"


PROVISIONAL_CELLS = re.compile(
    r"^provisional, on (?:(?P<got>\d+) of the (?P<plan>\d+) planned cells|(?P<partial>cells that "
    r"do not have all their runs yet)): at (?P<at>N = [^:]+?)(?:, against (?P<base>[^:]+))?: "
    r"(?P<body>.*?)(?: \(would read: (?P<v1>(?:partly |not )?confirmed)\)"
    r"|; would read: (?P<v2>(?:partly |not )?confirmed))$")
"""A claim-table cell with the provisional tallies of the cells recorded so far (the DINO
chapter's "provisional, on 12 of the 36 planned cells: at N = 16, against L2: H1 0 of 3 won, 3
tied; ...; would read: partly confirmed", or with the verdict in brackets, or "on cells that do
not have all their runs yet")."""
LATER_READING = "(a reading written after the results)"
"""How a DINO claim cell marks a second reading beside its first (:func:`provisional_sentence`
quotes only the first)."""
TALLY = re.compile(r"^(?P<name>.+?) (?P<won>\d+) of (?P<n>\d+) won(?:, (?P<tied>\d+) tied)?"
                   r"(?:, (?P<lost>\d+) lost)?$")


def _tally_phrase(losses: Sequence[str], won: int, n: int, tied: int, lost: int) -> str:
    """``(["H1", "reduced H1"], 0, 3, 3, 0)`` -> ``"H1 and reduced H1 tie in all 3 cells"``."""
    who = " and ".join(losses)
    many = len(losses) > 1
    every = "in both cells" if n == 2 else f"in all {n} cells" if n > 1 else "in its one cell"
    for count, (one, more) in ((won, ("wins", "win")), (tied, ("ties", "tie")),
                               (lost, ("loses", "lose"))):
        if count == n:
            return f"{who} {more if many else one} {every}"
    parts = [f"{more if many else one} {k}" for k, (one, more) in
             ((won, ("wins", "win")), (tied, ("ties", "tie")), (lost, ("loses", "lose"))) if k]
    parts[0] += f" of {n} cells"
    return f"{who} " + (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0])


def _baseline_words(base: str) -> str:
    """``"L2 with its Adam steps"`` -> ``"L2 training given the same Adam steps"``."""
    got = re.fullmatch(r"L2 with its (.+)", base.strip())
    if got is None:
        return f"{base.strip()} training" if base.strip() == "L2" else base.strip()
    what = "training time" if got[1] == "time" else got[1]
    return f"L2 training given the same {what}"


def provisional_sentence(ours: str, beyond: bool = False) -> str:
    """A claim-table cell of provisional tallies (:data:`PROVISIONAL_CELLS`) as sentences: which
    loss wins, ties or loses against which baseline, on how many of the planned cells, and how
    the claim would read. ``""`` where the cell has another form (the caller then says only that
    the reading is provisional, never pastes the cell)."""
    m = PROVISIONAL_CELLS.match(ours.strip())
    if m is None:
        return ""
    tallies: dict[str, dict[tuple[int, int, int, int], list[str]]] = {}
    for seg in m["body"].split("; "):
        if LATER_READING in seg:  # a chapter's second reading, written after its results: not quoted
            continue
        t = TALLY.match(seg.strip())
        if t is None:
            return ""
        loss, _, base = t["name"].partition(" against ")
        key = (int(t["won"]), int(t["n"]), int(t["tied"] or 0), int(t["lost"] or 0))
        tallies.setdefault(_baseline_words(base or m["base"] or "L2"), {}).setdefault(
            key, []).append(loss)
    groups = {base: [_tally_phrase(losses, *key) for key, losses in by.items()]
              for base, by in tallies.items()}
    verdict = m["v1"] or m["v2"]
    against = "; ".join(f"against {base}, " + ", ".join(ps[:-1]) + (" and " if len(ps) > 1 else "")
                        + ps[-1] for base, ps in groups.items())
    cells = (f"the {m['got']} of the {m['plan']} planned cells recorded so far" if m["got"]
             else "the cells recorded so far, none with all its runs yet")
    if beyond:
        return (f"Whether the gain is more than extra optimizer work is not tested yet either; "
                f"on {cells}, at {m['at']}: {against}, so the claim would read {verdict}.")
    return f"On {cells}, at {m['at']}: {against}; the claim would read {verdict}."


def dino_text(summary: Mapping[str, Any] | None, claims: Sequence[ClaimRow]
              ) -> tuple[str, str, dict[str, str]]:
    """The DINO finding from its claim table, long and short, and its parts by glue key.

    The statement is the claim that derivative information improves L2 accuracy at small N,
    with its verdict and the chapter's own count (or, while the claim is not tested, its
    provisional reading of the runs so far, called so). The error ratios are read at that
    claim's N for every loss (one N for all), and the runs behind them are counted from the
    summary's ``accuracy`` cells. While any DINO claim is not tested, or the summary says runs
    of the plan are missing, the DINO verdicts are called provisional.
    """
    parts = {"dino_verdict": NOT_RECORDED, "dino_ours": NOT_RECORDED, "dino_runs": NOT_RECORDED,
             "dino_ratio": NOT_RECORDED, "dino_status": NOT_RECORDED}
    mine = [c for c in claims if c.study == "dino"]
    c = _find_claim(claims, "dino", DINO_CLAIM)
    if summary is None or c is None:
        text = ("The DINO chapter's claim table has no verdict on small training sizes yet."
                if mine else "The DINO chapter's claim table is not in its summary yet.")
        return text, text, parts
    verdict, ours, why = claim_reading(c)
    parts["dino_verdict"], parts["dino_ours"] = c.verdict, c.ours
    untested = sum(1 for x in mine if x.verdict == "not tested")
    prog = pending_runs(summary)
    reasons = []
    if untested:
        reasons.append("its one claim is not tested yet" if len(mine) == 1
                       else f"none of its {len(mine)} claims is tested yet" if untested == len(mine)
                       else f"{untested} of its {len(mine)} claims {'is' if untested == 1 else 'are'} "
                            "not tested yet")
    if prog is not None and prog[0] < prog[1]:
        reasons.append(f"{prog[0]} of the {prog[1]} runs of its plan are recorded")
    parts["dino_status"] = ("provisional: " + " and ".join(reasons) if reasons
                            else f"complete: all {len(mine)} of its claims are tested")
    head = ("For PDE maps (DINO), the claim that derivative information improves L2 accuracy at "
            "small N")
    m = re.search(r"at N = (\d+)", ours)
    if verdict == "not tested" or m is None:
        reading = provisional_sentence(c.ours)
        beyond = _find_claim(claims, "dino", DINO_CLAIM_BEYOND)
        more = provisional_sentence(beyond.ours, beyond=True) if beyond is not None else ""
        long = (f"{head} is not tested yet"
                + (f". {reading}" if reading else
                   ": its claim table gives only a provisional reading of the runs so far")
                + (f" {more}" if reading and more else "")
                + f" The DINO verdicts are {parts['dino_status']}.")
        short = (f"{head} is not tested yet" + (f". {reading}" if reading else ".")
                 + f" The DINO verdicts are {parts['dino_status']}.")
        return long, short, parts
    n = int(m.group(1))
    ratios = {loss: per_n[n] for loss, per_n in dino_ratios(summary).items()
              if loss in DINO_SHORT and n in per_n and f"{DINO_SHORT[loss]} " in ours + " "}
    if ratios:
        cells = {x.cell for v in ratios.values() for x in v}
        l2 = {x.cell: x.l2_runs for v in ratios.values() for x in v}
        total = sum(l2.values()) + sum(x.loss_runs for v in ratios.values() for x in v)
        per = sorted(set(l2.values()) | {x.loss_runs for v in ratios.values() for x in v})
        k = len(cells)
        where = f"{k} cell{'s' if k != 1 else ''} of problem and network"
        parts["dino_runs"] = (
            f"{total} training runs: {per[0] if len(per) == 1 else f'{per[0]}–{per[-1]}'} per loss, "
            f"L2 included, in each of {where}" if total and per[0] else where)
        parts["dino_ratio"] = ", ".join(f"{DINO_SHORT[loss]} {people(_median(x.ratio for x in v))}×"
                                        for loss, v in ratios.items())
    small = [_median(x.ratio for x in v) for v in ratios.values()]
    clause = ""
    if verdict in ("confirmed", "partly confirmed") and any(
            x is not None and x < BREAK_EVEN_BAND for x in small):
        one = ratios and all(x.l2_runs == x.loss_runs == 1 for v in ratios.values() for x in v)
        clause = ("; the claim counts a win whenever the difference lies outside the spread of "
                  "the runs" + (" (with one run per cell, whenever it is positive)" if one else "")
                  + ", so a gain of a few per cent counts as a win")
    said = (f"is {verdict}: {ours}" if not why else
            f"is not tested yet ({why}); on the runs so far it reads {verdict}: {ours}")
    long = f"{head} {said} ({parts['dino_runs']})."
    if ratios:
        long += f" At N = {n}, plain L2 training's error over each loss's is {parts['dino_ratio']}{clause}."
    beyond = _find_claim(claims, "dino", DINO_CLAIM_BEYOND)
    if beyond is not None:
        bv, _, bwhy = claim_reading(beyond)
        if bv != "not tested":
            long += (" That the gain is more than extra optimizer steps or training time "
                     + (f"is {bv}." if not bwhy else f"reads {bv} on the runs so far."))
    long += f" The DINO verdicts are {parts['dino_status']}."
    short = ("For a PDE surrogate (DINO), that derivative information improves L2 accuracy at "
             "small N " + (f"is {verdict}" if not why else f"reads {verdict} on the runs so far")
             + f" (N = {n}, {parts['dino_runs'].split(':')[0]})"
             + (", a provisional verdict while " + " and ".join(reasons).replace(
                 "its ", "the DINO chapter's ") if reasons else "") + ".")
    return long, short, parts


def answer(s: Summaries, rows: Sequence[CostBenefit], claims: Sequence[ClaimRow],
           status: Mapping[str, str]) -> dict[str, str]:
    """The numbers of the chapter's short answer, and the words that depend on them, by glue
    key; a number the summaries do not hold reads :data:`NOT_RECORDED`, and a sentence whose
    numbers are missing says that their runs are still pending.

    Keys:
        verdicts: ``n_claims``, ``n_confirmed``, ``n_partly``, ``n_not_confirmed``,
            ``n_not_tested``, ``n_judged`` (the claims with a verdict: all but the not tested),
            ``n_chapters_claims`` (chapters with a claim table),
            ``n_chapters``;
        FE frame, ``<k>`` = ``fe_gp1``, ``fe_gp2``, ``fe_nn1``, ``fe_nn2`` (family, order; the
            networks read in the no-decay arm where the summary has it):
            ``<k>_gain``, ``<k>_at``, ``<k>_cost``, ``<k>_pays``, ``<k>_only``;
            ``fe_nn_text`` and ``fe_nn_short`` (the networks' finding, in sentences);
        higher order: ``ho_gain_<r>`` and ``ho_cost_<r>`` (r = 1..5), ``ho_at``,
            ``ho_verdict``, ``ho_text`` and ``ho_short`` (sentences);
        DINO: ``dino_gain`` and ``dino_small`` (range over the losses at the largest and the
            smallest N that all losses share), ``dino_at``, ``dino_small_at``, ``dino_cost``,
            ``dino_epoch``; from the claim table: ``dino_verdict``, ``dino_ours``, ``dino_runs``,
            ``dino_ratio`` (per loss, at the claim's N), ``dino_status``, ``dino_text`` and
            ``dino_short`` (sentences);
        GradINN: ``gradinn_gain``, ``gradinn_at``, ``gradinn_small``, ``gradinn_small_at``,
            ``gradinn_verdict``, ``gradinn_text`` and ``gradinn_short`` (sentences, from the
            same row as the table and the figure: :func:`gradinn_text`);
        figure: ``n_rows``, ``n_placed``, ``n_samples_rows``, ``n_samples_pay``,
            ``figure_note`` (which panels are drawn, or why one is not), ``figure_text`` (what
            the figure shows, in sentences: :func:`figure_text`).
    """
    counts = {v: sum(1 for c in claims if c.verdict == v) for v in VERDICTS}
    out = {
        "n_claims": str(len(claims)),
        "n_confirmed": str(counts["confirmed"]),
        "n_partly": str(counts["partly confirmed"]),
        "n_not_confirmed": str(counts["not confirmed"]),
        "n_not_tested": str(counts["not tested"]),
        "n_judged": str(len(claims) - counts["not tested"]),
        "n_chapters_claims": str(sum(1 for st in status.values() if st.startswith("recorded"))),
        "n_chapters": str(len(s.chapters)),
    }
    fe_arms = {r.arm for r in rows if r.study == "fe_scaling" and r.model.startswith("neural")}
    nn_arm = "no_decay" if "no_decay" in fe_arms else ""
    for fam, (model, _) in FE_FAMILIES.items():
        for order in (1, 2):
            r = _row(rows, "fe_scaling", model, order, problem=PROBLEM_NAMES["frame"],
                     arm=nn_arm if fam == "nn" else "")
            k = f"fe_{fam}{order}"
            out[f"{k}_gain"] = people(r.gain if r else None)
            out[f"{k}_at"] = r.gain_at if r and r.gain_at else NOT_RECORDED
            out[f"{k}_cost"] = _cost_text(r)
            out[f"{k}_pays"] = _pays_text(r)
            out[f"{k}_only"] = (r.note if r and r.note
                                else "no dimension where only one of the two reaches it")
    out["fe_nn_text"], out["fe_nn_short"] = fe_nn_text(rows, s.get("fe_scaling"))
    ho = {r.order: r for r in rows if r.study == "higher_order_sobolev"}
    for order in range(1, 6):
        out[f"ho_gain_{order}"] = people(ho[order].gain if order in ho else None)
        out[f"ho_cost_{order}"] = str(cost_model.cost(2, order))
    out["ho_at"] = ho[min(ho)].gain_at if ho else NOT_RECORDED
    short = [r.order for r in sorted(ho.values(), key=lambda r: r.order)
             if r.gain is not None and compare_to_cost(r.gain, r.data_cost) == "does not pay"]
    out["ho_verdict"] = (NOT_RECORDED if not any(r.gain is not None for r in ho.values())
                         else f"from order {short[0]} on, the error falls by less than the price"
                         f"{HO_CAVEAT}" if short
                         else f"at every order the error falls by more than the price{HO_CAVEAT}")
    out["ho_text"], out["ho_short"] = ho_text(rows, s.get("higher_order_sobolev"))
    dino = [r for r in rows if r.study == "dino" and r.gain is not None]
    out["dino_gain"] = _range(r.gain for r in dino)
    out["dino_at"] = _sizes_text(r.n for r in dino)
    # at the smallest N the losses share (their largest, where they share one N only)
    out["dino_small"] = _range(r.gain if r.gain_small is None else r.gain_small for r in dino)
    out["dino_small_at"] = _sizes_text(r.n if r.n_small is None else r.n_small for r in dino)
    out["dino_cost"] = people(_median(r.data_cost for r in dino if r.data_cost_kind == "measured"))
    out["dino_epoch"] = people(_median(r.epoch_cost for r in dino))
    out["dino_text"], out["dino_short"], parts = dino_text(s.get("dino"), claims)
    out.update(parts)
    g = _row(rows, "gradinn", "GradINN", 0)
    out["gradinn_gain"] = people(g.gain if g else None)
    out["gradinn_at"] = _sizes_text([g.n] if g else [])
    out["gradinn_small"] = people((g.gain if g.gain_small is None else g.gain_small) if g else None)
    out["gradinn_small_at"] = _sizes_text([g.n_small] if g else [])
    out["gradinn_verdict"] = gradinn_verdict(g, s.get("gradinn"))
    out["gradinn_text"], out["gradinn_short"] = gradinn_text(g, s.get("gradinn"))
    samples = [r for r in rows if r.gain_kind == "samples" and r.pays() is not None
               and not r.comparison_only]
    out["n_rows"] = str(len(rows))
    out["n_placed"] = str(len(placed(rows)))
    out["n_samples_rows"] = str(len(samples))
    out["n_samples_pay"] = str(sum(1 for r in samples if r.pays() == "pays"))
    out["figure_note"] = figure_note(rows)
    out["figure_text"] = figure_text(rows, s)
    return out


def figure_note(rows: Sequence[CostBenefit]) -> str:
    """One sentence on the panels of the figure: which are drawn, and why one is not."""
    got = placeable(rows)
    kinds = panels(rows)
    left = [k for k in PANELS if k not in kinds]
    if not left:
        return "Both panels are drawn."
    words = {"samples": "effort to an accuracy target", "error": "error at equal training size"}
    n = {k: sum(1 for r in got if r.gain_kind == k) for k in left}
    text = " and ".join(
        f"the panel of the {words[k]} is not drawn, since it would hold "
        + ("no point" if n[k] == 0 else "one point" if n[k] == 1 else f"{n[k]} points")
        for k in left)
    return text[0].upper() + text[1:] + " (the list below names the rows it would hold)."


def _names_by_data(rows: Sequence[CostBenefit]) -> str:
    """``"the gradient for the Gaussian process and the neural network"``: what a group of
    points is, by derivative data, then model family (the FE arm left out: one arm is placed)."""
    by: dict[str, list[str]] = {}
    for r in rows:
        model = r.model.split(",")[0]
        if model not in by.setdefault(r.data, []):
            by[r.data].append(model)
    return "; ".join(f"the {data.replace(', ', ' and ')} for the " + " and the ".join(models)
                     for data, models in by.items())


def _chapter_gains(s: Summaries | None, rows: Sequence[CostBenefit]) -> str:
    """``"DINO's losses 1.6–2.1× at N = 4096, GradINN 1.4× at N = 200"``."""
    out = []
    for study in dict.fromkeys(r.study for r in rows):
        mine = [r for r in rows if r.study == study]
        name = s.chapter(study).short if s is not None else study
        who = f"{name}'s losses" if study == "dino" and len(mine) > 1 else name
        if len({r.n for r in mine}) > 1:  # read at different N: each with its own, and its model
            out.append(f"{who} " + " and ".join(
                f"{people(r.gain)}× at N = {r.n}" + (f" ({r.model})" if r.model != name else "")
                for r in mine))
        else:
            out.append(f"{who} {_range(r.gain for r in mine)}× at {_sizes_text(r.n for r in mine)}")
    return ", ".join(out[:-1]) + (" and " if len(out) > 1 else "") + out[-1] if out else ""


def figure_text(rows: Sequence[CostBenefit], s: Summaries | None = None) -> str:
    """Two or three sentences that read the figure: per panel, which points lie above, on or
    below its line, with their gains and prices, and what the figure leaves out (the training
    time per epoch); the note on a panel not drawn (:func:`figure_note`) where there is one."""
    shown = placed(rows)
    out = []
    pts = [r for r in shown if r.gain_kind == "samples"]
    letter = {"samples": "(a)", "error": "(b)"} if len(panels(rows)) > 1 else {}
    if pts:
        groups = {v: [r for r in pts if compare_to_cost(r.gain, r.data_cost) == v]
                  for v in ("pays", "breaks even", "does not pay")}
        where = {"pays": "above the break-even line", "breaks even": "on it, within the band",
                 "does not pay": "below it"}
        parts = [f"{len(g)} {'lies' if len(g) == 1 else 'lie'} {where[v]} "
                 f"({_names_by_data(g)}: {_range(r.gain for r in g)} value samples for a price "
                 f"of {_range(r.data_cost for r in g)})" for v, g in groups.items() if g]
        head = (f"In panel {letter['samples']}, of the {len(pts)} points, " if letter
                else f"Of the {len(pts)} points, ")
        out.append(head + "; ".join(parts) + ".")
    pts = [r for r in shown if r.gain_kind == "error"]
    if pts:
        above = [r for r in pts if r.gain > BREAK_EVEN_BAND]
        on = [r for r in pts if 1 / BREAK_EVEN_BAND <= r.gain <= BREAK_EVEN_BAND]
        below = [r for r in pts if r.gain < 1 / BREAK_EVEN_BAND]
        head = f"In panel {letter['error']}, " if letter else "In the panel of error ratios, "
        parts = []
        if above:
            parts.append(("every point lies" if len(above) == len(pts) else
                          f"{len(above)} of {len(pts)} points lie") + " above the no-gain line: "
                         + _chapter_gains(s, above))
        if on:
            parts.append(f"{len(on)} on it: " + _chapter_gains(s, on))
        if below:
            parts.append(f"{len(below)} below it: " + _chapter_gains(s, below))
        out.append(head + "; ".join(parts) + ".")
        timed = [r for r in pts if r.epoch_cost is not None]
        untimed = list(dict.fromkeys(
            (s.chapter(r.study).short if s is not None else r.study) for r in pts if r.epoch_cost is None))
        if timed or untimed:
            said = []
            if timed:
                studies = list(dict.fromkeys(r.study for r in timed))
                said.append(" and ".join(f"{_range(r.epoch_cost for r in timed if r.study == st)} "
                                         f"times value training's for "
                                         + (s.chapter(st).short if s is not None else st)
                                         for st in studies))
            if untimed:
                said.append("not recorded for " + " and ".join(untimed))
            out.append("Neither panel shows the training time per epoch, which is "
                       + " and ".join(said) + ".")
    note = figure_note(rows)
    if panels(rows) != list(PANELS):
        out.append(note)
    return " ".join(out) if out else note


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

