"""The top-level folders install under one namespace (docs/DESIGN.md, "Layout"): `data/` is
`ganctrl.data`, and so on. In the checkout, ganctrl/ holds a link to each of them, so every
package is found below ganctrl/ (a new method family is a folder with an `__init__.py` and
nothing to list here), while `package_dir` builds each from its own folder. Everything else is
pyproject.toml."""

from setuptools import find_packages, setup

setup(
    package_dir={
        "ganctrl": "ganctrl",
        "ganctrl.conf": "conf",
        "ganctrl.data": "data",
        "ganctrl.methods": "methods",
        "ganctrl.metrics": "metrics",
        "ganctrl.benchmarks": "benchmarks",
    },
    packages=["ganctrl", *(f"ganctrl.{below}" for below in find_packages("ganctrl"))],
)
