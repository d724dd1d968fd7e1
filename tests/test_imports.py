"""DESIGN.md, "Who may import whom": methods never import metrics; one `ganctrl` namespace."""

import importlib.util
import pkgutil
import subprocess
import sys
from pathlib import Path

import tomllib

import ganctrl.methods

METHOD_MODULES = [
    m.name for m in pkgutil.walk_packages(ganctrl.methods.__path__, "ganctrl.methods.")
]


def test_no_method_module_loads_the_metrics_package():
    assert "ganctrl.methods.unconditional" in METHOD_MODULES
    script = (
        "import importlib, sys\n"
        f"for name in {METHOD_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "leaked = sorted(m for m in sys.modules if m.startswith('ganctrl.metrics'))\n"
        "assert not leaked, leaked\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)


def test_top_level_folders_are_not_importable_on_their_own(tmp_path):
    script = (
        "import importlib.util\n"
        "bare = [n for n in ('data', 'methods', 'metrics', 'benchmarks', 'conf') "
        "if importlib.util.find_spec(n)]\n"
        "assert not bare, bare\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path, timeout=60)
    assert importlib.util.find_spec("ganctrl.conf") is not None


def test_every_package_folder_is_declared_so_a_built_wheel_carries_it():
    """The editable install finds undeclared subfolders; `pip install .` (a wheel) does not."""
    root = Path(__file__).resolve().parents[1]
    setup = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    declared = {Path(folder) for folder in setup["package-dir"].values()}
    assert set(setup["packages"]) == set(setup["package-dir"])
    tops = {folder.parts[0] for folder in declared}
    folders = {
        init.parent.relative_to(root) for top in tops for init in (root / top).rglob("__init__.py")
    }
    assert folders <= declared, sorted(map(str, folders - declared))
