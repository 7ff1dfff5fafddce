"""Symbolic backprop: every formula the project prints is checked against the numbers."""

import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import graphviz_bp as bp
import graphviz_bp.claims
from graphviz_bp import losses
from test_claims import judge
from graphviz_bp.drawing import draw
from graphviz_bp.derivation import write
from graphviz_bp.engine import value_of
from graphviz_bp.expr import parse
from graphviz_bp.graph import const
from graphviz_bp.sources import builtin_source
from graphviz_bp.symbolic import derive, symmetric_nodes
from strategies import build, random_losses


def evaluate(g, text):
    """A formula in the expression language, on the graph's values, gradients and sizes."""
    names = {k: const(k, v) for k, v in g.nx.graph.get("sizes", {}).items()}
    names.update({n: const(n, d["value"]) for n, d in g.nx.nodes(data=True)})
    grads = {n: const(f"grad_{n}", d["grad"]) for n, d in g.nx.nodes(data=True)
             if d["grad"] is not None}
    return value_of(parse(text, names, grads))


def assert_formulas_match_numbers(g, rtol=1e-9, all_expanded=True):
    """Every formula against backprop; ``all_expanded``: no written-out form was given up."""
    d = derive(g)
    tables = [(d.edge_local, g.nx.edges), (d.edge_expanded, g.nx.edges),
              (d.node_local, g.nx.nodes), (d.node_expanded, g.nx.nodes)]
    checked = 0
    for table, attrs in tables:
        for key, term in table.items():
            written_out = table is d.edge_expanded or table is d.node_expanded
            if term is None and written_out and not all_expanded:
                checked += 1  # too long to write out (see MAX_EXPANDED_SIZE)
                continue
            text = d.expr(term)
            want = attrs[key]["grad"]
            got = evaluate(g, text)
            assert np.shape(got) == np.shape(want), (key, text)
            # The floor 1e-12 is for gradients that are zero by cancellation (softmax rows
            # sum to one), where both sides are rounding noise of order 1e-17.
            scale = float(np.max(np.abs(want), initial=0.0))
            np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale + 1e-12,
                                       err_msg=f"{key}: {text}")
            checked += 1
    flowing = sum(1 for *_, e in g.nx.edges(keys=True, data=True) if e["grad"] is not None)
    with_grad = sum(1 for _, n in g.nx.nodes(data=True) if n["grad"] is not None)
    assert checked == 2 * (flowing + with_grad)  # every edge and node, both forms
    return checked


@pytest.mark.parametrize("name", sorted(losses.BUILTINS))
@pytest.mark.parametrize("seed", [0, 5])
def test_every_formula_of_every_builtin_matches_backprop(name, seed):
    assert assert_formulas_match_numbers(losses.BUILTINS[name](seed=seed)) > 10


@pytest.mark.parametrize("build_loss", [
    lambda: losses.autoencoder(m=3, n=7, seed=2),
    lambda: losses.gplvm(N=5, Q=3, D=4, alpha=0.7, beta=3.0, seed=1),
    lambda: losses.fc_net(hidden_dims=(3, 4, 2), N=5, D=3, C=4, seed=3),
])
def test_formulas_hold_at_other_sizes(build_loss):
    assert_formulas_match_numbers(build_loss())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_losses())
def test_formulas_of_random_expressions_match_backprop(loss):
    g = build(loss)
    if g is not None:
        assert_formulas_match_numbers(g, rtol=1e-8, all_expanded=False)


@pytest.mark.parametrize("name, leaf, reference", [
    ("autoencoder", "W", "W @ (W.T@W@x - x) @ x.T + W @ x @ (W.T@W@x - x).T"),
    ("autoencoder", "x", "(W.T @ W - eye(n)) @ (W.T@W@x - x)"),
    ("gplvm", "X", "alpha * (inv(K) @ Y @ Y.T @ inv(K) - D * inv(K)) @ X"),
    ("gplvm", "Y", "-inv(K) @ Y"),
    ("fcnet-swish", "W2", "(softmax(z2, axis=0) - onehot(z2, y, axis=0)) @ h1.T"),
    ("fcnet-swish", "W1", "(1 + (z1 + 1) * exp(-z1)) / (1 + exp(-z1)) ** 2 "
                          "* (W2.T @ (softmax(z2, axis=0) - onehot(z2, y, axis=0))) @ x.T"),
])
def test_derived_results_are_the_reference_closed_forms(name, leaf, reference):
    source = builtin_source(name)
    d = derive(source.build(0))
    derived = d.expr(d.node_expanded[leaf])
    for claim in (derived, reference):  # both hold at independent draws, so they agree
        result = judge(source, leaf, claim, trials=4)
        assert result.ok and result.max_rel_error < 1e-10, (claim, result)


