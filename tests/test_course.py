"""The course's built-in losses against independent numpy solutions (tests/references.py),
finite differences, their own derivations, and the same loss typed in the language."""

import numpy as np
import pytest

import graphviz_bp as bp
import references as ref
from conftest import assert_close
from graphviz_bp import losses
from graphviz_bp.expr import parse
from graphviz_bp.printing import to_expr
from graphviz_bp.symbolic import derive


def values(g, *names):
    return [np.asarray(g.value(n)) for n in names]


def normalised(x, gamma, beta, axis):
    """An independent forward of batch/layer norm, for the upstream ∂L/∂out = out − t."""
    mu = x.mean(axis=axis, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axis, keepdims=True)
    return gamma * (x - mu) / np.sqrt(var + ref.NORM_EPS) + beta


def reference(name, g):
    """The reference's (loss, grads) for the values of built-in graph g."""
    if name == "svm":
        X, W, y = values(g, "X", "W", "y")
        return ref.svm(X, W, y, float(g.value("reg")))
    if name in ("batchnorm", "layernorm"):
        x, gamma, beta, t = values(g, "x", "gamma", "beta", "t")
        axis = 0 if name == "batchnorm" else 1
        upstream = normalised(x, gamma, beta, axis) - t
        _, grads = getattr(ref, name)(x, gamma, beta, upstream)
        return 0.5 * float(np.sum(upstream ** 2)), grads
    if name == "dropout":
        x, W, mask, t = values(g, "x", "W", "mask", "t")
        return ref.dropout(x, W, mask, float(g.value("p")), t)
    if name == "embedding":
        W, idx, t = values(g, "W", "idx", "t")
        return ref.embedding(W, idx, t)
    if name == "logistic":
        X, w, b, y = values(g, "X", "w", "b", "y")
        return ref.logistic(X, w, float(b), y)
    if name == "mse":
        X, W, b, Y = values(g, "X", "W", "b", "Y")
        return ref.mse(X, W, b, Y)
    if name == "huber":
        X, w, y = values(g, "X", "w", "y")
        return ref.huber(X, w, y, float(g.value("delta")))
    if name == "residual":
        x, W1, W2, t = values(g, "x", "W1", "W2", "t")
        return ref.residual(x, W1, W2, t)
    raise KeyError(name)


SIZES = {"svm": {"N": 6, "C": 4}, "batchnorm": {"N": 5, "D": 2}, "layernorm": {"N": 3, "D": 5},
         "dropout": {"H": 3, "p": 0.25}, "embedding": {"V": 3, "N": 6}, "logistic": {"N": 7},
         "mse": {"K": 1}, "huber": {"delta": 0.5}, "residual": {"H": 2}}


@pytest.mark.parametrize("name", sorted(losses.COURSE))
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("other_sizes", [False, True])
def test_agrees_with_the_reference_solution(name, seed, other_sizes):
    g = losses.COURSE[name](**(SIZES[name] if other_sizes else {}), seed=seed)
    loss, grads = reference(name, g)
    assert g.loss == pytest.approx(loss, rel=1e-12)
    for leaf, expected in grads.items():
        assert_close(g.grad(leaf), expected, rtol=1e-10)
    assert set(grads) == set(g.leaves())  # every leaf with a gradient is compared


@pytest.mark.parametrize("name", sorted(losses.COURSE))
def test_finite_differences_and_derivation_agree(name):
    g = losses.COURSE[name]()
    assert all(r.ok for r in bp.check_gradients(g))
    d = derive(g)
    for leaf in g.leaves():
        formula = d.node_expanded.get(leaf) or d.node_local[leaf]
        result = bp.check_claim(g, leaf, to_expr(formula))
        assert result.ok, (leaf, to_expr(formula), result.reason)


def test_batchnorm_sums_three_paths_into_x():
    g = losses.batchnorm()
    paths = [v for _, v, flows in g.nx.out_edges("x", data="flows") if flows]
    assert sorted(paths) == ["mu", "xc"]          # x − μ, and μ itself
    assert g.nx.nodes["xc"]["multipath"]         # x − μ reaches σ² and x̂
    assert g.nx.nodes["xc"]["multipath"] and g.nx.nodes["x"]["multipath"]


def test_an_embedding_row_looked_up_twice_gets_both_gradients():
    g = losses.embedding()
    idx, t, W = g.value("idx"), g.value("t"), g.value("W")
    twice = idx[0]
    rows = np.flatnonzero(idx == twice)
    assert len(rows) >= 2
    assert_close(g.grad("W")[twice], (W[idx] - t)[rows].sum(axis=0), rtol=1e-12)


#: Each loss as a course solution writes it, one statement per line.
TEXTS = {
    "svm": """
        S = X @ W
        correct = S[arange(N), y]
        margins = maximum(0, S - correct[:, None] + 1) * (1 - onehot(S, y))
        L = mean(sum(margins, axis=1)) + 0.5 * reg * sumsq(W)
    """,
    "batchnorm": """
        mu = mean(x, axis=0, keepdims=True)
        xc = x - mu
        var = mean(xc ** 2, axis=0, keepdims=True)
        xhat = xc / sqrt(var + eps)
        out = gamma * xhat + beta
        L = 0.5 * sumsq(out - t)
    """,
    "layernorm": """
        mu = mean(x, axis=1, keepdims=True)
        xc = x - mu
        var = mean(xc ** 2, axis=1, keepdims=True)
        xhat = xc / sqrt(var + eps)
        L = 0.5 * sumsq(gamma * xhat + beta - t)
    """,
    "dropout": "h = (x @ W) * mask / (1 - p); L = 0.5 * sumsq(h - t)",
    "embedding": "E = W[idx]; L = 0.5 * sumsq(E - t)",
    "logistic": "z = X @ w + b; L = mean(softplus(z) - y * z)",
    "mse": "r = X @ W + b - Y; L = mean(r ** 2)",
    "huber": """
        r = X @ w - y
        L = mean(where(abs(r) <= delta, 0.5 * r ** 2, delta * (abs(r) - 0.5 * delta)))
    """,
    "residual": "h = x + relu(x @ W1) @ W2; L = 0.5 * sumsq(h - t)",
}


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_the_loss_typed_in_the_language_agrees_with_the_builtin(name):
    g = losses.COURSE[name](seed=3)
    leaves = {n: (bp.const if kind == "const" else bp.param)(n, g.value(n))
              for n, kind in g.nx.nodes(data="kind") if kind != "op" and g.nx.nodes[n]["named"]}
    leaves.update({k: bp.const(k, v) for k, v in g.nx.graph["sizes"].items() if k not in leaves})
    typed = bp.Graph(parse(TEXTS[name], leaves))
    assert typed.loss == pytest.approx(g.loss, rel=1e-12)
    for leaf in g.leaves():
        assert_close(typed.grad(leaf), g.grad(leaf), rtol=1e-12)
    assert all(r.ok for r in bp.check_gradients(typed))
