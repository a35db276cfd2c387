"""On-disk, memory-mapped data sets of inputs, outputs and Jacobians (the DINO chapter).

A data set of S samples of a map q = F(m), m in R^{d_M}, q in R^{d_Q}, keeps per sample

* the input ``m`` (d_M,), the output ``q`` (d_Q,),
* the Jacobian J = dq/dm (d_Q, d_M) as its thin SVD ``J = U diag(s) V^T`` with rank
  r = min(d_Q, d_M): ``U`` (d_Q, r), ``s`` (r,), ``V`` (d_M, r).

What is stored, and why. With d_Q = 50 << d_M = 4225 the thin SVD is exact and has the size of J
itself (d_M r + d_Q r + r numbers against d_Q d_M), so J is not stored a second time: the
reduced-H1 losses need ``U``, ``s``, ``V`` directly, J is ``U diag(s) V^T`` when a loss needs all
of it, and the projection ``J Phi`` onto an input basis (what a DIPNet's H1 loss needs) is
``U diag(s) (V^T Phi)``, computed once per basis and cached beside the data
(:meth:`JacobianData.project`). In float32 one sample weighs 4 (d_M + d_Q + r (d_M + d_Q + 1))
bytes: about 0.87 MB at d_M = 4225, d_Q = r = 50, so the 4096 + 1024 samples of one problem take
4.4 GB on disk.

Memory. Every array is a :class:`numpy.memmap`; readers slice it (``data.batch(idx)``), so at
most the slices in use are in RAM, never a second copy of the data set.

Generation is resumable: :meth:`JacobianData.fill` computes the samples not yet marked done, in
chunks, and flushes each chunk before marking it done, so an interrupted generation loses at
most one chunk. A lock file serializes concurrent writers.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

ARRAYS = ("m", "q", "U", "s", "V")


@dataclass(frozen=True)
class Layout:
    """Sizes of a data set: S samples, d_M inputs, d_Q outputs, SVD rank r = min(d_Q, d_M)."""

    n_samples: int
    d_m: int
    d_q: int

    @property
    def rank(self) -> int:
        return min(self.d_m, self.d_q)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        s, dm, dq, r = self.n_samples, self.d_m, self.d_q, self.rank
        return {"m": (s, dm), "q": (s, dq), "U": (s, dq, r), "s": (s, r), "V": (s, dm, r)}

    def bytes_per_sample(self) -> int:
        return 4 * sum(int(np.prod(v[1:])) for v in self.shapes().values())


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class JacobianData:
    """A folder of float32 memory-maps ``m, q, U, s, V`` and a ``done`` mask (see the module
    docstring). Open an existing one or create it with :meth:`open`."""

    def __init__(self, path: Path, layout: Layout, meta: dict[str, Any]) -> None:
        self.path, self.layout, self.meta = path, layout, meta
        self._maps: dict[str, np.memmap] = {}

    # ------------------------------------------------------------------ files
    @classmethod
    def open(cls, path: str | Path, layout: Layout | None = None,
             meta: dict[str, Any] | None = None) -> JacobianData:
        """Open the data set in ``path``, creating empty arrays when ``layout`` is given and the
        folder holds none. A ``layout`` that differs from the stored one raises ``ValueError``."""
        path = Path(path)
        info = path / "layout.json"
        if info.exists():
            stored = json.loads(info.read_text())
            lay = Layout(**stored["layout"])
            if layout is not None and layout != lay:
                raise ValueError(f"parameter 'layout': {layout} differs from the stored {lay} in {path}")
            return cls(path, lay, stored.get("meta", {}))
        if layout is None:
            raise ValueError(f"parameter 'path': no data set in {path} and no 'layout' to create one")
        for name, v in (("n_samples", layout.n_samples), ("d_m", layout.d_m), ("d_q", layout.d_q)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"parameter 'layout.{name}': must be an integer >= 1, got {v!r}")
        path.mkdir(parents=True, exist_ok=True)
        with _locked(path / ".lock"):
            if not info.exists():
                for name, shape in layout.shapes().items():
                    np.lib.format.open_memmap(path / f"{name}.npy", mode="w+", dtype=np.float32,
                                              shape=shape).flush()
                np.save(path / "done.npy", np.zeros(layout.n_samples, dtype=bool))
                info.write_text(json.dumps({"layout": layout.__dict__, "meta": meta or {}}, indent=1))
        return cls.open(path, layout)

    def array(self, name: str) -> np.memmap:
        """The read-only memory map of array ``name`` (one of ``m, q, U, s, V``)."""
        if name not in ARRAYS:
            raise ValueError(f"parameter 'name': got {name!r}; allowed: {ARRAYS}")
        if name not in self._maps:
            self._maps[name] = np.load(self.path / f"{name}.npy", mmap_mode="r")
        return self._maps[name]

    @property
    def done(self) -> np.ndarray:
        """*Shape:* (S,) bool, True for generated samples."""
        return np.load(self.path / "done.npy")

    def nbytes(self) -> int:
        """Bytes of the data arrays on disk (without cached projections)."""
        return sum((self.path / f"{n}.npy").stat().st_size for n in ARRAYS)

    # ------------------------------------------------------------------ writing
    def fill(self, fn: Callable[[Tensor], tuple[Tensor, Tensor]], inputs: Callable[[int, int], Tensor],
             chunk: int = 64, log: Callable[[str], None] | None = None) -> dict[str, float]:
        """Generate every sample not yet done.

        Args:
            fn: ``m (n, d_M) float64 -> (q (n, d_Q), J (n, d_Q, d_M))``.
            inputs: ``(start, stop) -> m (stop - start, d_M)``, the inputs of samples
                ``start..stop-1`` (deterministic, e.g. prior samples from a seeded stream).
            chunk: samples per flush.
            log: optional progress callback.

        Returns:
            ``{"generated": n, "seconds": t, "seconds_per_sample": t / n}``.
        """
        lay = self.layout
        t0, made = time.perf_counter(), 0
        for start in range(0, lay.n_samples, chunk):
            stop = min(start + chunk, lay.n_samples)
            if self.done[start:stop].all():
                continue
            m = inputs(start, stop).to(torch.float64)
            if m.shape != (stop - start, lay.d_m):
                raise ValueError(f"parameter 'inputs': returned shape {tuple(m.shape)}, expected "
                                 f"({stop - start}, {lay.d_m})")
            q, jac = fn(m)
            u, s, vh = torch.linalg.svd(jac.to(torch.float64), full_matrices=False)
            with _locked(self.path / ".lock"):
                for name, val in (("m", m), ("q", q), ("U", u), ("s", s), ("V", vh.transpose(1, 2))):
                    mm = np.load(self.path / f"{name}.npy", mmap_mode="r+")
                    mm[start:stop] = val.detach().cpu().numpy().astype(np.float32)
                    mm.flush()
                    del mm
                done = self.done
                done[start:stop] = True
                np.save(self.path / "done.npy", done)
            self._maps.clear()
            made += stop - start
            if log:
                log(f"{self.path.name}: {int(self.done.sum())}/{lay.n_samples} samples")
        sec = time.perf_counter() - t0
        return {"generated": made, "seconds": sec, "seconds_per_sample": sec / made if made else 0.0}

    # ------------------------------------------------------------------ reading
    def batch(self, idx: np.ndarray | list[int] | slice, names: tuple[str, ...] = ARRAYS,
              dtype: torch.dtype = torch.float32) -> dict[str, Tensor]:
        """Copies of the rows ``idx`` of the requested arrays as tensors (only these in RAM)."""
        return {n: torch.from_numpy(np.array(self.array(n)[idx], dtype=np.float32)).to(dtype) for n in names}

    def jacobian(self, idx: np.ndarray | list[int] | slice, dtype: torch.dtype = torch.float32) -> Tensor:
        """J = U diag(s) V^T for the rows ``idx``. *Shape:* (n, d_Q, d_M)."""
        b = self.batch(idx, ("U", "s", "V"), dtype)
        return (b["U"] * b["s"][:, None, :]) @ b["V"].transpose(1, 2)

    def project(self, phi: Tensor, chunk: int = 256) -> np.memmap:
        """``J Phi`` for every sample, computed once per basis and cached next to the data.

        Args:
            phi: input basis. *Shape:* (d_M, r_M).

        Returns:
            Read-only memory map. *Shape:* (S, d_Q, r_M), float32.
        """
        if phi.ndim != 2 or phi.shape[0] != self.layout.d_m:
            raise ValueError(f"parameter 'phi': expected shape (d_M={self.layout.d_m}, r_M), "
                             f"got {tuple(phi.shape)}")
        p64 = phi.detach().to(torch.float64).cpu()
        digest = hashlib.sha256(p64.numpy().astype(np.float32).tobytes()).hexdigest()[:16]
        out = self.path / f"proj_{digest}.npy"
        if not out.exists():
            tmp = self.path / f".proj_{digest}.tmp.npy"
            s_, dq = self.layout.n_samples, self.layout.d_q
            mm = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(s_, dq, phi.shape[1]))
            for a in range(0, s_, chunk):
                b = self.batch(slice(a, a + chunk), ("U", "s", "V"), torch.float64)
                mm[a:a + chunk] = ((b["U"] * b["s"][:, None, :]) @ (b["V"].transpose(1, 2) @ p64)).numpy()
            mm.flush()
            del mm
            tmp.rename(out)
        return np.load(out, mmap_mode="r")


__all__ = ["ARRAYS", "JacobianData", "Layout"]