def test_autoencoder_derivation_shows_the_two_path_sum():
    text = write(losses.autoencoder(), "autoencoder")
    assert "W reaches the loss along 2 edges" in text
    assert "① into Wᵀ [transpose rule gᵀ]: W x (∂L/∂r)ᵀ" in text
    assert "② into W x [matmul rule g bᵀ]: W ∂L/∂r xᵀ" in text
    assert "∂L/∂W = ① + ② = W x (∂L/∂r)ᵀ + W ∂L/∂r xᵀ" in text
    assert text.rstrip().endswith("∇x = Wᵀ W r − r")
    assert "∇W = W x rᵀ + W r xᵀ" in text


def test_gplvm_derivation_shows_both_paths_of_x_and_simplifies_the_symmetric_kernel():
    text = write(losses.gplvm(), "gplvm")
    assert "X reaches the loss along 2 edges" in text and "K reaches the loss along 2 edges" in text
    assert "∇X = α (−D K⁻¹ + K⁻¹ Y Yᵀ K⁻¹) X" in text  # fractions cleared, not 2 α (−½ …)
    assert "K⁻ᵀ" not in text and "(K⁻¹)ᵀ" not in text  # K is known to be symmetric
    assert {"K", "Kinv"} <= symmetric_nodes(losses.gplvm().nx)


def test_fcnet_swish_derivation_keeps_the_gradient_of_z2():
    text = write(losses.fcnet_swish(), "fcnet-swish")
    assert "∂L/∂W₂ = ∂L/∂z₂ h₁ᵀ" in text
    assert "∂L/∂z₂ = softmax(z₂, axis=0) − onehot(z₂, y, axis=0)" in text  # pasteable as printed
    assert "∂L/∂z₁ = ∂L/∂h₁ ⊙ (σ(z₁) + h₁ ⊙ (1 − σ(z₁)))" in text


def test_symmetry_is_not_assumed_without_a_reason():
    A = bp.param("A", np.random.default_rng(0).normal(size=(3, 3)))
    g = bp.Graph(bp.logdet(A @ A + 4.0 * bp.eye(3)))
    symmetric = symmetric_nodes(g.nx)
    assert {g.nx.nodes[n]["op"] for n in symmetric} == {None, "mul"}  # I and 4 I, not A A + 4 I
    assert_formulas_match_numbers(g)
    assert "inv(" in derive(g).expr(derive(g).node_expanded["A"])


# ---------------------------------------------------------------- formats and commands

STANDARD_MACROS = {"documentclass", "usepackage", "begin", "end", "section", "subsection",
                   "frac", "partial", "top", "odot", "left", "right", "operatorname", "text",
                   "tfrac", "log", "exp", "tanh", "sigma", "alpha", "beta", "lambda", "gamma",
                   "lVert", "rVert", "sqrt", "sum", "mathbf", "mathrm", "nabla", "_", "le", "ge", "ne",
                   "max", "min", "delta", "mu", "varepsilon", "epsilon"}


@pytest.mark.parametrize("name", sorted(losses.BUILTINS))
def test_latex_is_balanced_and_uses_standard_macros_only(name):
    tex = write(losses.BUILTINS[name](), name, "latex")
    body = tex.replace("\\\\", " ")
    assert body.count("{") == body.count("}")
    assert body.count("\\left") == body.count("\\right")
    assert body.count("\\begin{") == body.count("\\end{")
    assert set(re.findall(r"\\([A-Za-z]+|_)", body)) <= STANDARD_MACROS


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no LaTeX engine installed")
@pytest.mark.parametrize("name", ["autoencoder", "gplvm", "fcnet-swish", "two-layer-net"])
def test_latex_compiles(tmp_path, name):
    (tmp_path / "d.tex").write_text(write(losses.BUILTINS[name](), name, "latex"))
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "d.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]


