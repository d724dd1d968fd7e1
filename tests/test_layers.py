"""docs/DESIGN.md, "Who may import whom" and "Layout": the import-linter contracts in
pyproject.toml hold on the package as a wheel installs it, and a planted violation breaks them."""

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


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The package as `pip install .` lays it out (one `ganctrl` tree), with the contracts."""
    scratch = tmp_path_factory.mktemp("wheel")
    source = scratch / "source"
    for name in SOURCES:
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
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
            str(scratch / "dist"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
        cwd=source,
    )
    site = scratch / "site"
    with zipfile.ZipFile(next((scratch / "dist").glob("*.whl"))) as wheel:
        wheel.extractall(site)
    shutil.copy(ROOT / "pyproject.toml", site / "pyproject.toml")
    return site


def lint(site: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LINT, "--no-cache"],
        cwd=site,
        env={"PYTHONPATH": str(site), "PATH": "", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_package_folder_ships_in_the_wheel(installed):
    """setup.py finds packages by folder: a new method family needs no list edited."""
    names = ["ganctrl"] + [f"ganctrl.{folder}" for folder in SOURCES[1:]]
    for name, folder in zip(names, SOURCES, strict=True):
        for init in (ROOT / folder).rglob("__init__.py"):
            below = init.parent.relative_to(ROOT / folder).parts
            assert (installed / Path(*name.split("."), *below) / "__init__.py").exists(), init


def test_the_layer_contracts_hold(installed):
    run = lint(installed)
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
def test_a_planted_violation_breaks_its_contract(installed, tmp_path, module, planted, contract):
    site = tmp_path / "site"
    shutil.copytree(installed, site)
    target = site / "ganctrl" / module.replace("ganctrl/", "", 1)
    target.write_text(target.read_text() + f"\n{planted}\n")
    run = lint(site)
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
    assert Path(importlib.util.find_spec("ganctrl.conf").origin) == ROOT / "conf" / "__init__.py"
