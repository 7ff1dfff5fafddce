"""The checker itself: it passes right gradients and catches a deliberately wrong rule."""

import dataclasses

import numpy as np
import pytest

import graphviz_bp as bp
from graphviz_bp import losses
from graphviz_bp.ops import OPS


def plant(monkeypatch, name, slot, factor):
    """Replace one VJP of the table by the right one times ``factor``."""
    op = OPS[name]
    right = op.vjp[slot]
    wrong = list(op.vjp)
    wrong[slot] = lambda g, out, *args, **params: factor * right(g, out, *args, **params)
    monkeypatch.setitem(OPS, name, dataclasses.replace(op, vjp=tuple(wrong)))


def test_relative_error_follows_the_reference_definition():
    assert bp.relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert bp.relative_error([1.0, -2.0], [1.0, -1.0]) == pytest.approx(0.5)
    assert bp.relative_error(0.0, 1e-20) == 1.0
    assert bp.relative_error(0.0, 1e-20, floor=1e-8) == pytest.approx(1e-12)


@pytest.mark.parametrize("factor", [2.001, 1.0001])
def test_a_wrong_vjp_is_caught_entry_by_entry(monkeypatch, factor):
    plant(monkeypatch, "swish", 0, factor)
    g = losses.fcnet_swish(seed=0)
    results = {r.wrt: r for r in bp.check_gradients(g)}
    # Everything upstream of the swish is wrong, everything after it right.
    assert not results["W1"].ok and not results["b1"].ok and not results["x"].ok
    assert results["W2"].ok and results["b2"].ok
    assert results["W1"].max_rel_error > 1e-5


def test_a_wrong_vjp_is_caught_by_directions_at_large_sizes(monkeypatch):
    plant(monkeypatch, "relu", 0, 2.001)
    g = losses.two_layer_net(N=500, D=3072, H=100, C=10, seed=0)  # a CIFAR-10 batch
    results = {r.wrt: r for r in bp.check_gradients(g, ["W1", "b1", "W2"])}
    assert results["W1"].method == "directions+samples" and not results["W1"].ok
    assert results["W1"].max_rel_error > 0.1 and not results["b1"].ok
    assert results["W2"].ok  # downstream of the ReLU: still right


def test_a_wrong_transpose_path_is_caught(monkeypatch):
    # Dropping the Wᵀ path of the autoencoder (a zero VJP) halves nothing: it must fail.
    plant(monkeypatch, "transpose", 0, 0.0)
    g = losses.autoencoder(seed=0)
    assert not {r.wrt: r for r in bp.check_gradients(g)}["W"].ok


def test_check_leaves_the_graph_as_it_found_it():
    g = losses.gplvm(seed=3)
    before = {n: np.copy(d["value"]) for n, d in g.nx.nodes(data=True)}
    loss = g.loss
    bp.check_gradients(g)
    assert g.loss == loss
    for n, d in g.nx.nodes(data=True):
        assert np.array_equal(d["value"], before[n]), n


def test_large_leaf_uses_directions_and_samples_and_passes():
    g = losses.autoencoder(m=40, n=60, seed=0)
    (result,) = bp.check_gradients(g, "W")
    assert result.method == "directions+samples" and result.ok and result.shape == (40, 60)


def test_a_difference_across_a_relu_kink_is_not_used():
    # x₀ sits 2e-7 from the kink: a difference at the first step (1e-3) would see
    # about half the slope there and fail a right gradient.
    x = bp.data("x", np.array([2e-7, 1.0, -0.5]))
    g = bp.Graph(bp.sum(bp.relu(x) * np.array([3.0, 2.0, 1.0])))
    (result,) = bp.check_gradients(g)
    assert result.ok and result.max_rel_error < 1e-8 and result.step < 2e-7
    assert g.grad("x").tolist() == [3.0, 2.0, 0.0]


def test_large_losses_check_as_tightly_as_small_ones_at_the_same_step():
    # Richardson's O(ε⁴) error lets one step (1e-3 of the leaf's size) serve every scale:
    # the rounding of a loss of 10⁸ is still far below what the tolerance asks.
    from graphviz_bp.gradcheck import FIRST_STEP, spread

    x = bp.data("x", np.linspace(0.5, 1.5, 6))
    steps = set()
    for scale in (1.0, 1e4, 1e8):
        g = bp.Graph(scale * bp.sum(bp.exp(x) * bp.tanh(x)))
        (result,) = bp.check_gradients(g)
        assert result.ok and result.max_rel_error < 1e-7, (scale, result)
        steps.add(result.step)
    # the shortest first step: 1e-3 of the smallest entry, 0.5, never cut
    assert steps == {FIRST_STEP * 0.5} and FIRST_STEP * 0.5 < FIRST_STEP * spread(g.value("x"))


@pytest.mark.parametrize("size", [1e-2, 1e-5, 1e4])
def test_steps_are_relative_to_the_leaf(size):
    # A weight initialised at 0.01 scale, a tiny or a huge input: the first step is 1e-3
    # of the leaf's size, and right gradients pass.
    W = bp.param("W", size * np.random.default_rng(0).normal(size=(3, 4)))
    x = bp.data("x", np.random.default_rng(1).normal(size=(4, 2)))
    g = bp.Graph(bp.sqrt(bp.sumsq(W @ x)) + bp.sum(bp.log(bp.sumsq(W) + 1e-12 * size**2)))
    assert all(r.ok for r in bp.check_gradients(g)), bp.check_gradients(g)


def test_a_one_by_one_loss_is_checked_like_a_scalar():
    x = bp.param("x", np.array([[1.0], [-2.0]]))
    A = bp.const("A", np.diag([1.0, 3.0]))
    (result,) = bp.check_gradients(bp.Graph(x.T @ A @ x))
    assert result.ok and result.max_rel_error < 1e-10