def test_markdown_derivation():
    md = write(losses.autoencoder(), "autoencoder", "markdown")
    assert md.startswith("## Derivation of autoencoder")
    assert r"- sum: $\frac{\partial L}{\partial W} = " in md
    assert md.count("$") % 2 == 0


def test_derive_command_and_formula_fields_as_claims(tmp_path):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "graphviz_bp", *args], capture_output=True,
                              text=True, cwd=tmp_path)

    result = cli("derive", "gplvm", "--format", "latex")
    assert result.returncode == 0 and result.stdout.startswith("\\documentclass")
    assert cli("derive", "gplvm", "--format", "html").returncode == 2
    doc = __import__("json").loads(cli("inspect", "fcnet-swish", "--json").stdout)
    claims = [f"{n['id']}={n['formula']}" for n in doc["nodes"] if n["kind"] != "const"
              and n["grad"] is not None]
    args = [a for c in claims for a in ("--claim", c)]
    checked = cli("check", "fcnet-swish", *args, "--json")
    report = __import__("json").loads(checked.stdout)
    assert checked.returncode == 0 and len(report["claims"]) == len(claims) >= 10


def test_figures_show_formulas(tmp_path):
    source = bp.to_dot(losses.autoencoder(), show="values,formulas")
    assert "∇W = ① + ② = W x (∂L/∂r)ᵀ + W ∂L/∂r xᵀ" in source
    assert "① ∇ = W x (∂L/∂r)ᵀ" in source and "[" in source  # values too
    only = bp.to_dot(losses.autoencoder(), show="formulas")
    assert "0.126" not in only.split("tooltip")[0]
    svg = draw(only, "svg")
    assert "W x (∂L/∂r)ᵀ".encode() in svg


def test_deep_nets_keep_local_formulas_and_say_when_a_result_is_too_long(monkeypatch):
    import graphviz_bp.symbolic as symbolic

    g = losses.fc_net(hidden_dims=[3] * 60, N=2, D=2, C=2)
    d = derive(g, expanded=False)
    assert set(d.node_expanded.values()) == {None}
    assert d.text(d.node_local["W1"]) == "Xᵀ ∂L/∂Z₁ + reg W₁"
    monkeypatch.setattr(symbolic, "MAX_EXPANDED_SIZE", 30)
    text = write(g, "fc-net")
    assert "∇W1" not in text and "∇W₁ = too long to write out in full" in text
    # N = D = C = 2: no one size is the batch's, so the count is written as size(y)
    assert "∇W₆₁ = H₆₀ᵀ ((softmax(S) − onehot(S, y)) / size(y)) + reg W₆₁" in text


def test_the_command_line_offers_every_derivation_format():
    from graphviz_bp import cli, derivation

    assert cli.DERIVATION_FORMATS == derivation.FORMATS


def test_long_unnamed_intermediates_are_written_by_their_node_and_defined_once():
    from graphviz_bp.dot import FORMULA_LENGTH
    from graphviz_bp.sources import expression_source

    text = "sumsq(tanh(W @ x + b) * tanh(W @ x + b) - exp(W @ x))"
    g = expression_source(text, ["W=3x3", "x=3", "b=3"]).build(0)
    derivation = write(g, "long")
    forward = derivation.split("Backward")[0]
    assert "mul_7 = tanh(W x + b) ⊙ tanh(W x + b)" in forward
    result = derivation.split("Result, written out\n")[1]
    assert all(len(line) < 200 for line in result.splitlines())
    for line in result.strip().splitlines():  # still a claim that holds, names and all
        wrt, claim = bp.claims.parse_claim(line)
        assert bp.check_claim(g, wrt, claim).ok, line
    labels = re.findall(r'<FONT COLOR="#[0-9a-f]+">(?:\S )?∇ = ([^<]*)</FONT>',
                        bp.to_dot(g, show="formulas"))
    assert labels and max(map(len, labels)) <= FORMULA_LENGTH


def test_a_step_that_uses_symmetry_shows_the_rule_instance_and_says_why():
    text = write(losses.gplvm_l1(), "gplvm-l1")
    assert "[into log|K|: logdet rule g ⊙ a⁻¹ᵀ = −½ D K⁻¹ᵀ, K symmetric]" in text
    plain = write(losses.autoencoder(), "autoencoder")
    assert "symmetric" not in plain  # nothing symmetric used there
