"""The course's language: statements, array constants, indexing, comparisons, shapes."""

import numpy as np
import pytest

import graphviz_bp as bp
from conftest import assert_close, central_differences
from graphviz_bp.cli import main
from graphviz_bp.engine import value_of
from graphviz_bp.expr import parse
from graphviz_bp.printing import to_expr
from graphviz_bp.symbolic import derive


@pytest.fixture
def names():
    rng = np.random.default_rng(7)
    return {"X": bp.data("X", rng.normal(size=(4, 3))), "W": bp.param("W", rng.normal(size=(3, 5))),
            "y": bp.const("y", np.array([0, 2, 1, 4])), "idx": bp.const("idx", np.array([2, 0, 2]))}


def numeric_grad(text, names, leaf):
    def loss(value):
        changed = dict(names)
        changed[leaf] = bp.param(leaf, value)
        return float(value_of(parse(text, changed)))
    return central_differences(loss, names[leaf].value)


@pytest.mark.parametrize("text, expected", [
    ("X[0]", lambda X, W: X[0]),
    ("X[:, 1:3]", lambda X, W: X[:, 1:3]),
    ("X[-1, ::2]", lambda X, W: X[-1, ::2]),
    ("X[::-1]", lambda X, W: X[::-1]),
    ("X[:, None, :]", lambda X, W: X[:, None, :]),
    ("X[..., 0]", lambda X, W: X[..., 0]),
    ("(X @ W)[arange(4), y]", lambda X, W: (X @ W)[np.arange(4), [0, 2, 1, 4]]),
    ("W[idx]", lambda X, W: W[[2, 0, 2]]),
    ("W[:, idx]", lambda X, W: W[:, [2, 0, 2]]),
    ("take(W, idx, axis=1)", lambda X, W: W[:, [2, 0, 2]]),
    ("reshape(X, (2, 6))", lambda X, W: X.reshape(2, 6)),
    ("reshape(X, (-1,))", lambda X, W: X.reshape(-1)),
    ("concatenate([X, X, X], axis=1)", lambda X, W: np.concatenate([X, X, X], axis=1)),
    ("stack([X, 2 * X], axis=0)", lambda X, W: np.stack([X, 2 * X])),
    ("split(W, 5, axis=1)[3]", lambda X, W: np.split(W, 5, axis=1)[3]),
    ("X > 0", lambda X, W: (X > 0).astype(float)),
    ("where(X > 0, X, 0.1 * X)", lambda X, W: np.where(X > 0, X, 0.1 * X)),
    ("transpose(X)", lambda X, W: X.T),
])
def test_indexing_and_shapes_match_numpy(names, text, expected):
    assert_close(value_of(parse(text, names)), expected(names["X"].value, names["W"].value), rtol=1e-14)


@pytest.mark.parametrize("text", [
    "sumsq(W[idx])",                                   # a row taken twice: both gradients
    "sum((X @ W)[arange(4), y])",
    "sumsq(X[1:, ::2]) + sumsq(W[:, -1])",
    "sumsq(reshape(X @ W, (5, 4)) @ X)",
    "sumsq(concatenate([X @ W, X], axis=1))",
    "sumsq(stack([X, X ** 2], axis=2))",
    "sum(where(X @ W > 0, X @ W, 0.1 * (X @ W)))",
    "a, b = split(X @ W, (2,), axis=1); L = sumsq(a) + sum(b * b * b)",
])
def test_gradients_of_selections_match_finite_differences(names, text):
    g = bp.Graph(parse(text, names))
    for leaf in ("X", "W"):
        if leaf in g.nx and g.grad(leaf) is not None:
            assert_close(g.grad(leaf), numeric_grad(text, names, leaf), rtol=1e-7)
    assert all(r.ok for r in bp.check_gradients(g))


def test_a_row_looked_up_twice_gets_both_contributions(names):
    W = names["W"].value
    g = bp.Graph(bp.sum(names["W"][names["idx"]]))
    expected = np.zeros_like(W)
    expected[0] = 1
    expected[2] = 2
    assert_close(g.grad("W"), expected, rtol=0)


