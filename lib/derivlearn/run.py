"""Run a chapter's sweep without its notebook: for long `book` or `full` sweeps in the background.

The records land in the same results store the notebook reads, so a sweep started here, stopped
and restarted any number of times, lets ``make book`` render the chapter without recomputing.

Usage::

    python -m derivlearn.run fe_scaling --profile book
    python -m derivlearn.run fe_scaling --profile book --set problems='[rosenbrock]' --set seeds=3
    nohup python -m derivlearn.run fe_scaling --profile book > sweep.log 2>&1 &
    python -m derivlearn.run higher_order --set device=cuda --processes 12 --deadline 500

``--set key=value`` takes the notebook's parameter names; values are YAML (lists as
``[a, b]``). A study module ``derivlearn.studies.<name>`` exposes ``CONFIG`` (its
:class:`~derivlearn.params.StudyConfig`), ``RUN`` (the run function) and ``run_configs``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import Any

import yaml

import derivlearn.studies
from derivlearn.sweep import run_study


def studies() -> list[str]:
    """Names of the study modules that can be run."""
    out = []
    for info in pkgutil.iter_modules(derivlearn.studies.__path__):
        mod = importlib.import_module(f"derivlearn.studies.{info.name}")
        if all(hasattr(mod, a) for a in ("CONFIG", "RUN", "run_configs")):
            out.append(info.name)
    return sorted(out)


def _parse_set(items: list[str]) -> dict[str, Any]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"parameter '--set': expected key=value, got {item!r}")
        val = yaml.safe_load(value)
        out[key.strip()] = tuple(val) if isinstance(val, list) else val
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m derivlearn.run", description=__doc__.split("\n")[0])
    ap.add_argument("study", help="chapter name, e.g. fe_scaling")
    ap.add_argument("--profile", default="book")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a parameter (YAML value); repeatable")
    ap.add_argument("--processes", type=int, default=0,
                    help="run in this many local processes instead of the study's scheduler "
                         "(several processes can share one GPU; see derivlearn.pool)")
    ap.add_argument("--deadline", type=float, default=None,
                    help="with --processes: stop after this many seconds (runs in flight are rerun later)")
    ap.add_argument("--threads", type=int, default=None,
                    help="with --processes: torch threads per process (default: CPUs / processes)")
    ap.add_argument("--prune", action="store_true",
                    help="instead of running, drop stored records of configs this sweep no longer has")
    ap.add_argument("--migrate", action="store_true",
                    help="instead of running, give the records written before result versions "
                         "existed the study's current version (only for records the current code "
                         "reproduces; see tests/test_reproduce.py)")
    args = ap.parse_args(argv)
    names = studies()
    if args.study not in names:
        raise ValueError(f"parameter 'study': got {args.study!r}; allowed: {names}")
    mod = importlib.import_module(f"derivlearn.studies.{args.study}")
    overrides = _parse_set(args.set)
    unknown = sorted(set(overrides) - set(mod.CONFIG.knobs()))
    if unknown:
        raise ValueError(f"parameter '--set': unknown parameter(s) {unknown}; allowed: "
                         f"{sorted(mod.CONFIG.knobs())}")
    cfg = mod.CONFIG.from_profile(args.profile, **overrides)
    if args.prune:
        from derivlearn.store import open_store

        store = open_store(cfg.study, cfg.profile)
        dropped = store.compact(keep=mod.run_configs(cfg), version=cfg.version_of)
        print(f"{store}: dropped {dropped} line(s); {len(store)} records kept", flush=True)
        return 0
    if args.migrate:
        from derivlearn.store import open_store

        store = open_store(cfg.study, cfg.profile)
        moved = store.migrate(cfg.version_of)
        print(f"{store}: gave {moved} record(s) their result version", flush=True)
        return 0
    print(cfg.describe(), flush=True)
    if args.processes:
        from derivlearn.pool import run_pool
        from derivlearn.store import open_store

        out = run_pool(mod.RUN, mod.run_configs(cfg), open_store(cfg.study, cfg.profile),
                       args.processes, cfg.device, args.deadline, args.threads,
                       version=cfg.version_of)
        print(out, flush=True)
        return 0 if out["failed"] == 0 else 1
    for name in ("deadline", "threads"):
        if getattr(args, name) is not None:
            raise ValueError(f"parameter '--{name}': needs --processes")
    report = run_study(cfg, mod.RUN, mod.run_configs(cfg))
    print(report, flush=True)
    return 0 if report.n_failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
