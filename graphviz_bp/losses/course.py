"""The rest of a deep-learning course: SVM, logistic, MSE and Huber losses, batch and layer
normalisation, dropout, embeddings and a residual block.

Each is written as a course solution writes it, one named node per line of the math, so
that figures, ``derive`` and claims speak of the same names (μ, x̂, margins …).
"""

from __future__ import annotations

import numpy as np

from ..arrays import arange
from ..engine import Graph
from ..errors import GraphvizBPError
from ..functions import abs, maximum, mean, onehot, relu, softplus, sqrt, sum, sumsq, where
from ..graph import const, data, param
from .common import builtin, nonnegative, normal, positive, size

__all__ = ["svm", "logistic", "mse", "huber", "batchnorm", "layernorm", "dropout",
           "embedding", "residual", "COURSE"]


def _sizes(loss: str, **sizes) -> list[int]:
    return [size(loss, name, value) for name, value in sizes.items()]


@builtin
def svm(N: int = 4, D: int = 3, C: int = 3, reg: float = 0.1, seed: int = 0) -> Graph:
    """Multiclass SVM (hinge) loss: margins max(0, S − S[n, yₙ] + 1) over the wrong classes,
    averaged over examples, plus ½ reg ‖W‖²."""
    N, D, C = _sizes("svm", N=N, D=D, C=C)
    reg = nonnegative("svm", "reg", reg)
    rng = np.random.default_rng(seed)
    X = data("X", normal(rng, "svm", "X", (N, D)))
    W = param("W", normal(rng, "svm", "W", (D, C)))
    y = const("y", rng.integers(C, size=N))
    S = (X @ W).named("S")
    correct = S[arange(N), y].named("correct")  # Sₙ,yₙ: each example's score of its class
    wrong = (1 - onehot(S, y)).named("wrong")  # 1 at the classes other than yₙ
    margins = (maximum(0, S - correct[:, None] + 1) * wrong).named("margins")
    data_loss = mean(sum(margins, axis=1)).named("data_loss")  # the mean over examples
    reg_loss = (0.5 * const("reg", reg) * sumsq(W)).named("reg_loss")
    return Graph((data_loss + reg_loss).named("L"))


@builtin
def logistic(N: int = 4, D: int = 3, seed: int = 0) -> Graph:
    """Logistic regression, binary cross-entropy on logits: mean of softplus(z) − y z."""
    N, D = _sizes("logistic", N=N, D=D)
    rng = np.random.default_rng(seed)
    X = data("X", normal(rng, "logistic", "X", (N, D)))
    w = param("w", normal(rng, "logistic", "w", (D,)))
    b = param("b", 0.1 * normal(rng, "logistic", "b", ()))
    y = const("y", rng.integers(2, size=N).astype(np.float64))
    z = (X @ w + b).named("z")
    return Graph(mean(softplus(z) - y * z).named("L"))


@builtin
def mse(N: int = 4, D: int = 3, K: int = 2, seed: int = 0) -> Graph:
    """Linear regression, mean squared error over all entries of X W + b − Y."""
    N, D, K = _sizes("mse", N=N, D=D, K=K)
    rng = np.random.default_rng(seed)
    X = data("X", normal(rng, "mse", "X", (N, D)))
    W = param("W", normal(rng, "mse", "W", (D, K)))
    b = param("b", 0.1 * normal(rng, "mse", "b", (K,)))
    Y = const("Y", normal(rng, "mse", "Y", (N, K)))
    r = (X @ W + b - Y).named("r")
    return Graph(mean(r ** 2).named("L"))


@builtin
def huber(N: int = 4, D: int = 3, delta: float = 1.0, seed: int = 0) -> Graph:
    """Huber loss of the residuals r = X w − y: ½ r² where |r| ≤ δ, else δ (|r| − ½ δ)."""
    N, D = _sizes("huber", N=N, D=D)
    delta = positive("huber", "delta", delta)
    rng = np.random.default_rng(seed)
    X = data("X", normal(rng, "huber", "X", (N, D)))
    w = param("w", normal(rng, "huber", "w", (D,)))
    y = const("y", normal(rng, "huber", "y", (N,)))
    d = const("delta", delta, label="δ")
    r = (X @ w - y).named("r")
    a = abs(r).named("a")
    per = where(a <= d, 0.5 * r ** 2, d * (a - 0.5 * d)).named("per")  # each residual's loss
    return Graph(mean(per).named("L"))


