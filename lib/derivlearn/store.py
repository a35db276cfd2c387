"""The results store: one JSON line per run, keyed by a stable hash of the run's config.

Layout: ``<root>/<study>/records.jsonl``. A record is a plain JSON object::

    {"key": "3f2a…", "study": "theory", "config": {...}, "result_version": 1,
     "status": "ok" | "failed", "reason": null | "…", "metrics": {...}, "wall_time_s": 0.12,
     "cpu_time_s": 0.11,
     "version": {"derivlearn": "0.1.0", "git": "abc1234", "torch": "2.13.0"},
     "env": {"device": "cpu", "host": "…"}, "created": "2026-11-22T10:00:00+00:00"}

Guarantees:

* **Atomic appends.** Each record is written by a single ``write`` of one complete line under
  an exclusive ``flock``. If a process is killed in the middle of a write anyway, the torn
  tail (bytes after the last newline) is cut off the next time the store is opened for
  writing, and skipped with a warning when read; it can never corrupt later lines.
* **Last record wins.** A key written twice (``recompute=True``) resolves to its latest record;
  :meth:`ResultStore.compact` rewrites the file with one line per key (atomic rename).
* **Validated on read.** A line that is not JSON (or not UTF-8) is an error naming the file
  and line. A JSON line that is not a valid record (``status`` not ``ok``/``failed``, an ``ok``
  record without ``metrics``, a key that is not the hash of its config and result version) is
  skipped with a warning naming the file and line, so its run counts as missing and is
  recomputed.
* **Keys follow the code.** A key hashes the run config *and* the study's result version
  (:func:`config_key`), a small integer each study declares and bumps when a code change alters
  results; records of an older version are then never served for the current code.
* **No code execution on load.** Records are JSON; nothing is unpickled.

Where stores live: :func:`default_root` (committed ``results/`` for ``book`` and ``full``,
a git-ignored cache for ``smoke``; ``DERIVLEARN_RESULTS`` overrides both).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import functools
import hashlib
import json
import math
import os
import socket
import subprocess
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

RECORD_FILE = "records.jsonl"
STATUSES = ("ok", "failed")

VersionSpec = int | Callable[[Mapping[str, Any]], int]
"""A study's result version: one integer, or a function ``run config -> version`` for studies
whose methods are versioned separately (see :meth:`derivlearn.params.StudyConfig.version_of`)."""


def version_of(version: VersionSpec, config: Mapping[str, Any]) -> int:
    """The result version of one run config."""
    return version(config) if callable(version) else version


# ----------------------------------------------------------------------------- locations
@functools.cache
def repo_root() -> Path | None:
    """The checkout this package was installed from (editable install), else ``None``."""
    here = Path(__file__).resolve().parents[2]
    if (here / "pyproject.toml").is_file() and (here / "lib" / "derivlearn").is_dir():
        return here
    return None


def env_path(name: str) -> Path | None:
    """The folder named by environment variable ``name``, or ``None`` when it is unset or empty.

    A relative value is resolved against the repository root (:func:`repo_root`), so that the
    command line (run from the root) and the notebooks (run with the working directory
    ``notebooks/``) use the same folder. Without a repository (a plain ``pip install``) it is
    resolved against the current working directory. ``~`` is expanded.
    """
    value = os.environ.get(name)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = (repo_root() or Path.cwd()) / path
    return path


def cache_dir() -> Path:
    """Git-ignored scratch space: ``$DERIVLEARN_CACHE``, else ``<repo>/.cache``, else ``~/.cache``.

    A relative ``$DERIVLEARN_CACHE`` is relative to the repository root, or, without one (a
    plain ``pip install``), to the current working directory (see :func:`env_path`).
    """
    env = env_path("DERIVLEARN_CACHE")
    if env is not None:
        return env
    root = repo_root()
    return (root / ".cache") if root else Path.home() / ".cache" / "derivlearn"


def default_root(profile: str) -> Path:
    """Store root for a profile.

    ``$DERIVLEARN_RESULTS`` wins; a relative value is relative to the repository root, so the
    command line and the notebooks (which run in ``notebooks/``) share one store, or, without a
    repository (a plain ``pip install``), to the current working directory (see
    :func:`env_path`). Otherwise ``book`` and ``full`` records go to the committed
    ``<repo>/results`` (their configs differ, so their keys never collide), and ``smoke``
    records to ``<cache>/results-smoke``, which is never committed.
    """
    env = env_path("DERIVLEARN_RESULTS")
    if env is not None:
        return env
    if profile == "smoke":
        return cache_dir() / "results-smoke"
    root = repo_root()
    return (root / "results") if root else Path.cwd() / "results"


# ----------------------------------------------------------------------------- hashing
def to_jsonable(obj: Any) -> Any:
    """Convert numpy/torch scalars and arrays, tuples and paths to plain JSON values.

    Non-finite floats become ``None`` (JSON has no NaN); the failure that produced them is
    expected to be recorded in the record's status.
    """
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "detach") and hasattr(obj, "cpu"):  # torch.Tensor, without importing torch
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot store value of type {type(obj).__name__} in a JSON record: {obj!r}")


def canonical_json(obj: Any) -> str:
    """Deterministic JSON text: sorted keys, no whitespace, floats as Python's shortest repr."""
    return json.dumps(to_jsonable(obj), sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_key(config: Mapping[str, Any], version: int | None = None) -> str:
    """Stable 16-hex-digit key: SHA-256 of the canonical JSON of a config.

    Args:
        config: the run config (or a cache's spec).
        version: the study's result version. Run records always give one, so that records of
            an older version of the code get other keys; ``None`` hashes the config alone
            (caches keyed by their data spec, and records written before versions existed).
    """
    body = config if version is None else {"config": config, "result_version": version}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()[:16]


def check_version(version: Any) -> int:
    """Validate a result version: an integer >= 1."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"parameter 'version': got {version!r}; allowed: an integer >= 1")
    return version


def record_problem(rec: Any) -> str | None:
    """Why a parsed store line is not a valid record, or ``None`` when it is one."""
    if not isinstance(rec, dict) or not isinstance(rec.get("key"), str):
        return "not a record (no 'key')"
    if not isinstance(rec.get("config"), dict):
        return "no 'config' object"
    if rec.get("status") not in STATUSES:
        return f"'status' is {rec.get('status')!r}; allowed: one of {STATUSES}"
    if rec["status"] == "ok" and not isinstance(rec.get("metrics"), dict):
        return "an 'ok' record without a 'metrics' object"
    if rec["status"] == "ok" and all(v is None for v in rec["metrics"].values()):
        return "an 'ok' record without a single metric value"  # execute() never writes one
    if rec["status"] == "failed" and not isinstance(rec.get("reason"), str):
        return "a 'failed' record without a 'reason'"
    version = rec.get("result_version")
    if version is not None:
        try:
            check_version(version)
        except ValueError:
            return f"'result_version' is {version!r}; allowed: an integer >= 1"
    try:
        expected = config_key(rec["config"], version)
    except (TypeError, ValueError) as exc:
        return f"config cannot be hashed ({exc})"
    if rec["key"] != expected:
        return f"key {rec['key']!r} is not the hash of its config and version ({expected!r})"
    return None


# ----------------------------------------------------------------------------- provenance
@functools.cache
def version_info() -> dict[str, str | None]:
    """Library, git and torch versions, recorded with every run."""
    from derivlearn import __version__

    git = None
    root = repo_root()
    if root is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
                capture_output=True, text=True, timeout=10, check=False,
            )
            if out.returncode == 0:
                git = out.stdout.strip()
                dirty = subprocess.run(
                    ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no",
                     "--", "lib"],
                    capture_output=True, text=True, timeout=10, check=False,
                )
                if dirty.returncode == 0 and dirty.stdout.strip():
                    git += "+dirty"
    try:
        import torch

        torch_version: str | None = torch.__version__
    except ImportError:  # pragma: no cover
        torch_version = None
    return {"derivlearn": __version__, "git": git, "torch": torch_version}


def make_record(
    config: Mapping[str, Any],
    *,
    status: str,
    version: int = 1,
    metrics: Mapping[str, Any] | None = None,
    reason: str | None = None,
    wall_time_s: float | None = None,
    env: Mapping[str, Any] | None = None,
    cpu_time_s: float | None = None,
) -> dict[str, Any]:
    """Assemble a record (validated; JSON-ready). ``version`` is the study's result version.

    ``wall_time_s`` is the run's elapsed time; ``cpu_time_s`` the CPU time of its process over
    the run (all threads; ``time.process_time``), which does not grow when other processes
    share the cores. Records written before this field existed have no ``cpu_time_s``."""
    check_version(version)
    if status not in STATUSES:
        raise ValueError(f"parameter 'status': got {status!r}; allowed: one of {STATUSES}")
    if status == "failed" and not reason:
        raise ValueError("a failed record needs a reason")
    config = to_jsonable(config)
    return {
        "key": config_key(config, version),
        "study": config.get("study"),
        "config": config,
        "result_version": version,
        "status": status,
        "reason": reason,
        "metrics": to_jsonable(dict(metrics or {})),
        "wall_time_s": wall_time_s,
        "cpu_time_s": cpu_time_s,
        "version": version_info(),
        "env": to_jsonable(dict(env or {})) | {"host": socket.gethostname()},
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


# ----------------------------------------------------------------------------- the store
def _decode(path: Path, lineno: int, line: bytes) -> Any:
    """Parse one store line; any decoding error (bad JSON, not UTF-8) names the file and line."""
    try:
        return json.loads(line)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise ValueError(f"{path}:{lineno}: corrupt record ({exc}); delete or repair this line "
                         "and its run is recomputed") from exc


class ResultStore:
    """Append-only JSON Lines store of one study's runs.

    Args:
        root: store root directory (see :func:`default_root`).
        study: study name; records live in ``root/study/records.jsonl``.
    """

    def __init__(self, root: str | os.PathLike[str], study: str) -> None:
        if not study or "/" in study or study.startswith("."):
            raise ValueError(f"parameter 'study': got {study!r}; allowed: a plain directory name")
        self.root = Path(root)
        self.study = study
        self.dir = self.root / study
        self.path = self.dir / RECORD_FILE
        self._index: dict[str, dict[str, Any]] | None = None
        self._mtime: tuple[int, int] | None = None

    def __repr__(self) -> str:
        return f"ResultStore({str(self.root)!r}, {self.study!r})"

    # -- reading ------------------------------------------------------------------------
    def _read_lines(self) -> Iterator[dict[str, Any]]:
        """Valid records in file order. Undecodable lines raise, invalid records are skipped."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        tail = lines.pop()  # bytes after the last newline: empty unless a write was torn
        if tail.strip():
            warnings.warn(
                f"{self.path}: skipping an incomplete last line ({len(tail)} bytes) left by an "
                "interrupted write", RuntimeWarning, stacklevel=3,
            )
        for i, line in enumerate(lines, 1):
            if not line.strip():
                continue
            rec = _decode(self.path, i, line)
            problem = record_problem(rec)
            if problem is not None:
                warnings.warn(f"{self.path}:{i}: skipping an invalid record ({problem}); its run "
                              "counts as missing and is recomputed", RuntimeWarning, stacklevel=3)
                continue
            yield rec

    def _load(self) -> dict[str, dict[str, Any]]:
        stamp = None
        if self.path.exists():
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        if self._index is None or stamp != self._mtime:
            index: dict[str, dict[str, Any]] = {}
            for rec in self._read_lines():
                index[rec["key"]] = rec
            self._index, self._mtime = index, stamp
        return self._index

    def records(self) -> list[dict[str, Any]]:
        """All current records (latest per key), in file order."""
        return list(self._load().values())

    def get(self, key: str) -> dict[str, Any] | None:
        return self._load().get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._load()

    def __len__(self) -> int:
        return len(self._load())

    def lookup(self, configs: Iterable[Mapping[str, Any]],
               version: VersionSpec = 1) -> list[dict[str, Any] | None]:
        """Records for exactly these configs at this result version (``None`` where missing).

        Args:
            configs: run configs.
            version: the study's result version, or a function ``config -> version``.
        """
        index = self._load()
        return [index.get(config_key(c, version_of(version, c))) for c in configs]

    def frame(self, configs: Iterable[Mapping[str, Any]] | None = None, version: VersionSpec = 1):
        """A pandas DataFrame with one row per record: config and metrics flattened.

        Args:
            configs: restrict to these run configs (the notebook's own plan); default all.
            version: the result version of ``configs`` (see :meth:`lookup`).
        """
        recs = self.records() if configs is None else [r for r in self.lookup(configs, version) if r]
        return records_frame(recs)

    def check_writable(self) -> None:
        """Raise a clear error now, before any run is computed, if records cannot be written."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            with open(self.dir / ".lock", "a"), open(self.path, "ab"):
                pass
        except OSError as exc:
            raise OSError(exc.errno, f"results store {self.dir} is not writable ({exc.strerror}); "
                          "set DERIVLEARN_RESULTS to a writable folder", str(exc.filename)) from exc

    def migrate(self, version: VersionSpec) -> int:
        """Re-key the records written before result versions existed to ``version``.

        Use it only for records that the current code reproduces (the reproduction test in
        ``tests/test_reproduce.py`` checks a sample of every chapter). Returns the number of
        records re-keyed; the file is rewritten atomically, one line per key.
        """
        with self._locked():
            self._repair_tail()
            if not self.path.exists():
                return 0
            lines = [ln for ln in self.path.read_bytes().split(b"\n") if ln.strip()]
            migrated, kept = [], []
            for i, ln in enumerate(lines, 1):
                rec = _decode(self.path, i, ln)
                if isinstance(rec, dict) and "result_version" not in rec \
                        and record_problem(rec) is None:
                    v = check_version(version_of(version, rec["config"]))
                    rec["result_version"] = v
                    rec["key"] = config_key(rec["config"], v)
                    migrated.append(json.dumps(rec, sort_keys=True, allow_nan=False).encode())
                else:
                    kept.append(ln)
            # migrated lines first: a record that the current code wrote for the same run (a
            # sweep that kept appending during the upgrade) comes later, so it wins
            self._rewrite(migrated + kept)
        return len(migrated)

    def _rewrite(self, lines: list[bytes]) -> None:
        """Replace the file by these lines (temporary file, fsync, rename); under the lock."""
        tmp = self.path.with_suffix(".jsonl.tmp")
        with open(tmp, "wb") as fh:
            fh.write(b"".join(ln + b"\n" for ln in lines))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        self._index = None



    # -- writing ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _repair_tail(self) -> None:
        """Cut bytes after the last newline (a torn write); call under the lock."""
        if not self.path.exists():
            return
        with open(self.path, "rb+") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size == 0:
                return
            fh.seek(size - 1)
            if fh.read(1) == b"\n":
                return
            # find the last newline
            pos, chunk = size, 4096
            while pos > 0:
                start = max(0, pos - chunk)
                fh.seek(start)
                buf = fh.read(pos - start)
                nl = buf.rfind(b"\n")
                if nl >= 0:
                    cut = start + nl + 1
                    break
                pos = start
            else:
                cut = 0
            warnings.warn(f"{self.path}: removed {size - cut} bytes of a torn write",
                          RuntimeWarning, stacklevel=4)
            fh.truncate(cut)

    def append(self, record: Mapping[str, Any]) -> None:
        """Append one record atomically (single ``write`` of one line, fsync'd, under a lock)."""
        problem = record_problem(record)
        if problem is not None:
            raise ValueError(f"parameter 'record': {problem} (use make_record)")
        line = (json.dumps(to_jsonable(record), sort_keys=True, allow_nan=False) + "\n").encode()
        with self._locked():
            self._repair_tail()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                view = memoryview(line)
                while view:  # a short write on a regular file is rare; finish it
                    n = os.write(fd, view)
                    view = view[n:]
                os.fsync(fd)
            finally:
                os.close(fd)

    def compact(self, keep: Iterable[Mapping[str, Any]] | None = None,
                version: VersionSpec = 1) -> int:
        """Rewrite the file with one line per key (latest wins), atomically. Returns lines dropped.

        Args:
            keep: if given, also drop the records of every config not in this list at this
                ``version`` (records left behind when a study changed its settings or its code).
            version: the result version of ``keep``.
        """
        wanted = None if keep is None else {config_key(c, version_of(version, c)) for c in keep}
        with self._locked():
            self._repair_tail()
            if not self.path.exists():
                return 0
            raw = [ln for ln in self.path.read_bytes().split(b"\n") if ln.strip()]
            latest: dict[str, bytes] = {}
            for i, ln in enumerate(raw, 1):
                rec = _decode(self.path, i, ln)
                problem = record_problem(rec)
                if problem is not None:
                    warnings.warn(f"{self.path}:{i}: dropping an invalid record ({problem})",
                                  RuntimeWarning, stacklevel=3)
                    continue
                key = rec["key"]
                latest.pop(key, None)  # keep the latest line, at its latest position
                if wanted is None or key in wanted:
                    latest[key] = ln
            self._rewrite(list(latest.values()))
            return len(raw) - len(latest)

    def stale(self, keep: Iterable[Mapping[str, Any]], version: VersionSpec = 1) -> list[dict[str, Any]]:
        """The records :meth:`compact` with this ``keep`` would drop (a dry run for pruning)."""
        wanted = {config_key(c, version_of(version, c)) for c in keep}
        return [r for r in self.records() if r["key"] not in wanted]

    # -- summaries ----------------------------------------------------------------------
    def summary_path(self, profile: str) -> Path:
        """``summary.json`` for the book profile, ``summary.<profile>.json`` otherwise."""
        return self.dir / ("summary.json" if profile == "book" else f"summary.{profile}.json")

    def write_summary(self, summary: Mapping[str, Any], profile: str) -> Path:
        """Write the study's headline numbers (pretty JSON, atomic replace).

        If the file already holds the same numbers, it is left untouched, so its ``version``
        names the code that last changed them and re-building the book leaves git clean; except
        where that version is a tree with uncommitted library changes (``+dirty``) and this one is
        a clean commit, which then reproduces the numbers and is the better record of them.
        """
        path = self.summary_path(profile)
        self.dir.mkdir(parents=True, exist_ok=True)
        body = {"study": self.study, "profile": profile, "version": version_info()}
        body.update(to_jsonable(dict(summary)))
        if path.exists():
            with contextlib.suppress(ValueError):
                old = json.loads(path.read_text())
                was = str((old.get("version") or {}).get("git") or "")
                now = str(body["version"].get("git") or "")
                cleaner = was.endswith("+dirty") and bool(now) and not now.endswith("+dirty")
                if {k: v for k, v in old.items() if k != "version"} == \
                        {k: v for k, v in body.items() if k != "version"} and not cleaner:
                    return path
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body, indent=2, sort_keys=False, allow_nan=False) + "\n")
        os.replace(tmp, path)
        return path



def records_frame(recs: Iterable[Mapping[str, Any]]):
    """A pandas DataFrame with one row per record: config and metrics flattened, and ``ran_on``:
    ``"gpu"`` for a record made with CUDA (``env.device``), ``"cpu"`` otherwise."""
    import pandas as pd

    rows = []
    for r in recs:
        dev = str((r.get("env") or {}).get("device", "cpu"))
        row = {"key": r["key"], "status": r["status"], "reason": r.get("reason"),
               "wall_time_s": r.get("wall_time_s"), "cpu_time_s": r.get("cpu_time_s"),
               "ran_on": "gpu" if dev.startswith("cuda") else "cpu"}
        row.update({k: v for k, v in r["config"].items()})
        row.update({k: v for k, v in r.get("metrics", {}).items()})
        rows.append(row)
    return pd.DataFrame(rows)


def open_store(study: str, profile: str, root: str | os.PathLike[str] | None = None) -> ResultStore:
    """The store a study writes to under ``profile`` (see :func:`default_root`)."""
    return ResultStore(Path(root) if root is not None else default_root(profile), study)
