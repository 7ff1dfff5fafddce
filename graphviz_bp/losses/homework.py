"""The homework's losses: the autoencoder, the GP-LVM, the Swish net, the ReLU nets."""

from __future__ import annotations

import numbers

import numpy as np

from ..engine import Graph
from ..errors import GraphvizBPError
from ..functions import inv, logdet, relu, softmax_ce, sumsq, swish, trace
from ..graph import const, data, eye, param
from ..limits import check_size
from .common import builtin as _builtin, nonnegative as _nonnegative, normal as _normal
from .common import positive as _positive, size as _size, sub as _sub

__all__ = ["autoencoder", "gplvm_l1", "gplvm_l2", "gplvm", "fcnet_swish",
           "two_layer_net", "fc_net", "HOMEWORK"]


@_builtin
def autoencoder(m: int = 2, n: int = 3, seed: int = 0) -> Graph:
    """Linear autoencoder: L = ½‖WᵀWx − x‖², W m×n, x n×1 (W is reached along two paths)."""
    m, n = _size("autoencoder", "m", m), _size("autoencoder", "n", n)
    rng = np.random.default_rng(seed)
    W = param("W", _normal(rng, "autoencoder", "W", (m, n)))
    x = data("x", _normal(rng, "autoencoder", "x", (n, 1)))
    r = (W.T @ (W @ x) - x).named("r")
    return Graph((0.5 * sumsq(r)).named("L"))


def _kernel(loss, N, Q, D, alpha, beta, seed):
    N, Q, D = (_size(loss, k, v) for k, v in (("N", N), ("Q", Q), ("D", D)))
    alpha, beta = _positive(loss, "alpha", alpha), _positive(loss, "beta", beta)
    rng = np.random.default_rng(seed)
    check_size((N, N), f"{loss}: K", count=False)
    X = param("X", _normal(rng, loss, "X", (N, Q)))
    Y = data("Y", _normal(rng, loss, "Y", (N, D)))
    a = const("alpha", alpha, label="α")
    b = const("beta", beta, label="β")
    K = (a * (X @ X.T) + eye(N) / b).named("K")
    return K, Y, const("D", float(D))


def _l1(K, D):
    return (-(D / 2) * logdet(K)).named("L1", label="L₁")


def _l2(K, Y):
    Kinv = inv(K).named("Kinv", label="K⁻¹")
    return (-0.5 * trace(Kinv @ Y @ Y.T)).named("L2", label="L₂")


@_builtin
def gplvm_l1(N: int = 3, Q: int = 2, D: int = 2, alpha: float = 1.0, beta: float = 2.0,
             seed: int = 0) -> Graph:
    """GP-LVM, first term: L₁ = −(D/2) log|K|, K = α XXᵀ + β⁻¹I (X reaches K along two paths)."""
    K, _, D = _kernel("gplvm-l1", N, Q, D, alpha, beta, seed)
    return Graph(_l1(K, D))


@_builtin
def gplvm_l2(N: int = 3, Q: int = 2, D: int = 2, alpha: float = 1.0, beta: float = 2.0,
             seed: int = 0) -> Graph:
    """GP-LVM, second term: L₂ = −½ tr(K⁻¹YYᵀ), K = α XXᵀ + β⁻¹I."""
    K, Y, _ = _kernel("gplvm-l2", N, Q, D, alpha, beta, seed)
    return Graph(_l2(K, Y))


@_builtin
def gplvm(N: int = 3, Q: int = 2, D: int = 2, alpha: float = 1.0, beta: float = 2.0,
          seed: int = 0) -> Graph:
    """GP-LVM log-likelihood: L = −(D/2) log|K| − ½ tr(K⁻¹YYᵀ), K = α XXᵀ + β⁻¹I."""
    K, Y, D = _kernel("gplvm", N, Q, D, alpha, beta, seed)
    return Graph((_l1(K, D) + _l2(K, Y)).named("L"))


