"""Bad input from an attack on the library and the command line: refused in one line, never
a crash, a hang, a lie or a large allocation. Each test reproduces a reported case."""

import json
import subprocess
import sys
import textwrap
import tracemalloc
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import graphviz_bp as bp
from graphviz_bp import losses
from graphviz_bp.derivation import write
from graphviz_bp.dot import to_dot
from graphviz_bp.drawing import draw
from graphviz_bp.ops import defop, undefop
from graphviz_bp.ops.shapes import same_shape

ROOT = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "graphviz_bp", *args], capture_output=True,
                          text=True, cwd=cwd or ROOT, timeout=120)


def refused(result, *words):
    """Exit 2 with one line on stderr that says each of ``words``."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("graphviz-bp: error: "), result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])


def source_file(tmp_path, body: str, name: str = "loss.py") -> str:
    path = tmp_path / name
    path.write_text("import numpy as np\nimport graphviz_bp as bp\n" + textwrap.dedent(body))
    return str(path)


# ---------------------------------------------------------------- sizes, before allocation

@pytest.mark.parametrize("build, where", [
    (lambda: losses.autoencoder(m=60_000, n=1_000), "autoencoder: W would have 60,000,000"),
    (lambda: losses.fc_net(hidden_dims=(8_000, 8_000)), "fc-net: W2 would have 64,000,000"),
    (lambda: losses.gplvm(N=10_000), "gplvm: K would have 100,000,000"),
])
def test_builtin_sizes_are_refused_before_their_values_are_drawn(build, where):
    tracemalloc.start()
    try:
        with pytest.raises(bp.SizeLimitError, match=where):
            build()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, peak  # bytes: nothing of the refused size was allocated


def test_a_graph_too_large_in_all_is_refused_while_it_is_built():
    with bp.size_limit(1_000, max_total=250):
        bp.eye(10)
        bp.eye(10)
        with pytest.raises(bp.SizeLimitError, match="bring this graph to 300 entries, more than "
                                                    "the total limit of 250"):
            bp.eye(10)
    bp.eye(10)  # outside the block the total is not counted


def test_the_command_line_counts_each_draw_of_a_loss_on_its_own(tmp_path):
    refused(run("inspect", "--expr", "sum(" + " * ".join(["A"] * 12) + ")", "--var", "A=3000x3000",
                cwd=tmp_path), "total limit of 100,000,000")
    # Three draws of a claim are three graphs, each within the limit.
    result = run("check", "autoencoder", "--set", "m=300", "--set", "n=300", "--claim",
                 "x=W.T @ W @ r - r", "--max-entries", "100000", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- verdicts of the checker

def test_a_loss_with_nothing_to_check_says_so(tmp_path):
    result = run("check", "--expr", "sum(eye(3))", cwd=tmp_path)
    assert result.returncode == 0 and "nothing was checked" in result.stdout
    assert "all checks pass" not in result.stdout
    doc = json.loads(run("check", "--expr", "sum(eye(3))", "--json", cwd=tmp_path).stdout)
    assert doc["checked"] == 0 and doc["gradients"] == []


def test_steps_stay_inside_the_domain_of_log_and_sqrt():
    near_edge = bp.param("y", np.array([1e-4, 1.0]))
    (result,) = bp.check_gradients(bp.Graph(bp.sum(bp.log(near_edge))))
    assert result.ok and result.max_rel_error < 1e-8 and result.note is None
    at_edge = bp.param("z", np.array([1e-12, 2.0]))
    (result,) = bp.check_gradients(bp.Graph(bp.sum(bp.sqrt(at_edge))))
    assert not result.ok and "leaves the domain" in result.note and "sqrt" in result.note


@pytest.fixture
def half_wrong():
    """sin with a VJP half of what it should be: a planted wrong rule."""
    defop("half_wrong", symbol="sin", forward=np.sin, shape=same_shape, domain=("real",),
          vjp=(lambda g, out, a: 0.5 * g * np.cos(a),), rule=("0.5 * g",), doc="planted bug")
    yield bp.FUNCTIONS["half_wrong"]
    undefop("half_wrong")


@pytest.mark.parametrize("offset", [0.0, 1e6, 1e9])
def test_a_large_constant_in_the_loss_cannot_hide_a_wrong_rule(half_wrong, offset):
    x = bp.param("x", np.linspace(0.1, 1.0, 5))
    (result,) = bp.check_gradients(bp.Graph(offset + bp.sum(half_wrong(x))))
    assert not result.ok and result.max_rel_error > 0.3, result


def test_a_constant_so_large_that_nothing_can_be_concluded_fails_with_a_reason(half_wrong):
    x = bp.param("x", np.linspace(0.1, 1.0, 5))
    for loss in (1e12 + bp.sum(half_wrong(x)), 1e12 + bp.sum(bp.tanh(x))):
        (result,) = bp.check_gradients(bp.Graph(loss))
        assert not result.ok and "cannot resolve" in result.note
    (result,) = bp.check_gradients(bp.Graph(1e6 + bp.sum(bp.tanh(x))))
    assert result.ok, result


def test_a_file_without_a_seed_is_redrawn_inside_its_domain(tmp_path):
    spec = source_file(tmp_path, """
        def loss():
            return bp.sum(bp.log(bp.param("x", np.array([1.0, 2.0, 0.5]))))
    """) + ":loss"
    doc = json.loads(run("check", spec, "--claim", "x=1 / x", "--trials", "5", "--json",
                         cwd=tmp_path).stdout)
    assert doc["ok"] and doc["claims"][0]["trials"] == 5
    assert doc["nonfinite"] == {"forward": None, "backward": None}


# ---------------------------------------------------------------- figures and reports

def test_a_compact_figure_has_the_formulas_its_note_promises(tmp_path):
    result = run("render", "fc-net", "--show", "values,formulas", "--compact", "-o", "c.svg",
                 cwd=tmp_path)
    assert result.returncode == 0 and "formulas are in the tooltips" in result.stderr
    assert (tmp_path / "c.svg").read_text().count("∇ along this edge = ") >= 20
    result = run("render", "fc-net", "--compact", "-o", "d.svg", cwd=tmp_path)
    assert "values and gradients are in the tooltips" in result.stderr


def test_a_fold_box_with_nan_inside_is_red():
    g = losses.fc_net(hidden_dims=[4] * 8)
    g.set("W5", np.full((4, 4), np.nan))
    g.evaluate()
    root = ET.fromstring(draw(to_dot(g, compact=True), "svg"))
    (box,) = [e for e in root.iter(f"{SVG}g") if (e.get("id") or "").startswith("node-fold-")]
    assert "nonfinite" in box.get("class").split()


def test_inspect_json_of_a_400_layer_net(tmp_path):
    dims = ",".join(["4"] * 400)
    result = run("inspect", "fc-net", "--set", f"hidden_dims={dims}", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert len(doc["nodes"]) > 2800 and all("formula" in n for n in doc["nodes"] if n["grad"])


def test_derivations_of_chains_and_shared_subgraphs_grow_linearly():
    def residual(steps):
        x = bp.param("x", np.array([0.3, -0.2]))
        h = x
        for _ in range(steps):
            h = bp.tanh(h) * h  # h used twice per step: written out, 2^steps terms
        return write(bp.Graph(bp.sum(h)), "chain")

    short, long = len(residual(10)), len(residual(40))
    assert long < 5 * short, (short, long)


@pytest.mark.parametrize("expr", ["sum(x) / 0", "sum(x) * 1e-310", "sum(x) / 1e-310",
                                  "sum(x) * 1e300 * 1e300"])
def test_derivations_with_extreme_numbers_are_written(expr, tmp_path):
    result = run("derive", "--expr", expr, "--var", "x=2", cwd=tmp_path)
    assert result.returncode in (0, 2) and "internal error" not in result.stderr, result.stderr


def test_user_text_is_escaped_for_each_output(tmp_path):
    x = bp.param("x", np.ones(2), label="x\x1b[31mRED\u202e")
    g = bp.Graph(bp.sum(x))
    assert "\x1b" not in write(g, "t") and "\\u001b" in write(g, "t")
    latex = write(g, r"\input{/etc/passwd} 50% a_b", "latex")
    assert r"\textbackslash{}input\{/etc/passwd\} 50\% a\_b" in latex and r"\input{" not in latex
    markdown = write(g, "<img src=x onerror=alert(1)>", "markdown")
    assert "<img" not in markdown and "&lt;img" in markdown
    spec = source_file(tmp_path, "def f():\n    return bp.sum(bp.param('x', np.ones(2)))\n",
                       name="a\x1bb.py") + ":f"
    assert "\x1b" not in run("inspect", spec, cwd=tmp_path).stdout


# ---------------------------------------------------------------- file sources and settings

@pytest.mark.parametrize("body, words", [
    ("import sys\nsys.exit(0)\n", ["sys.exit(0)"]),
    ("def f():\n    import sys; sys.exit(3)\n", ["sys.exit(3)"]),
    ("max_ = max\n", ["'max_' is not a Python function"]),
])
def test_file_sources_that_exit_or_are_not_functions_are_refused(tmp_path, body, words):
    spec = source_file(tmp_path, body) + (":max_" if "max_" in body else ":f")
    refused(run("inspect", spec, cwd=tmp_path), *words)


def test_file_sources_run_once_as_modules_beside_their_folder(tmp_path):
    (tmp_path / "sibling.py").write_text("SCALE = 2.0\n")
    spec = source_file(tmp_path, """
        from dataclasses import dataclass
        from sibling import SCALE

        @dataclass
        class Sizes:
            n: int = 3

        def f():
            with open("calls.txt", "a") as out:
                out.write("call\\n")
            x = bp.param("x", np.ones(Sizes().n))
            return bp.Graph(SCALE * bp.sumsq(x), evaluate=False)
    """) + ":f"
    result = run("inspect", spec, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "loss = 6" in result.stdout
    assert (tmp_path / "calls.txt").read_text().count("call") == 1


def test_names_are_read_as_python_reads_them(tmp_path):
    result = run("inspect", "--expr", "sumsq(µ)", "--var", "µ=3", cwd=tmp_path)  # micro sign
    assert result.returncode == 0, result.stderr


def test_setting_an_integer_leaf_to_a_fraction_is_refused():
    g = bp.Graph(bp.softmax_ce(bp.param("z", np.zeros(3)), bp.const("y", 1)))
    with pytest.raises(bp.GraphvizBPError, match="'y' holds integer labels; got 6.9"):
        g.set("y", 6.9)
    g.set("y", 2)
    assert g.evaluate().grad("z")[2] < 0


@pytest.mark.parametrize("args, words", [
    (["fc-net", "--set", "hidden_dims=,"], ["--set hidden_dims: no number"]),
    (["fc-net", "--set", "hidden_dims=()"], ["not a number"]),
    (["--expr", "softmax_ce(z, y)", "--var", "z=3", "--labels", "y=99999999999999999999"],
     ["--labels y: class indices must be below 2**62"]),
])
def test_bad_settings_are_refused(args, words, tmp_path):
    refused(run("inspect", *args, cwd=tmp_path), *words)
