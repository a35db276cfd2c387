"""Where a chapter's runs ran, read from their records (``env.device``, ``env.gpu`` and the torch
version), in one sentence for the chapter."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any


def where_runs_ran(records: Iterable[Mapping[str, Any]], configs: Iterable[Mapping[str, Any]],
                   version_of: Callable[[Mapping[str, Any]], int]) -> str:
    """How many of the plan's ``ok`` records ran on a GPU (CUDA) and how many on the CPU, with
    the torch versions and what that means for their numbers and hours; ``""`` when every
    record ran on the CPU (nothing to say) or none is recorded.

    Args:
        records: the study's stored records.
        configs: the plan's run configs (records of other configs are not counted).
        version_of: the study's result version of a config (:meth:`StudyConfig.version_of`).
    """
    from derivlearn.store import config_key

    keys = {config_key(c, version_of(c)) for c in configs}
    mine = {r["key"]: r for r in records if r.get("key") in keys and r.get("status") == "ok"}
    where: dict[str, list[Mapping[str, Any]]] = {}
    for r in mine.values():
        dev = str((r.get("env") or {}).get("device", "cpu"))
        where.setdefault("GPU" if dev.startswith("cuda") else "CPU", []).append(r)
    if "GPU" not in where:
        return ""

    def torch_of(rs) -> str:
        return ", ".join(sorted({str((r.get("version") or {}).get("torch", "?")).split("+")[0] for r in rs}))

    gpu, cpu = where.get("GPU", []), where.get("CPU", [])
    names = sorted({(r.get("env") or {}).get("gpu") for r in gpu} - {None})
    text = (f"**Where the runs ran.** {len(gpu)} of the {len(mine)} runs ran on a "
            f"GPU{' (' + ', '.join(names) + ')' if names else ''} with CUDA, several processes "
            f"sharing it (torch {torch_of(gpu)})")
    text += (f", the other {len(cpu)} on the CPU (torch {torch_of(cpu)})." if cpu else ".")
    return text + (" With the same settings and seeds the two devices agree to round-off in float64 "
                   "(`benchmarks/gpu_check.py`); in float32, as here, a GPU may sum in another order, "
                   "so a run's numbers can differ from a CPU run's in the last digits, and more where "
                   "training is chaotic. "
                   "Their recorded hours are not CPU-hours of the {ref}`reference machine "
                   "<reference-machine>`.")
