"""The top-level folders install under one namespace (docs/DESIGN.md, "Layout"): each is a
subpackage of `ganctrl`, and every package found below it installs too, so a new method family
is a folder with an `__init__.py` and nothing to list here. Everything else is pyproject.toml."""

from setuptools import find_packages, setup

ROOTS = {
    "ganctrl": "ganctrl",
    "ganctrl.conf": "conf",
    "ganctrl.data": "data",
    "ganctrl.methods": "methods",
    "ganctrl.metrics": "metrics",
    "ganctrl.benchmarks": "benchmarks",
}

setup(
    package_dir=ROOTS,
    packages=[
        f"{name}.{below}" if below else name
        for name, folder in ROOTS.items()
        for below in ["", *find_packages(folder)]
    ],
)
