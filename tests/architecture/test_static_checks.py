"""The code base stays lint-clean and type-correct: ruff and mypy (configured in pyproject.toml)
run on every test run, so a regression fails CI instead of waiting for someone to run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing() -> None:
    result = run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing() -> None:
    result = run("mypy")  # the packages and settings of [tool.mypy]
    assert result.returncode == 0, result.stdout + result.stderr
