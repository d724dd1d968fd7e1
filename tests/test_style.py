"""The layout is ruff's: `ruff format` owns it (no region shielded from it) and `ruff check`
passes, in CI too (docs/DESIGN.md, "Habits")."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUFF = str(Path(sys.executable).with_name("ruff"))


def test_no_code_is_shielded_from_the_formatter():
    shielded = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in ROOT.rglob("*.py")
        if not {".venv", "outputs"} & set(path.relative_to(ROOT).parts)
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "# fmt: " + "skip" in line or "# fmt: " + "off" in line
    ]
    assert not shielded


def test_ruff_format_and_check_pass():
    for command in (["format", "--check", "."], ["check", "."]):
        run = subprocess.run([RUFF, *command], cwd=ROOT, capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr
