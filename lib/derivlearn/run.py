"""Run a chapter's sweep without its notebook: for long `book` or `full` sweeps in the background.

The records land in the same results store the notebook reads, so a sweep started here, stopped
and restarted any number of times, lets ``make book`` render the chapter without recomputing.

Usage::

    python -m derivlearn.run fe_scaling --profile book
    python -m derivlearn.run fe_scaling --profile book --set problems='[rosenbrock]' --set seeds=3
    nohup python -m derivlearn.run fe_scaling --profile book > sweep.log 2>&1 &
    python -m derivlearn.run higher_order --set device=cuda --processes 12 --deadline 500
    python -m derivlearn.run theory --prune          # show what would be dropped
    python -m derivlearn.run theory --prune --yes    # drop it

``--set key=value`` takes the notebook's parameter names; values are YAML (lists as
``[a, b]``). A study module ``derivlearn.studies.<name>`` exposes ``CONFIG`` (its
:class:`~derivlearn.params.StudyConfig`), ``RUN`` (the run function) and ``run_configs``.

Exit codes (see :data:`EXIT_CODES`): 0 every run recorded and none failed; 1 some runs
failed (recorded as ``failed``); 2 bad arguments or parameters, a store that cannot be written
or a scheduler that does not answer (one line ``error: ...`` on stderr); 3 stopped at
``--deadline`` with runs left (run the same command again); 4 runs lost to infrastructure
errors (a damaged cache, a lost Dask worker or scheduler; not recorded, run again).
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from typing import Any

import yaml

import derivlearn.studies
from derivlearn.sweep import RunsLeft, run_study

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_DEADLINE, EXIT_RUNS_LOST = 0, 1, 2, 3, 4
EXIT_CODES = {
    EXIT_OK: "every run is recorded and none failed",
    EXIT_FAILED: "some runs failed (recorded as 'failed'; --set retry_failed=true reruns them)",
    EXIT_USAGE: "bad arguments or parameters, a results store that cannot be written or a Dask "
                "scheduler that does not answer (one line 'error: ...' on stderr)",
    EXIT_DEADLINE: "stopped at --deadline with runs left; run the same command again",
    EXIT_RUNS_LOST: "runs lost to infrastructure errors (damaged cache, lost Dask worker or "
                    "scheduler); they are not recorded; run the same command again",
}
"""Exit status of ``python -m derivlearn.run`` -> meaning."""

PRUNE_EXAMPLES = 3
"""How many of the configs that ``--prune`` would drop are shown."""


def studies() -> list[str]:
    """Names of the study modules that can be run."""
    out = []
    for info in pkgutil.iter_modules(derivlearn.studies.__path__):
        mod = importlib.import_module(f"derivlearn.studies.{info.name}")
        if all(hasattr(mod, a) for a in ("CONFIG", "RUN", "run_configs")):
            out.append(info.name)
    return sorted(out)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A one-line description of a YAML error (its problem and column, without the echo)."""
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if problem is None:
        return " ".join(str(exc).split())
    return problem + (f" (column {mark.column + 1})" if mark is not None else "")


def _parse_set(items: list[str]) -> dict[str, Any]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"parameter '--set': expected key=value, got {item!r}")
        try:
            val = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ValueError(f"parameter '--set {key}': cannot read {value!r} as YAML: "
                             f"{_yaml_problem(exc)}") from exc
        out[key] = tuple(val) if isinstance(val, list) else val
    return out


