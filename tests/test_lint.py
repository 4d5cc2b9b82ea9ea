"""The repository passes its own linter and formatter, and every benchmark script still imports.

Benchmarks run by hand, not in the suite; these checks catch the breakage that would otherwise surface
only then: an undefined or renamed name (ruff's pyflakes rules) or a kerasflows import that moved.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = sorted((ROOT / "benchmarks").glob("bench_*.py"))


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff_passes(command):
    result = subprocess.run([sys.executable, "-m", "ruff", *command, "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_benchmark_imports_and_parses_its_defaults():
    assert len(BENCHMARKS) >= 10, [path.name for path in BENCHMARKS]
    script = "\n".join(
        [
            "import importlib, sys",
            f"sys.path.insert(0, {str(ROOT / 'benchmarks')!r})",
            *(f"importlib.import_module({path.stem!r}).parse_args([])" for path in BENCHMARKS),
            "print('parsed')",
        ]
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("parsed")