def _normalisation(loss: str, axis: int, N, D, seed) -> Graph:
    N, D = _sizes(loss, N=N, D=D)
    rng = np.random.default_rng(seed)
    x = data("x", normal(rng, loss, "x", (N, D)))
    gamma = param("gamma", 1 + 0.1 * normal(rng, loss, "gamma", (D,)), label="γ")
    beta = param("beta", 0.1 * normal(rng, loss, "beta", (D,)), label="β")
    t = const("t", normal(rng, loss, "t", (N, D)))
    eps = const("eps", 1e-5, label="ε")
    mu = mean(x, axis=axis, keepdims=True).named("mu", label="μ")
    xc = (x - mu).named("xc")  # x − μ
    var = mean(xc ** 2, axis=axis, keepdims=True).named("var")  # σ², the biased variance
    xhat = (xc / sqrt(var + eps)).named("xhat")
    out = (gamma * xhat + beta).named("out")
    return Graph((0.5 * sumsq(out - t)).named("L"))


@builtin
def batchnorm(N: int = 4, D: int = 3, seed: int = 0) -> Graph:
    """Batch normalisation in training mode (statistics over the batch, axis 0), then
    ½‖γ x̂ + β − t‖²: x reaches μ, σ² and x̂, so ∂L/∂x sums three paths."""
    return _normalisation("batchnorm", 0, N, D, seed)


@builtin
def layernorm(N: int = 4, D: int = 3, seed: int = 0) -> Graph:
    """Layer normalisation (statistics over each row's features, axis 1), then ½‖γ x̂ + β − t‖²."""
    return _normalisation("layernorm", 1, N, D, seed)


@builtin
def dropout(N: int = 4, D: int = 3, H: int = 5, p: float = 0.5, seed: int = 0) -> Graph:
    """Inverted dropout with a fixed mask: h = (x W) ⊙ mask / (1 − p), L = ½‖h − t‖²."""
    N, D, H = _sizes("dropout", N=N, D=D, H=H)
    p = nonnegative("dropout", "p", p)
    if p >= 1:
        raise GraphvizBPError(f"dropout: p must be below 1, got {p!r}")
    rng = np.random.default_rng(seed)
    x = data("x", normal(rng, "dropout", "x", (N, D)))
    W = param("W", normal(rng, "dropout", "W", (D, H)))
    mask = const("mask", (rng.uniform(size=(N, H)) >= p).astype(np.float64))
    t = const("t", normal(rng, "dropout", "t", (N, H)))
    h = ((x @ W) * mask / (1 - const("p", p))).named("h")
    return Graph((0.5 * sumsq(h - t)).named("L"))


@builtin
def embedding(V: int = 5, D: int = 3, N: int = 4, seed: int = 0) -> Graph:
    """Embedding lookup with a repeated index: rows W[idx], L = ½‖W[idx] − t‖². A row looked
    up twice gets the sum of both rows' gradients."""
    V, D, N = _sizes("embedding", V=V, D=D, N=N)
    rng = np.random.default_rng(seed)
    W = param("W", normal(rng, "embedding", "W", (V, D)))
    idx = rng.integers(V, size=N)
    if N > 1:
        idx[-1] = idx[0]  # one row is looked up twice: its gradients are summed
    idx = const("idx", idx)
    t = const("t", normal(rng, "embedding", "t", (N, D)))
    E = W[idx].named("E")
    return Graph((0.5 * sumsq(E - t)).named("L"))


@builtin
def residual(N: int = 4, D: int = 3, H: int = 5, seed: int = 0) -> Graph:
    """A residual block h = x + ReLU(x W₁) W₂, L = ½‖h − t‖²: x reaches h directly and
    through the block."""
    N, D, H = _sizes("residual", N=N, D=D, H=H)
    rng = np.random.default_rng(seed)
    x = data("x", normal(rng, "residual", "x", (N, D)))
    W1 = param("W1", normal(rng, "residual", "W1", (D, H)) / np.sqrt(D), label="W₁")
    W2 = param("W2", normal(rng, "residual", "W2", (H, D)) / np.sqrt(H), label="W₂")
    t = const("t", normal(rng, "residual", "t", (N, D)))
    z = (x @ W1).named("z")
    a = relu(z).named("a")
    h = (x + a @ W2).named("h")
    return Graph((0.5 * sumsq(h - t)).named("L"))


#: The course's losses by their command-line names.
COURSE = {"svm": svm, "logistic": logistic, "mse": mse, "huber": huber, "batchnorm": batchnorm,
          "layernorm": layernorm, "dropout": dropout, "embedding": embedding, "residual": residual}
