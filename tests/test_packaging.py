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


def _dependencies() -> dict[str, str]:
    """Normalized distribution name -> requirement string, from [project] dependencies."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    out = {}
    for req in project["dependencies"]:
        name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", req).group(0)
        out[_normalize(name)] = req
    return out


def third_party_imports() -> dict[str, set[str]]:
    """Top-level names of every non-stdlib, non-derivlearn import in the library -> files."""
    found: dict[str, set[str]] = {}
    for path in sorted(LIB.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "derivlearn":
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_the_scan_finds_the_known_imports():
    assert {"torch", "numpy", "skfem", "yaml", "distributed"} <= set(third_party_imports())


def test_every_third_party_import_is_a_dependency():
    deps = _dependencies()
    missing = {top: sorted(files)[0] for top, files in third_party_imports().items()
               if _normalize(DISTRIBUTION.get(top, top)) not in deps}
    assert not missing, f"imported but not in pyproject.toml's dependencies: {missing}"


def test_torch_floor_has_safe_loading_by_default():
    """torch.load defaults to weights_only=True only from 2.6 on; older versions unpickle code."""
    req = _dependencies()["torch"]
    floor = re.search(r">=\s*(\d+)\.(\d+)", req)
    assert floor and (int(floor.group(1)), int(floor.group(2))) >= (2, 6), req
