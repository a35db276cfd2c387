"""Reliability attacks that take too long for the test suite; prints PASS or FAIL per attack.

Run from the repository root: ``.venv/bin/python benchmarks/reliability_attacks.py [NAME ...]``
(all attacks when no name is given; about 3 minutes on 2 cores). Each attack drives the real
command line (``python -m derivlearn.run``) in a subprocess, with its own temporary results store
and cache, and audits the store afterwards: every line parses, every planned run is recorded
exactly once, nothing else is there. The attacks follow the reliability audit
(``/work/shared/audits/reliability.md``): kill -9 of a sweep (3.1), the deadline's exit status
(3.6), Dask workers and the scheduler killed mid-sweep (7.1-7.3), and a scheduler address where
an HTTP server or a silent listener answers (7.5).
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")

BIG = ["--set", "seeds=30", "--set", "dims=[4, 5, 6]", "--set", "degrees=[3, 4]",
       "--set", "orders=[0, 1, 2]"]  # 540 theory runs of about 13 ms
SLOW = ["--set", "seeds=8", "--set", "dims=[7]", "--set", "degrees=[4, 5]",
        "--set", "orders=[0, 1, 2, 3]"]  # 64 runs of about 0.3 s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Scratch:
    """A temporary store and cache, and the command line run against them."""

    def __init__(self, tmp: Path) -> None:
        self.store = tmp / "results"
        self.env = os.environ | {"DERIVLEARN_RESULTS": str(self.store),
                                 "DERIVLEARN_CACHE": str(tmp / "cache"),
                                 "DERIVLEARN_PROGRESS": "0", "OMP_NUM_THREADS": "1"}
        self.env.pop("DERIVLEARN_SCHEDULER", None)

    def argv(self, sets: list[str], *extra: str) -> list[str]:
        return [sys.executable, "-m", "derivlearn.run", "theory", "--profile", "smoke", *sets,
                *extra]

    def run(self, sets: list[str], *extra: str, env: dict | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(sets, *extra), cwd=ROOT, env=self.env | (env or {}),
                              capture_output=True, text=True, timeout=timeout, check=False)

    def start(self, sets: list[str], *extra: str, env: dict | None = None) -> subprocess.Popen:
        return subprocess.Popen(self.argv(sets, *extra), cwd=ROOT, env=self.env | (env or {}),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)

    def lines(self) -> int:
        path = self.store / "theory" / "records.jsonl"
        return len(path.read_bytes().splitlines()) if path.exists() else 0

    def audit(self, sets: list[str]) -> str | None:
        """None when every planned run is recorded exactly once, else what is wrong."""
        from derivlearn.run import _parse_set
        from derivlearn.store import config_key, record_problem
        from derivlearn.studies import theory

        cfg = theory.CONFIG.from_profile("smoke", **_parse_set(sets[1::2]))
        plan = {config_key(c, cfg.version_of(c)) for c in theory.run_configs(cfg)}
        raw = (self.store / "theory" / "records.jsonl").read_bytes()
        if raw and not raw.endswith(b"\n"):
            return "torn last line"
        recs = [json.loads(x) for x in raw.splitlines() if x.strip()]
        bad = [r for r in recs if record_problem(r)]
        keys = [r["key"] for r in recs]
        problems = {"invalid": len(bad), "duplicated": len(keys) - len(set(keys)),
                    "missing": len(plan - set(keys)), "extra": len(set(keys) - plan)}
        return None if not any(problems.values()) else str(problems)


def _wait_for_lines(s: Scratch, n: int, proc: subprocess.Popen, limit: float = 120) -> bool:
    t0 = time.monotonic()
    while s.lines() < n:
        if proc.poll() is not None or time.monotonic() - t0 > limit:
            return False
        time.sleep(0.05)
    return True


# ----------------------------------------------------------------------------- attacks
def kill9_resume(s: Scratch) -> str | None:
    """3.1: kill -9 an in-process sweep three times, then finish it: exactly once."""
    for i in range(3):
        proc = s.start(BIG, "--set", "scheduler=inprocess")
        if not _wait_for_lines(s, s.lines() + 40, proc):
            proc.kill()
            return f"kill {i}: the sweep ended or stalled before 40 new records ({proc.returncode})"
        time.sleep(0.1 * i)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    out = s.run(BIG, "--set", "scheduler=inprocess")
    if out.returncode != 0:
        return f"final run exited {out.returncode}: {out.stderr[-300:]}"
    return s.audit(BIG)


def deadline_exit_status(s: Scratch) -> str | None:
    """3.6: --deadline with runs left exits 3; the next call finishes and exits 0."""
    out = s.run(BIG, "--processes", "2", "--threads", "1", "--deadline", "3")
    if out.returncode != 3:
        return f"expected exit status 3 at the deadline, got {out.returncode}: {out.stderr[-300:]}"
    out = s.run(BIG, "--processes", "2", "--threads", "1")
    if out.returncode != 0:
        return f"expected 0 after finishing, got {out.returncode}: {out.stderr[-300:]}"
    return s.audit(BIG)


def _one_error_line(out: subprocess.CompletedProcess, needle: str) -> str | None:
    lines = out.stderr.strip().splitlines()
    if out.returncode != 2:
        return f"exit status {out.returncode}, expected 2; stderr: {out.stderr[-300:]}"
    if len(lines) != 1 or not lines[0].startswith("error: ") or needle not in lines[0]:
        return f"expected one line 'error: ...{needle}...', got: {out.stderr[-400:]}"
    return None


def wrong_port_http(s: Scratch) -> str | None:
    """7.5: an HTTP server at the scheduler address (the dashboard port): error, not a hang."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        t0 = time.monotonic()
        out = s.run(SLOW, env={"DERIVLEARN_SCHEDULER": f"tcp://127.0.0.1:{server.server_address[1]}",
                               "DERIVLEARN_CONNECT_TIMEOUT": "5"}, timeout=100)
        seconds = time.monotonic() - t0
    finally:
        server.shutdown()
        server.server_close()
    return _one_error_line(out, "an HTTP server answered") or \
        (f"took {seconds:.0f} s" if seconds > 45 else None)


