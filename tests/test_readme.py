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
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    result = subprocess.run([sys.executable, "-m", "graphviz_bp", *args], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr


def test_the_planted_bug_report_is_what_the_command_prints(tmp_path):
    block = next(b for b in blocks("text") if "$ graphviz-bp check examples/planted_bug.py" in b)
    command, *shown = block.strip().splitlines()
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    result = subprocess.run([sys.executable, "-m", "graphviz_bp", *shlex.split(command)[2:]],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    printed = result.stdout.strip().splitlines()
    assert len(printed) == len(shown)
    for ours, theirs in zip(shown, printed):
        if ours.endswith("  ok"):  # a right gradient's error is rounding: other CPUs differ
            assert theirs.endswith("  ok") and ours.split()[:3] == theirs.split()[:3]
        else:
            assert ours == theirs
    assert (tmp_path / "planted_bug.svg").read_text().count("check&#45;failed") == \
        (ROOT / "examples" / "planted_bug.svg").read_text().count("check&#45;failed") > 0


def test_every_picture_the_readme_shows_is_in_the_repository():
    pictures = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", README)
    assert "docs/explorer.png" in pictures
    missing = [p for p in pictures if not (ROOT / p).is_file()]
    assert missing == []
    tracked = subprocess.run(["git", "ls-files", *pictures], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode == 0 and tracked.stdout:  # a git checkout: each picture is committed
        assert sorted(tracked.stdout.split()) == sorted(set(pictures))
