"""The built-in losses against the closed forms of losses-reference.md, and finite differences.

Every closed form here is written in plain numpy from the reference, independently of the
op table, and compared at several seeds and sizes.
"""

import numpy as np
import pytest

import graphviz_bp as bp
from graphviz_bp import losses
from conftest import assert_close

SEEDS = [0, 1, 7]


def softmax_rows(S):
    e = np.exp(S - S.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def edge_grad(g, source, target_op=None, target=None):
    """The gradient along the single edge from ``source`` into an op (or a named node)."""
    found = [d["grad"] for _, v, d in g.nx.out_edges(source, data=True)
             if v == target or (target is None and g.nx.nodes[v]["op"] == target_op)]
    assert len(found) == 1, found
    return found[0]


# ------------------------------------------------------------------ 1. linear autoencoder

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("m, n", [(2, 3), (3, 5), (4, 10)])
def test_autoencoder_closed_form(m, n, seed):
    g = losses.autoencoder(m=m, n=n, seed=seed)
    W, x = g.value("W"), g.value("x")
    r = W.T @ W @ x - x
    assert g.loss == pytest.approx(0.5 * float(np.sum(r * r)), rel=1e-12)
    assert_close(g.grad("W"), W @ r @ x.T + W @ x @ r.T)
    assert_close(g.grad("x"), (W.T @ W - np.eye(n)) @ r)


def test_autoencoder_w_is_the_sum_of_its_two_paths():
    g = losses.autoencoder(m=3, n=5, seed=4)
    W, x = g.value("W"), g.value("x")
    r = W.T @ W @ x - x
    assert g.nx.nodes["W"]["multipath"] and g.nx.out_degree("W") == 2
    assert_close(edge_grad(g, "W", target_op="matmul"), W @ r @ x.T)     # through W x
    assert_close(edge_grad(g, "W", target_op="transpose"), W @ x @ r.T)  # through Wᵀ
    # Each term alone is wrong: the sum is what the reference asks for.
    assert not np.allclose(edge_grad(g, "W", target_op="matmul"), g.grad("W"))


# ------------------------------------------------------------------ 2. GP-LVM

def gplvm_closed_form(X, Y, alpha, beta):
    N, D = Y.shape
    K = alpha * X @ X.T + np.eye(N) / beta
    Kinv = np.linalg.inv(K)
    L1 = -D / 2 * np.linalg.slogdet(K)[1]
    L2 = -0.5 * np.trace(Kinv @ Y @ Y.T)
    dL1_dX = -alpha * D * Kinv @ X
    dL2_dX = alpha * Kinv @ Y @ Y.T @ Kinv @ X
    dL2_dY = -Kinv @ Y
    return K, L1, L2, dL1_dX, dL2_dX, dL2_dY


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("N, Q, D, alpha, beta", [(3, 2, 2, 1.0, 2.0), (5, 2, 4, 0.5, 3.0),
                                                  (6, 3, 1, 2.0, 0.7)])
def test_gplvm_closed_forms(N, Q, D, alpha, beta, seed):
    sizes = dict(N=N, Q=Q, D=D, alpha=alpha, beta=beta, seed=seed)
    l1, l2, both = losses.gplvm_l1(**sizes), losses.gplvm_l2(**sizes), losses.gplvm(**sizes)
    X, Y = both.value("X"), both.value("Y")
    K, L1, L2, dL1_dX, dL2_dX, dL2_dY = gplvm_closed_form(X, Y, alpha, beta)
    for g in (l1, l2, both):
        assert_close(g.value("K"), K, rtol=1e-14)
    assert l1.loss == pytest.approx(L1, rel=1e-12)
    assert l2.loss == pytest.approx(L2, rel=1e-12)
    assert both.loss == pytest.approx(L1 + L2, rel=1e-12)
    assert_close(l1.grad("X"), dL1_dX)
    assert_close(l2.grad("X"), dL2_dX)
    assert_close(l2.grad("Y"), dL2_dY)
    assert_close(both.grad("X"), alpha * (np.linalg.inv(K) @ Y @ Y.T @ np.linalg.inv(K)
                                          - D * np.linalg.inv(K)) @ X)
    assert_close(both.grad("Y"), dL2_dY)
    assert both.value("alpha") == alpha and both.value("beta") == beta and both.value("D") == D


def test_gplvm_x_reaches_k_along_two_paths_each_half_of_the_gradient():
    # A common hand error drops one path of X Xᵀ and is off by a factor of 2.
    g = losses.gplvm(N=4, Q=2, D=3, seed=5)
    assert g.nx.nodes["X"]["multipath"] and g.nx.out_degree("X") == 2
    via_x = edge_grad(g, "X", target_op="matmul")
    via_xt = edge_grad(g, "X", target_op="transpose")
    assert_close(via_x, g.grad("X") / 2)
    assert_close(via_xt, g.grad("X") / 2)
    assert_close(via_x + via_xt, g.grad("X"), rtol=1e-15)


# ------------------------------------------------------------------ 3. Swish net, one column

@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("D, H, C", [(3, 4, 7), (5, 2, 7), (2, 6, 3)])
def test_fcnet_swish_closed_form(D, H, C, seed):
    g = losses.fcnet_swish(D=D, H=H, C=C, seed=seed)
    x, W1, b1, W2, b2 = (g.value(n) for n in ("x", "W1", "b1", "W2", "b2"))
    y = int(g.value("y"))
    z1 = W1 @ x + b1
    h1 = z1 * sigmoid(z1)
    z2 = W2 @ h1 + b2
    p = np.exp(z2 - z2.max()) / np.exp(z2 - z2.max()).sum()
    e_y = np.zeros((C, 1))
    e_y[y] = 1.0
    dz2 = p - e_y
    swish_prime = (1 + (z1 + 1) * np.exp(-z1)) / (1 + np.exp(-z1)) ** 2
    dz1 = swish_prime * (W2.T @ dz2)
    assert g.loss == pytest.approx(-np.log(p[y, 0]), rel=1e-12)
    assert_close(g.value("h1"), h1, rtol=1e-14)
    assert_close(g.grad("z2"), dz2)
    assert_close(g.grad("W2"), dz2 @ h1.T)
    assert_close(g.grad("b2"), dz2)
    assert_close(g.grad("z1"), dz1)
    assert_close(g.grad("W1"), dz1 @ x.T)
    assert_close(g.grad("b1"), dz1)
    assert g.value("x").shape == (D, 1) and g.value("b1").shape == (H, 1)


# ------------------------------------------------------------------ 4 and 5. batched ReLU nets

def relu_net_closed_form(X, y, weights, biases, reg):
    """Loss and gradients of an affine-ReLU net, layer by layer as in the reference."""
    N = X.shape[0]
    outs, pre = [X], []
    for k, (W, b) in enumerate(zip(weights, biases)):
        Z = outs[-1] @ W + b
        pre.append(Z)
        outs.append(np.maximum(0, Z) if k < len(weights) - 1 else Z)
    S = outs[-1]
    P = softmax_rows(S)
    loss = -np.mean(np.log(P[np.arange(N), y])) + 0.5 * reg * sum(np.sum(W * W) for W in weights)
    dZ = (P - np.eye(S.shape[1])[y]) / N
    dWs, dbs = [None] * len(weights), [None] * len(weights)
    for k in reversed(range(len(weights))):
        dWs[k] = outs[k].T @ dZ + reg * weights[k]
        dbs[k] = dZ.sum(axis=0)
        if k:
            dZ = (dZ @ weights[k].T) * (pre[k - 1] > 0)
    return loss, dWs, dbs


def assert_relu_net(g, layers, reg):
    weights = [g.value(f"W{k}") for k in range(1, layers + 1)]
    biases = [g.value(f"b{k}") for k in range(1, layers + 1)]
    loss, dWs, dbs = relu_net_closed_form(g.value("X"), g.value("y"), weights, biases, reg)
    assert g.loss == pytest.approx(loss, rel=1e-12)
    for k in range(layers):
        assert_close(g.grad(f"W{k + 1}"), dWs[k])
        assert_close(g.grad(f"b{k + 1}"), dbs[k])
        assert g.nx.nodes[f"W{k + 1}"]["multipath"]  # data path + penalty path


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("N, D, H, C, reg", [(4, 3, 5, 3, 0.1), (7, 4, 6, 5, 0.0), (2, 6, 3, 10, 1.5)])
def test_two_layer_net_closed_form(N, D, H, C, reg, seed):
    g = losses.two_layer_net(N=N, D=D, H=H, C=C, reg=reg, seed=seed)
    assert g.value("b1").shape == (H,) and g.value("y").shape == (N,)
    assert_relu_net(g, 2, reg)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("hidden_dims", [(4,), (4, 4), (5, 3, 6, 2)])
def test_fc_net_closed_form(hidden_dims, seed):
    g = losses.fc_net(hidden_dims=hidden_dims, N=5, D=3, C=4, reg=0.2, seed=seed)
    assert_relu_net(g, len(hidden_dims) + 1, 0.2)
    layers = len(hidden_dims) + 1  # leaves come in the order the net uses them
    assert g.leaves("param") == [name for k in range(1, layers + 1) for name in (f"W{k}", f"b{k}")]


def test_fc_net_names_follow_layer_order():
    g = losses.fc_net(hidden_dims=[3, 3, 3], seed=0)
    for k in (1, 2, 3, 4):
        assert g.value(f"W{k}").shape[1] == g.value(f"b{k}").shape[0]
    assert [g.value(f"W{k}").shape for k in (1, 2, 3, 4)] == [(3, 3), (3, 3), (3, 3), (3, 3)]
    assert {"Z1", "H1", "Z3", "H3", "S"} <= set(g.nx)


# ------------------------------------------------------------------ finite differences, all built-ins

@pytest.mark.parametrize("name", sorted(losses.BUILTINS))
@pytest.mark.parametrize("seed", [0, 11])
def test_builtins_match_finite_differences(name, seed):
    g = losses.BUILTINS[name](seed=seed)
    results = bp.check_gradients(g)
    assert {r.wrt for r in results} == set(g.leaves())
    for r in results:
        assert r.method == "entries" and r.max_rel_error <= 1e-6, r


def test_cifar_sized_two_layer_net_evaluates_and_checks():
    g = losses.two_layer_net(N=500, D=3072, H=100, C=10, seed=0)
    assert np.isfinite(g.loss) and g.grad("W1").shape == (3072, 100)
    assert_relu_net(g, 2, 0.1)
    for r in bp.check_gradients(g, ["W1", "b1", "W2"]):
        assert r.ok, r
    assert {r.method for r in bp.check_gradients(g, ["W1"])} == {"directions+samples"}


@pytest.mark.parametrize("call, message", [
    (lambda: losses.autoencoder(m=0), "autoencoder: m must be a positive integer, got 0"),
    (lambda: losses.gplvm(alpha=-1.0), "gplvm: alpha must be a positive number"),
    (lambda: losses.two_layer_net(reg=-0.1), "two-layer-net: reg must be a number >= 0"),
    (lambda: losses.fc_net(hidden_dims=[3, 0]), "fc-net: hidden_dims must be a positive integer"),
    (lambda: losses.fcnet_swish(C=2.5), "fcnet-swish: C must be a positive integer"),
])
def test_bad_sizes_are_clear_errors(call, message):
    with pytest.raises(bp.GraphvizBPError, match=message):
        call()
