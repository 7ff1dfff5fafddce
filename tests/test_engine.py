"""The forward and reverse passes: totals are sums of edge contributions, fan-out, re-evaluation."""

import numpy as np
import pytest

import graphviz_bp as bp
from graphviz_bp import losses
from conftest import assert_close


def assert_totals_are_edge_sums(g):
    G = g.nx
    for n, d in G.nodes(data=True):
        contributions = [e["grad"] for _, _, e in G.out_edges(n, data=True) if e["grad"] is not None]
        if n == g.loss_id:
            assert d["grad"] == 1.0
        elif contributions:
            assert_close(d["grad"], sum(contributions), rtol=1e-15)
            assert np.shape(d["grad"]) == d["shape"]
        else:
            assert d["grad"] is None, n


@pytest.mark.parametrize("name", sorted(losses.BUILTINS))
def test_every_node_grad_is_the_sum_of_its_out_edges(name):
    assert_totals_are_edge_sums(losses.BUILTINS[name](seed=3))


def test_fan_out_accumulates_instead_of_overwriting():
    # The bug of early tinygrad: a value used twice must keep both paths' gradients.
    x = bp.data("x", 3.0)
    g = bp.Graph(x * x + x)
    assert g.grad("x") == 7.0
    assert sorted(d["grad"] for _, _, d in g.nx.out_edges("x", data=True)) == [1.0, 3.0, 3.0]
    assert g.nx.nodes["x"]["multipath"]


def test_edge_values_are_the_source_values_not_copies():
    g = losses.autoencoder()
    for u, _, d in g.nx.edges(data=True):
        assert d["value"] is g.nx.nodes[u]["value"]


def test_values_and_shapes_agree():
    g = losses.gplvm()
    for n, d in g.nx.nodes(data=True):
        assert np.shape(d["value"]) == d["shape"], n
        assert np.asarray(d["value"]).dtype in (np.float64, np.int64), n


def test_set_then_evaluate_recomputes_both_passes():
    g = losses.autoencoder(seed=0)
    W = g.value("W").copy()
    before = g.grad("W").copy()
    g.set("W", 2 * W)
    g.evaluate()
    fresh = losses.autoencoder(seed=0)
    fresh.set("W", 2 * W)
    fresh.evaluate()
    assert g.loss == fresh.loss and not np.allclose(g.grad("W"), before)
    assert_close(g.grad("W"), fresh.grad("W"), rtol=0)
    x = g.value("x")
    r = (2 * W).T @ (2 * W) @ x - x
    assert g.loss == pytest.approx(0.5 * float(np.sum(r * r)), rel=1e-14)


def test_forward_below_one_leaf_matches_a_full_pass():
    g = losses.gplvm(seed=2)
    g.set("Y", g.value("Y") + 1.0)
    partial = g.forward(changed="Y")
    assert partial == g.forward()


def test_set_checks_names_shapes_and_kinds():
    g = losses.autoencoder()
    with pytest.raises(bp.UnknownNameError, match="no node named 'w'.*did you mean 'W'"):
        g.value("w")
    with pytest.raises(KeyError):
        g.grad("nope")
    with pytest.raises(bp.ShapeError, match=r"'W' has shape \(2, 3\), got a value of shape \(3, 2\)"):
        g.set("W", np.ones((3, 2)))
    with pytest.raises(bp.GraphvizBPError, match="only leaves can be set"):
        g.set("r", np.ones((3, 1)))


def test_logdet_of_a_matrix_that_is_not_positive_definite_names_the_node():
    K = bp.param("K", -np.eye(3))
    with pytest.raises(bp.NumericalError, match=r"node 'logdet_1'.*det < 0"):
        bp.Graph(bp.logdet(K))
    g = losses.gplvm_l1(N=3, Q=3)
    g.set("alpha", -50.0)  # α XXᵀ + β⁻¹I then has three negative eigenvalues
    with pytest.raises(bp.NumericalError, match=r"node 'logdet_\d+': log\|K\| needs"):
        g.evaluate()


def test_singular_inverse_is_an_error_naming_the_node():
    K = bp.param("K", np.ones((2, 2)))
    with pytest.raises(bp.NumericalError, match=r"node 'Kinv'.*singular"):
        bp.Graph(bp.sum(bp.inv(K).named("Kinv")))


def test_loss_must_be_scalar():
    with pytest.raises(bp.ShapeError, match="scalar"):
        bp.Graph(bp.data("x", np.ones(2)) * 2)


def test_a_one_by_one_loss_is_accepted():
    x = bp.data("x", np.array([[1.0], [2.0]]))
    g = bp.Graph(x.T @ x)
    assert g.loss == 5.0 and g.grad("x").tolist() == [[2.0], [4.0]]


@pytest.mark.parametrize("build", [
    lambda X: bp.sum(X * X),
    lambda X: bp.sumsq(X @ X.T),
    lambda X: bp.trace(X.T @ X @ X.T @ X),
    lambda X: bp.sum(bp.tanh(X) * X) + bp.mean(X),
])
def test_a_node_in_several_slots_matches_finite_differences(build):
    X = bp.param("X", np.random.default_rng(0).normal(size=(3, 2)))
    g = bp.Graph(build(X))
    assert g.nx.nodes["X"]["multipath"]
    (result,) = bp.check_gradients(g)
    assert result.ok and result.max_rel_error < 1e-8
    assert_totals_are_edge_sums(g)


def test_gradients_are_laid_out_like_their_values():
    # Wᵀ's gradient comes back through the transpose; computed in Wᵀ's own (transposed)
    # layout, it reaches W in C order, and W's two contributions add at full speed.
    g = losses.autoencoder(m=4, n=6)
    assert g.value("W").flags.c_contiguous
    for _, _, d in g.nx.out_edges("W", data=True):
        assert d["grad"].flags.c_contiguous
    assert g.grad("W").flags.c_contiguous


def test_a_gradient_held_by_the_caller_survives_the_next_pass():
    g = losses.autoencoder(seed=1)
    held = g.grad("W")
    kept = held.copy()
    g.set("W", 2 * g.value("W"))
    g.evaluate()
    assert g.grad("W") is not held and not np.allclose(g.grad("W"), kept)
    np.testing.assert_array_equal(held, kept)


def test_log_det_reuses_the_inverse_the_graph_computes(monkeypatch):
    # ∂ log|K|/∂K = K⁻ᵀ: the GP-LVM has K⁻¹ as a node already, so one inverse per pass.
    calls = []
    real_inv = np.linalg.inv
    monkeypatch.setattr(np.linalg, "inv", lambda a: calls.append(a.shape) or real_inv(a))
    both = losses.gplvm(N=5, seed=3)
    calls.clear()
    both.evaluate()
    assert calls == [(5, 5)]
    alone = losses.gplvm_l1(N=5, seed=3)  # no K⁻¹ node: the VJP inverts K itself
    calls.clear()
    alone.evaluate()
    assert calls == [(5, 5)]
    K = both.value("K")
    np.testing.assert_allclose(both.nx.edges["K", "logdet_9", 0]["grad"],
                               -both.value("D") / 2 * real_inv(K).T, rtol=1e-12)
