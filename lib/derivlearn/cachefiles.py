"""Cache files that are never half-written, and one error for those that are damaged anyway.

Every file under :func:`derivlearn.store.cache_dir` is written through :func:`atomic_path`: the
content goes to a temporary file in the same folder (unique per process and call), is fsync'd,
and replaces the target with one ``os.replace``; the folder is fsync'd after it. A reader thus
sees the old file or the new one, never a torn one, even when the writer is killed or the
machine stops. The other writers (:func:`atomic_write_bytes`, :func:`atomic_write_json`,
:func:`atomic_save_npy`, :func:`atomic_save_npz`, :func:`atomic_torch_save`) are thin layers
over it.

A cache file can still be damaged from outside (a full disk, a copy cut short, a stray
``truncate``). Readers check what they load (:func:`npy_header`, :func:`load_npy`,
:func:`read_json`) and either rebuild what they can or raise :class:`CacheDamaged`, an
:class:`derivlearn.sweep.InfrastructureError`: a sweep never records such a run as ``failed``
but leaves it pending for the next run of the sweep.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Literal, NamedTuple

import numpy as np

from derivlearn.sweep import InfrastructureError

HASH = "sha256"
"""The checksum algorithm of :func:`digest` (hashlib name)."""


class CacheDamaged(InfrastructureError):
    """A cache file is unreadable, has the wrong size or content, or fails its checksum.

    Attributes:
        path: the damaged file.
    """

    def __init__(self, path: str | Path, problem: str, remedy: str = "") -> None:
        self.path = Path(path)
        super().__init__(f"damaged cache file {self.path}: {problem}" + (f"; {remedy}" if remedy else ""))


# ----------------------------------------------------------------------------- writing
def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; on a clean exit it is fsync'd and atomically
    renamed to ``path``, on an exception it is removed and ``path`` is left as it was.

    The temporary name keeps the target's suffix (``.<name>.<unique>.tmp<suffix>``), so that
    writers which append a missing suffix (``np.save``, ``np.savez``) write exactly this file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


@contextlib.contextmanager
def atomic_open(path: str | Path) -> Iterator[BinaryIO]:
    """A binary file object whose content atomically becomes ``path`` (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        yield f


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path) as f:
        f.write(data)


def atomic_write_json(path: str | Path, obj: Any, indent: int | None = 1) -> None:
    """Write ``obj`` as JSON (NaN refused; ``indent`` as in ``json.dumps``) to ``path`` atomically."""
    atomic_write_bytes(path, (json.dumps(obj, indent=indent, allow_nan=False) + "\n").encode())


def atomic_save_npy(path: str | Path, array: np.ndarray) -> None:
    """``np.save`` of ``array`` (no pickles) to ``path`` atomically."""
    with atomic_open(path) as f:
        np.save(f, np.asanyarray(array), allow_pickle=False)


def atomic_save_npz(path: str | Path, **arrays: np.ndarray) -> None:
    """``np.savez`` of ``arrays`` to ``path`` atomically."""
    with atomic_open(path) as f:
        np.savez(f, **arrays)


def atomic_torch_save(path: str | Path, obj: Any) -> None:
    """``torch.save`` of ``obj`` (tensors and plain containers) to ``path`` atomically."""
    import torch

    with atomic_open(path) as f:
        torch.save(obj, f)


# ----------------------------------------------------------------------------- reading
def digest(*arrays: np.ndarray) -> str:
    """Hex :data:`HASH` of the C-order bytes of ``arrays``, in order."""
    h = hashlib.new(HASH)
    for a in arrays:
        h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()


class NpyHeader(NamedTuple):
    """What the header of a ``.npy`` file says, and how large the file is."""

    shape: tuple[int, ...]
    dtype: np.dtype
    offset: int
    """Bytes before the data."""
    file_size: int

    @property
    def expected_size(self) -> int:
        """The file size the header announces: offset + data bytes."""
        return self.offset + int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