def wrong_port_silent(s: Scratch) -> str | None:
    """7.5: a listener that accepts and never answers: error, not a hang."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        t0 = time.monotonic()
        out = s.run(SLOW, env={"DERIVLEARN_SCHEDULER": f"tcp://127.0.0.1:{listener.getsockname()[1]}",
                               "DERIVLEARN_CONNECT_TIMEOUT": "5"}, timeout=100)
        seconds = time.monotonic() - t0
    return _one_error_line(out, "never answered as a Dask scheduler") or \
        (f"took {seconds:.0f} s" if seconds > 45 else None)


class Cluster:
    """``dask scheduler`` and two ``dask worker --nthreads 1`` (nannies) on 127.0.0.1."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        common = ["--no-dashboard"]
        self.scheduler = subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port",
                                           str(self.port), *common], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True)
        env = os.environ | {"PYTHONPATH": str(ROOT / "lib"), "OMP_NUM_THREADS": "1"}
        self.workers = [subprocess.Popen([str(DASK), "worker", self.address, "--nthreads", "1",
                                          "--host", "127.0.0.1", *common], env=env,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True) for _ in range(2)]

    def wait(self, n: int = 2, limit: float = 90) -> bool:
        from distributed import Client

        with Client(self.address, timeout=limit) as client:
            try:
                client.wait_for_workers(n, timeout=limit)
            except TimeoutError:
                return False
        return True

    def close(self) -> None:
        for p in [*self.workers, self.scheduler]:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in [*self.workers, self.scheduler]:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def _dask_kill(s: Scratch, victim: Callable[[Cluster], int], expect: set[int]) -> str | None:
    cluster = Cluster()
    try:
        if not cluster.wait():
            return "the cluster did not start"
        proc = s.start(SLOW, env={"DERIVLEARN_SCHEDULER": cluster.address})
        if not _wait_for_lines(s, 10, proc):
            proc.kill()
            return f"the sweep ended or stalled before 10 records: {proc.stderr.read()[-300:]}"
        os.kill(victim(cluster), signal.SIGKILL)
        try:
            rc = proc.wait(timeout=240)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            return "the sweep did not end within 240 s after the kill"
        err = proc.stderr.read()
        if rc not in expect:
            return f"exit status {rc}, expected one of {sorted(expect)}: {err[-300:]}"
        # Dask's client may log its own reconnect failure (a traceback inside distributed) before
        # it is closed; our error must be the last line, and no traceback may pass through
        # derivlearn.
        if rc == 4 and (not err.strip().splitlines()[-1].startswith("error: ")
                        or "derivlearn" in err.rsplit("\nerror: ", 1)[0]):
            return f"expected the error as one last line, got: {err[-400:]}"
    finally:
        cluster.close()
    out = s.run(SLOW, "--set", "scheduler=inprocess")
    if out.returncode != 0:
        return f"the re-run exited {out.returncode}: {out.stderr[-300:]}"
    return s.audit(SLOW)


def dask_worker_killed(s: Scratch) -> str | None:
    """7.1: kill -9 a worker process (its nanny restarts it): the sweep finishes, exactly once."""
    def worker_process(c: Cluster) -> int:
        kids = _children(c.workers[0].pid)
        return kids[0] if kids else c.workers[0].pid
    return _dask_kill(s, worker_process, {0})


def dask_nanny_killed(s: Scratch) -> str | None:
    """7.2: kill -9 a whole `dask worker` (the nanny): runs rescheduled, exactly once."""
    return _dask_kill(s, lambda c: c.workers[0].pid, {0})


def dask_scheduler_killed(s: Scratch) -> str | None:
    """7.3: kill -9 the scheduler: exit status 4 (runs lost), the re-run finishes exactly once."""
    return _dask_kill(s, lambda c: c.scheduler.pid, {4})


ATTACKS = {f.__name__: f for f in (kill9_resume, deadline_exit_status, wrong_port_http,
                                   wrong_port_silent, dask_worker_killed, dask_nanny_killed,
                                   dask_scheduler_killed)}


def main(names: list[str]) -> int:
    unknown = sorted(set(names) - set(ATTACKS))
    if unknown:
        print(f"error: unknown attack(s) {unknown}; allowed: {sorted(ATTACKS)}", file=sys.stderr)
        return 2
    failed = 0
    for name in names or list(ATTACKS):
        with tempfile.TemporaryDirectory(prefix=f"attack-{name}-") as tmp:
            t0 = time.monotonic()
            try:
                problem = ATTACKS[name](Scratch(Path(tmp)))
            except Exception as exc:  # noqa: BLE001 - an attack that crashes is a FAIL
                problem = f"{type(exc).__name__}: {exc}"
            verdict = "PASS" if problem is None else "FAIL"
            failed += problem is not None
            print(f"{verdict} {name} ({time.monotonic() - t0:.0f} s){': ' + problem if problem else ''}",
                  flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
