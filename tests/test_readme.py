"""README.md stays true: its Python example and its commands run as written."""

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_python_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for code in blocks("python"):
        exec(compile(code, "README.md", "exec"), {})  # our own documentation, not user input
    assert (tmp_path / "autoencoder.svg").stat().st_size > 1000


def cli_commands() -> list[tuple[str, int]]:
    """(command, expected exit code): 1 where the README's comment says it exits 1."""
    found = []
    for block in blocks("sh")[1:]:
        for line in block.splitlines():
            command, _, comment = line.partition("  #")
            if command.strip().startswith("graphviz-bp "):
                found.append((command.strip(), 1 if "exits 1" in comment else 0))
    return found


@pytest.mark.parametrize("command, code", cli_commands())
def test_cli_commands_run(tmp_path, command, code):
    if "--engine system" in command and shutil.which("dot") is None:
        pytest.skip("needs the system Graphviz `dot`")
    args = shlex.split(command)[1:]
    result = subprocess.run([sys.executable, "-m", "graphviz_bp", *args], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