def npy_header(path: str | Path) -> NpyHeader:
    """The header of a ``.npy`` file (format 1.0 or 2.0, C order, no objects) and its size.

    Raises:
        CacheDamaged: naming the file, when it is missing or its header is unreadable.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version not in ((1, 0), (2, 0)):
                raise ValueError(f"format version {version}, this cache writes 1.0 or 2.0")
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read(f)
            offset = f.tell()
            size = os.fstat(f.fileno()).st_size
    except (OSError, ValueError, EOFError, SyntaxError) as exc:
        raise CacheDamaged(path, f"unreadable .npy header ({type(exc).__name__}: {exc})") from None
    if fortran or dtype.hasobject:
        raise CacheDamaged(path, f"unexpected layout (fortran_order={fortran}, dtype={dtype})")
    return NpyHeader(tuple(shape), dtype, offset, size)


def load_npy(path: str | Path, shape: tuple[int, ...] | None = None, dtype: Any = None,
             mmap_mode: Literal["r", "r+"] | None = None) -> np.ndarray:
    """``np.load`` of a ``.npy`` cache file (no pickles) after checking its header, its size
    against the header and, when given, its ``shape`` and ``dtype``.

    Raises:
        CacheDamaged: naming the file, for any of these damages.
    """
    head = npy_header(path)
    if head.file_size != head.expected_size:
        raise CacheDamaged(path, f"{head.file_size} bytes, its header ({head.shape}, {head.dtype}) "
                                 f"needs {head.expected_size}")
    if shape is not None and head.shape != tuple(shape):
        raise CacheDamaged(path, f"shape {head.shape}, expected {tuple(shape)}")
    if dtype is not None and head.dtype != np.dtype(dtype):
        raise CacheDamaged(path, f"dtype {head.dtype}, expected {np.dtype(dtype)}")
    try:
        return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise CacheDamaged(path, f"unreadable ({type(exc).__name__}: {exc})") from None


def file_digest(path: str | Path, block: int = 1 << 24) -> str:
    """Hex :data:`HASH` of the bytes of a file, read in blocks of ``block`` bytes."""
    h = hashlib.new(HASH)
    with open(path, "rb") as f:
        while chunk := f.read(block):
            h.update(chunk)
    return h.hexdigest()


def checksum_path(path: str | Path) -> Path:
    """The checksum file of ``path``: ``<name>.sha256``, in ``sha256sum`` format."""
    path = Path(path)
    return path.with_name(path.name + f".{HASH}")


_FILES_CHECKED: dict[str, tuple[tuple[int, int, int], str]] = {}
"""Per process: file -> (its stat stamp, its digest) when last verified or recorded."""


def _stamp(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


def record_checksum(path: str | Path) -> str:
    """Compute the checksum of a (complete) cache file and write it atomically beside it."""
    path = Path(path)
    stamp, hexd = _stamp(path), file_digest(path)
    atomic_write_bytes(checksum_path(path), f"{hexd}  {path.name}\n".encode())
    _FILES_CHECKED[str(path.resolve())] = (stamp, hexd)
    return hexd


def verify_checksum(path: str | Path) -> None:
    """Check a cache file against its recorded checksum, once per process (again only after the
    file changes). A file without one (written before checksums were recorded, or by a writer
    killed between the two atomic writes) gets one: trust on first use.

    Raises:
        CacheDamaged: naming the file, when its content differs from the checksum.
    """
    path = Path(path)
    key, stamp = str(path.resolve()), _stamp(path)
    known = _FILES_CHECKED.get(key)
    if known is not None and known[0] == stamp:
        return
    try:
        want = checksum_path(path).read_text().split()[0]
    except (OSError, UnicodeDecodeError, IndexError):
        record_checksum(path)
        return
    got = file_digest(path)
    if got != want:
        raise CacheDamaged(path, f"its content fails its {HASH} checksum ({checksum_path(path).name})")
    _FILES_CHECKED[key] = (stamp, got)


def read_json(path: str | Path) -> Any:
    """The JSON content of a cache file.

    Raises:
        CacheDamaged: naming the file, when it is missing, empty or not valid JSON.
    """
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CacheDamaged(path, f"not readable as JSON ({type(exc).__name__}: {exc})") from None


__all__ = ["HASH", "CacheDamaged", "NpyHeader", "atomic_open", "atomic_path", "atomic_save_npy",
           "atomic_save_npz", "atomic_torch_save", "atomic_write_bytes", "atomic_write_json",
           "checksum_path", "digest", "file_digest", "load_npy", "npy_header", "read_json",
           "record_checksum", "verify_checksum"]
