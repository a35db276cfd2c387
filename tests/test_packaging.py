"""pyproject.toml lists every third-party package the library imports (`pip install` alone works)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib" / "derivlearn"

# import name -> distribution name, where they differ
DISTRIBUTION = {"skfem": "scikit-fem", "yaml": "pyyaml", "linear_operator": "linear-operator"}


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(reqs: list[str]) -> dict[str, str]:
    out = {}
    for req in reqs:
        name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", req).group(0)
        out[_normalize(name)] = req
    return out


def _dependencies() -> dict[str, str]:
    """Normalized distribution name -> requirement string, from [project] dependencies."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return _requirements(project["dependencies"])


def _extras() -> dict[str, str]:
    """Normalized distribution name -> requirement string, from every optional extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return _requirements([r for reqs in project.get("optional-dependencies", {}).values() for r in reqs])


def third_party_imports(*, lazy: bool | None = None) -> dict[str, set[str]]:
    """Top-level names of every non-stdlib, non-derivlearn import in the library -> files.

    ``lazy=False``: only imports at module level (run by ``import derivlearn...``); ``lazy=True``:
    only imports inside a function body (run only when that function is called); None: all."""
    found: dict[str, set[str]] = {}
    for path in sorted(LIB.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        in_function = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
                       for n in ast.walk(f) if n is not f}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            if lazy is not None and (id(node) in in_function) != lazy:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "derivlearn":
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_the_scan_finds_the_known_imports():
    assert {"torch", "numpy", "skfem", "yaml", "distributed"} <= set(third_party_imports())


def test_every_third_party_import_is_a_dependency():
    """Module-level imports need a [project] dependency: `pip install derivlearn` must import."""
    deps = _dependencies()
    missing = {top: sorted(files)[0] for top, files in third_party_imports(lazy=False).items()
               if _normalize(DISTRIBUTION.get(top, top)) not in deps}
    assert not missing, f"imported but not in pyproject.toml's dependencies: {missing}"


def test_every_lazy_import_is_a_dependency_or_an_extra():
    """An import inside a function (the book's IPython and MyST-NB, say) may come from an extra
    (`pip install derivlearn[book]`), but it must be declared somewhere."""
    declared = _dependencies() | _extras()
    missing = {top: sorted(files)[0] for top, files in third_party_imports(lazy=True).items()
               if _normalize(DISTRIBUTION.get(top, top)) not in declared}
    assert not missing, f"imported but in no dependency or extra of pyproject.toml: {missing}"


def test_the_scan_tells_lazy_from_module_level_imports():
    assert "IPython" in third_party_imports(lazy=True)
    assert "IPython" not in third_party_imports(lazy=False)
    assert "torch" in third_party_imports(lazy=False)


def test_torch_floor_has_safe_loading_by_default():
    """torch.load defaults to weights_only=True only from 2.6 on; older versions unpickle code."""
    req = _dependencies()["torch"]
    floor = re.search(r">=\s*(\d+)\.(\d+)", req)
    assert floor and (int(floor.group(1)), int(floor.group(2))) >= (2, 6), req