@_builtin
def fcnet_swish(D: int = 3, H: int = 4, C: int = 7, seed: int = 0) -> Graph:
    """Two-layer net, one example as a column: z₁ = W₁x + b₁, h₁ = swish(z₁), z₂ = W₂h₁ + b₂, softmax loss."""
    D, H, C = (_size("fcnet-swish", k, v) for k, v in (("D", D), ("H", H), ("C", C)))
    rng = np.random.default_rng(seed)
    loss = "fcnet-swish"
    x = data("x", _normal(rng, loss, "x", (D, 1)))
    W1 = param("W1", _normal(rng, loss, "W1", (H, D)) / np.sqrt(D), label="W₁")
    b1 = param("b1", 0.1 * _normal(rng, loss, "b1", (H, 1)), label="b₁")
    W2 = param("W2", _normal(rng, loss, "W2", (C, H)) / np.sqrt(H), label="W₂")
    b2 = param("b2", 0.1 * _normal(rng, loss, "b2", (C, 1)), label="b₂")
    y = const("y", int(rng.integers(C)))
    z1 = (W1 @ x + b1).named("z1", label="z₁")
    h1 = swish(z1).named("h1", label="h₁")
    z2 = (W2 @ h1 + b2).named("z2", label="z₂")
    return Graph(softmax_ce(z2, y, axis=0).named("L"))


def _relu_net(loss, hidden_dims, N, D, C, reg, seed) -> Graph:
    N, D, C = (_size(loss, k, v) for k, v in (("N", N), ("D", D), ("C", C)))
    reg = _nonnegative(loss, "reg", reg)
    if isinstance(hidden_dims, numbers.Integral):
        hidden_dims = (hidden_dims,)
    dims = [_size(loss, "hidden_dims", h) for h in hidden_dims]
    if not dims and loss == "fc-net":
        raise GraphvizBPError(f"{loss}: hidden_dims needs at least one layer size, got none")
    rng = np.random.default_rng(seed)
    X = data("X", _normal(rng, loss, "X", (N, D)))
    y = const("y", rng.integers(C, size=N))
    out, weights = X, []
    sizes = [D, *dims, C]
    last = len(sizes) - 1
    for i in range(1, last + 1):
        W = param(f"W{i}", _normal(rng, loss, f"W{i}", (sizes[i - 1], sizes[i]))
                  / np.sqrt(sizes[i - 1]), label=f"W{_sub(i)}")
        b = param(f"b{i}", 0.1 * _normal(rng, loss, f"b{i}", (sizes[i],)), label=f"b{_sub(i)}")
        weights.append(W)
        if i < last:
            Z = (out @ W + b).named(f"Z{i}", label=f"Z{_sub(i)}")
            out = relu(Z).named(f"H{i}", label=f"H{_sub(i)}")
        else:
            out = (out @ W + b).named("S")
    penalty = sumsq(weights[0])
    for W in weights[1:]:
        penalty = penalty + sumsq(W)
    reg_loss = (0.5 * const("reg", reg) * penalty).named("reg_loss")
    data_loss = softmax_ce(out, y).named("data_loss")
    return Graph((data_loss + reg_loss).named("L"))


@_builtin
def two_layer_net(N: int = 4, D: int = 3, H: int = 5, C: int = 3, reg: float = 0.1,
                  seed: int = 0) -> Graph:
    """Two-layer net, batched rows: ReLU hidden layer, mean softmax loss, ½ reg (‖W₁‖² + ‖W₂‖²)."""
    return _relu_net("two-layer-net", (H,), N, D, C, reg, seed)


@_builtin
def fc_net(hidden_dims=(4, 4), N: int = 4, D: int = 3, C: int = 3, reg: float = 0.1,
           seed: int = 0) -> Graph:
    """Fully connected net of any depth: affine-ReLU layers, softmax loss, ½ reg Σ‖Wₖ‖²."""
    return _relu_net("fc-net", hidden_dims, N, D, C, reg, seed)


#: The homework's losses by their command-line names.
HOMEWORK = {
    "autoencoder": autoencoder,
    "gplvm-l1": gplvm_l1,
    "gplvm-l2": gplvm_l2,
    "gplvm": gplvm,
    "fcnet-swish": fcnet_swish,
    "two-layer-net": two_layer_net,
    "fc-net": fc_net,
}
