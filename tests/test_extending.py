"""Adding an op is one stanza: an op defined here, and nowhere else, works everywhere.

It parses in the expression language, is a function of the Python API, evaluates, is
checked against finite differences, is derived symbolically (and the derivation holds as
a claim), is drawn, and is printed as text, LaTeX and by the command line.
"""

import json

import numpy as np
import pytest

import graphviz_bp as bp
from graphviz_bp.claims import check_claim
from graphviz_bp.cli import main
from graphviz_bp.derivation import write
from graphviz_bp.dot import to_dot
from graphviz_bp.drawing import draw
from graphviz_bp.expr import parse
from graphviz_bp.ops import OPS, Notation, defop, undefop
from graphviz_bp.ops.shapes import same_shape
from graphviz_bp.printing import to_expr, to_latex, to_text
from graphviz_bp.symbolic import derive
from graphviz_bp.terms import Apply, Name


@pytest.fixture
def cube():
    """a³, entry by entry: the whole op, in one stanza."""
    op = defop("cube", symbol="(·)³", forward=lambda a: a * a * a, shape=same_shape,
               vjp=(lambda g, out, a: 3.0 * g * a * a,), rule=("3 * g * a ** 2",),
               domain=("real",), doc="a³, elementwise", elementwise=True,
               notation=Notation("{0}³", "{0}^{{3}}", level=5, wrap=(5,)))
    yield op
    undefop("cube")
    assert "cube" not in OPS and "cube" not in bp.FUNCTIONS


def values():
    rng = np.random.default_rng(3)
    return rng.normal(size=(2, 3)), rng.normal(size=(3, 1))


def test_a_new_op_parses_evaluates_checks_and_derives(cube):
    W0, x0 = values()
    names = {"W": bp.param("W", W0), "x": bp.data("x", x0)}
    g = bp.Graph(parse("0.5 * sumsq(cube(W @ x))", names))
    h = W0 @ x0
    assert g.loss == pytest.approx(0.5 * np.sum(h**6), rel=1e-13)
    np.testing.assert_allclose(g.grad("W"), 3 * h**5 @ x0.T, rtol=1e-12)
    assert all(r.ok and r.max_rel_error < 1e-8 for r in bp.check_gradients(g))

    api = bp.Graph(0.5 * bp.sumsq(bp.cube(bp.param("W", W0) @ bp.data("x", x0))))
    np.testing.assert_allclose(api.grad("W"), g.grad("W"), rtol=1e-14)

    deriv = derive(g)
    result = deriv.expr(deriv.node_expanded["W"])
    assert "cube(" in result and check_claim(g, "W", result).ok
    assert not check_claim(g, "W", result.replace("3 *", "2 *", 1)).ok
    assert "(W x)³" in write(g, "cube")


def test_a_new_op_is_drawn_and_printed(cube):
    t = Apply("cube", (Apply("add", (Name("a"), Name("b"))),))
    assert to_text(t) == "(a + b)³" and to_latex(t) == r"\left(a + b\right)^{3}"
    assert to_expr(t) == "cube(a + b)"
    W0, x0 = values()
    g = bp.Graph(bp.sum(bp.cube(bp.param("W", W0) @ bp.data("x", x0))))
    source = to_dot(g, show="values,formulas")
    assert 'class="op cube"' in source and "(·)³" in source
    assert b'class="node op cube"' in draw(source, "svg")


def test_a_new_op_on_the_command_line(cube, capsys):
    expr = ["--expr", "sum(cube(W @ x))", "--var", "W=2x3", "--var", "x=3"]
    assert main(["derive", *expr]) == 0
    assert "  ∇W = outer(3 𝟙 ⊙ (W x)², x)\n" in capsys.readouterr().out
    assert main(["check", *expr, "--json", "--claim", "W=outer(3 * (W @ x) ** 2, x)"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["claims"][0]["ok"]