def test_statements_name_nodes_shared_by_later_lines(names):
    text = """
    S = X @ W
    correct = S[arange(4), y]
    margins = where(S - correct[:, None] + 1 > 0, S - correct[:, None] + 1, 0)
    L = sum(margins) / 4
    """
    g = bp.Graph(parse(text, names))
    assert {"S", "correct", "margins", "L"} <= set(g.nx)
    assert g.nx.graph["loss"] == "L"
    assert g.nx.nodes["S"]["multipath"] and g.nx.out_degree("S") == 3
    S = names["X"].value @ names["W"].value
    correct = S[np.arange(4), [0, 2, 1, 4]]
    assert g.loss == pytest.approx(np.maximum(S - correct[:, None] + 1, 0).sum() / 4, rel=1e-14)
    assert all(r.ok for r in bp.check_gradients(g))
    one_line = "S = X @ W; correct = S[arange(4), y]; L = sum(S) - sum(correct)"
    assert bp.Graph(parse(one_line, names)).nx.graph["loss"] == "L"


def test_formulas_with_indices_print_and_read_back(names):
    g = bp.Graph(parse("S = X @ W; L = sumsq(S[:, 1:3]) + sum(S[arange(4), y]) + sum(W[idx])", names))
    d = derive(g)
    for leaf in ("X", "W"):
        formula = to_expr(d.node_expanded[leaf])
        assert bp.check_claim(g, leaf, formula).ok, formula


def test_python_api_indexes_as_numpy(names):
    X, W, y = names["X"], names["W"], names["y"]
    assert (X @ W)[bp.arange(4), y].op == "pick"
    assert X[:, 0].op == "getitem" and X[:, None].op == "expand"
    assert [part.shape for part in bp.split(W, 5, axis=1)] == [(3, 1)] * 5
    assert len(X) == 4 and [row.shape for row in X] == [(3,)] * 4
    with pytest.raises(bp.GraphvizBPError, match="array indices are supported as"):
        X[names["idx"], names["idx"]]


def test_array_constants_on_the_command_line(tmp_path, capsys):
    np.save(tmp_path / "idx.npy", np.array([1, 1, 0]))
    code = main(["check", "--expr", "sumsq(W[idx] * mask)", "--var", "W=2x3",
                 "--const", f"idx=@{tmp_path / 'idx.npy'}", "--const", "mask=[[1, 0, 1], [0, 1, 1], [1, 1, 0]]"])
    assert code == 0, capsys.readouterr()
    assert "all checks pass" in capsys.readouterr().out


@pytest.mark.parametrize("const, message", [
    ("m=[1, 'a']", "rows of equal length"),
    ("m=[[1, 2], [3]]", "not an array of numbers"),
    ("m=[1, __import__('os')]", "not an array of numbers"),
    ("m=@/nonexistent.npy", "cannot read"),
    ("m=[1e999]", "NaN or infinity"),
])
def test_bad_array_constants_are_refused_in_one_line(const, message, capsys):
    code = main(["check", "--expr", "sumsq(W)", "--var", "W=2", "--const", const])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("args, message", [
    (["--expr", "max(X[2:1])"], "no entries along axis 0 to take the mean, max or min of"),
    (["--expr", "mean(X[:, 1:1], axis=1)"], "no entries along axis 1"),
    (["--expr", "sum(softmax(X[:, 2:1]))"], "softmax needs at least one entry along axis -1"),
    (["--expr", "sum(X)", "--var", "sum=2"], "'sum' is a function of the language"),
    (["--expr", "sumsq(X[k])", "--const", "k=1.5"], "an index must be an integer"),
])
def test_empty_reductions_and_clashing_names_are_refused(args, message, capsys):
    code = main(["check", *args, "--var", "X=4x3"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_a_constant_number_indexes_as_an_integer(names):
    names = {**names, "k": bp.const("k", 2.0)}
    assert_close(value_of(parse("X[k]", names)), names["X"].value[2], rtol=0)