def _parser() -> argparse.ArgumentParser:
    codes = "\n".join(f"  {code}  {meaning}" for code, meaning in EXIT_CODES.items())
    ap = argparse.ArgumentParser(prog="python -m derivlearn.run",
                                 description=__doc__.split("\n")[0],
                                 epilog=f"exit status:\n{codes}",
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("study", help="chapter name, e.g. fe_scaling")
    ap.add_argument("--profile", default="book")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a parameter (YAML value); repeatable")
    ap.add_argument("--processes", type=int, default=None, metavar="N",
                    help="run in N >= 1 local processes instead of the study's scheduler "
                         "(several processes can share one GPU; see derivlearn.pool)")
    ap.add_argument("--deadline", type=float, default=None, metavar="SECONDS",
                    help="with --processes: stop after this many seconds (runs in flight are "
                         f"rerun later); exit status {EXIT_DEADLINE} when runs are left")
    ap.add_argument("--threads", type=int, default=None,
                    help="with --processes: torch threads per process (default: CPUs / processes)")
    ap.add_argument("--prune", action="store_true",
                    help="instead of running, show the stored records of configs this sweep no "
                         "longer has (its --set values apply); drops them only with --yes")
    ap.add_argument("--yes", action="store_true", help="with --prune: really drop the records")
    ap.add_argument("--migrate", action="store_true",
                    help="instead of running, give the records written before result versions "
                         "existed the study's current version (only for records the current code "
                         "reproduces; see tests/test_reproduce.py)")
    return ap


def _prune(store, keep, version, yes: bool) -> int:
    stale = store.stale(keep, version)
    if not yes:
        print(f"{store}: --prune would drop {len(stale)} record(s) of configs this sweep no longer "
              f"has; {len(store) - len(stale)} kept", flush=True)
        for rec in stale[:PRUNE_EXAMPLES]:
            print(f"  e.g. {json.dumps(rec['config'], sort_keys=True)}", flush=True)
        if stale:
            print("run the same command with --yes to drop them", flush=True)
        return EXIT_OK
    dropped = store.compact(keep=keep, version=version)
    print(f"{store}: dropped {dropped} line(s); {len(store)} records kept", flush=True)
    return EXIT_OK


def run_cli(argv: list[str] | None = None) -> int:
    """The command line, raising its errors (:func:`main` turns them into one line and a code)."""
    args = _parser().parse_args(argv)
    names = studies()
    stores = {importlib.import_module(f"derivlearn.studies.{n}").CONFIG.study: n for n in names}
    if args.study not in names and args.study in stores:   # the store's name of the study
        args.study = stores[args.study]                     # (its results folder) works too
    if args.study not in names:
        raise ValueError(f"parameter 'study': got {args.study!r}; allowed: {names}")
    if args.yes and not args.prune:
        raise ValueError("parameter '--yes': needs --prune")
    if args.processes is not None and args.processes < 1:  # 0 is not "no pool": refuse it
        raise ValueError(f"parameter '--processes': must be an integer >= 1, got {args.processes}")
    if args.processes is None:
        for name in ("deadline", "threads"):
            if getattr(args, name) is not None:
                raise ValueError(f"parameter '--{name}': needs --processes")
    mod = importlib.import_module(f"derivlearn.studies.{args.study}")
    overrides = _parse_set(args.set)
    unknown = sorted(set(overrides) - set(mod.CONFIG.knobs()))
    if unknown:
        raise ValueError(f"parameter '--set': unknown parameter(s) {unknown}; allowed: "
                         f"{sorted(mod.CONFIG.knobs())}")
    cfg = mod.CONFIG.from_profile(args.profile, **overrides)
    if args.prune or args.migrate:
        from derivlearn.store import open_store

        store = open_store(cfg.study, cfg.profile)
        if args.prune:
            return _prune(store, mod.run_configs(cfg), cfg.version_of, args.yes)
        moved = store.migrate(cfg.version_of)
        print(f"{store}: gave {moved} record(s) their result version", flush=True)
        own = getattr(mod, "migrate_records", None)   # a study's own key migration
        if own is not None:
            import inspect

            takes_cfg = "cfg" in inspect.signature(own).parameters  # one that reads the plan
            print(f"{store}: {own(store.path, cfg) if takes_cfg else own(store.path)}", flush=True)
        return EXIT_OK
    print(cfg.describe(), flush=True)
    if args.processes is not None:
        from derivlearn.pool import run_pool
        from derivlearn.store import open_store

        out = run_pool(mod.RUN, mod.run_configs(cfg), open_store(cfg.study, cfg.profile),
                       args.processes, cfg.device, args.deadline, args.threads,
                       version=cfg.version_of)
        print(out, flush=True)
        if out["left"]:
            print(f"stopped at the deadline with {out['left']} run(s) left; run the same command "
                  "again to continue", flush=True)
            return EXIT_DEADLINE
        return EXIT_OK if out["failed"] == 0 else EXIT_FAILED
    report = run_study(cfg, mod.RUN, mod.run_configs(cfg))
    print(report, flush=True)
    return EXIT_OK if report.n_failed == 0 else EXIT_FAILED


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """``python -m derivlearn.run``: :func:`run_cli`, with errors as one line on stderr.

    Returns the exit status (:data:`EXIT_CODES`): parameter, file-system and connection errors
    give ``error: <message>`` and 2, runs lost to infrastructure errors (``RunsLeft``) 4.
    """
    try:
        return run_cli(argv)
    except RunsLeft as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr, flush=True)
        return EXIT_RUNS_LOST
    except (ValueError, OSError, yaml.YAMLError) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr, flush=True)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
