"""docs/DESIGN.md, "Who may import whom" and "Layout": the import-linter contracts in
pyproject.toml hold on the checkout (`lint-imports`, through ganctrl/'s links to the top
folders), a planted violation breaks them, and a built wheel carries every package."""

import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["ganctrl", "conf", "data", "methods", "metrics", "benchmarks"]
LINT = str(Path(sys.executable).with_name("lint-imports"))


def copy_sources(target: Path) -> Path:
    """The package folders and the build files, ganctrl/'s links kept as links."""
    for name in SOURCES:
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(ROOT / name, target / name, symlinks=True, ignore=ignore)
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, target / name)
    return target


def lint(tree: Path) -> subprocess.CompletedProcess:
    """`lint-imports` run in `tree`, as a developer runs it in the checkout (it puts the working
    directory first on the path, so `ganctrl` is tree/ganctrl)."""
    return subprocess.run(
        [LINT, "--no-cache"],
        cwd=tree,
        env={"PATH": "", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_package_folder_ships_in_the_wheel(tmp_path):
    """setup.py finds packages by folder: a new method family needs no list edited."""
    source = copy_sources(tmp_path / "source")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            str(source),
            "-w",
            str(tmp_path / "dist"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
        cwd=source,
    )
    with zipfile.ZipFile(next((tmp_path / "dist").glob("*.whl"))) as wheel:
        shipped = set(wheel.namelist())
    names = ["ganctrl"] + [f"ganctrl.{folder}" for folder in SOURCES[1:]]
    for name, folder in zip(names, SOURCES, strict=True):
        for init in (ROOT / folder).rglob("__init__.py"):
            below = init.parent.relative_to(ROOT / folder).parts
            assert "/".join([*name.split("."), *below, "__init__.py"]) in shipped, init


def test_the_layer_contracts_hold_on_the_checkout():
    run = lint(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "5 kept, 0 broken" in run.stdout


@pytest.mark.parametrize(
    ("module", "planted", "contract"),
    [
        (
            "methods/imle_clusters/method.py",
            "import ganctrl.metrics.fidelity",
            "methods import no metrics",
        ),
        (
            "metrics/clusters.py",
            "import ganctrl.methods.mic_gan.crp",
            "metrics import only the contract",
        ),
        (
            "methods/contrafeat/method.py",
            "import ganctrl.methods.direction_baselines.method",
            "plugins import no other plugin",
        ),
        (
            "methods/common/ema.py",
            "import ganctrl.methods.unconditional.method",
            "plugins import no other plugin",
        ),
        ("data/shapes.py", "import ganctrl.methods.common.contract", "data imports only"),
        ("ganctrl/cache.py", "import ganctrl.metrics.features", "the shared tools import no"),
    ],
)
def test_a_planted_violation_breaks_its_contract(tmp_path, module, planted, contract):
    tree = copy_sources(tmp_path)
    target = tree / module
    target.write_text(target.read_text() + f"\n{planted}\n")
    run = lint(tree)
    assert run.returncode == 1
    broken = [line for line in run.stdout.splitlines() if " BROKEN" in line]
    assert any(line.startswith(contract) for line in broken), run.stdout


def test_top_level_folders_are_not_importable_on_their_own(tmp_path):
    script = (
        "import importlib.util\n"
        "bare = [n for n in ('data', 'methods', 'metrics', 'benchmarks', 'conf') "
        "if importlib.util.find_spec(n)]\n"
        "assert not bare, bare\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path, timeout=60)
    conf = Path(importlib.util.find_spec("ganctrl.conf").origin).resolve()
    assert conf == ROOT / "conf" / "__init__.py"
