"""The command line as a user runs it: output, exit codes, one-line errors."""

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from graphviz_bp import losses
from graphviz_bp.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "graphviz_bp", *args], capture_output=True,
                          text=True, cwd=cwd or ROOT)


def test_list_names_every_builtin_with_a_description(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(losses.BUILTINS)
    assert all(len(line.split(maxsplit=1)[1]) > 20 for line in lines)


def test_render_with_sizes_and_seed(tmp_path):
    out = tmp_path / "fc.svg"
    result = run("render", "fc_net", "--set", "hidden_dims=3,3,3", "--set", "N=2",
                 "--seed", "2", "-o", str(out))
    assert result.returncode == 0, result.stderr
    ids = {g.get("id") for g in ET.parse(out).getroot().iter("{http://www.w3.org/2000/svg}g")}
    assert {"node-W4", "node-b4", "node-H3"} <= ids and "node-W5" not in ids


def test_render_to_stdout_as_dot():
    result = run("render", "autoencoder", "-o", "-", "--format", "dot", "--show", "structure")
    assert result.returncode == 0 and result.stdout.startswith("digraph backprop {")
    assert result.stdout == __import__("graphviz_bp").to_dot(losses.autoencoder(), show="structure")


@pytest.mark.parametrize("args, message", [
    (["render", "autoencodr"], "unknown loss 'autoencodr'; did you mean 'autoencoder'?"),
    (["render", "autoencoder", "--set", "q=3"], "autoencoder has no size 'q' (it takes m, n)"),
    (["render", "autoencoder", "--set", "m"], "--set takes NAME=VALUE"),
    (["render", "autoencoder", "--set", "m=two"], "not a number: 'two'"),
    (["render", "autoencoder", "--set", "m=0"], "m must be a positive integer, got 0"),
    (["render", "autoencoder", "-o", "missing/x.svg"], "folder 'missing' does not exist"),
    (["render", "autoencoder", "-o", "x.txt"], "cannot tell the format from 'x.txt'"),
])
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, args, message):
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr and list(tmp_path.iterdir()) == []


def test_argparse_errors_exit_with_2(tmp_path):
    result = run("render", "autoencoder", "--show", "everything", cwd=tmp_path)
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_figures_into_a_folder(tmp_path):
    result = run("figures", "--out", str(tmp_path / "figs"))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == sorted(
        f"{n}.{s}" for n in losses.BUILTINS for s in ("gv", "svg"))


def test_every_command_has_complete_help():
    for command in ("list", "render", "figures"):
        result = run(command, "--help")
        assert result.returncode == 0 and "usage: graphviz-bp " + command in result.stdout


def test_readme_and_ci_run_the_same_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [line.split("#")[0].strip() for line in readme.split("```sh", 1)[1].split("```")[0]
                .strip().splitlines()]
    assert len(commands) == 2 and "figures" in commands[0] and "pytest" in commands[1]
    assert commands[1] in (ROOT / ".ci" / "run").read_text().splitlines()
