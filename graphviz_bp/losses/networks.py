"""Convolution, recurrence and attention: a small convnet, a vanilla RNN unrolled in time,
one LSTM step and single-head self-attention.

Each is written as a course solution writes it, one named node per line of the math. The
RNN's nodes carry their time step at the end of their names (z1, h1, s1, loss1, …), so a
long sequence folds by time step in its figure as a deep net folds by layer.
"""

from __future__ import annotations

import numpy as np

from ..arrays import split
from ..engine import Graph
from ..errors import GraphvizBPError
from ..functions import (conv2d, max_pool2d, relu, reshape, sigmoid, softmax, softmax_ce, sqrt,
                         sumsq, tanh)
from ..graph import const, data, param
from .common import builtin, normal, size, sub

__all__ = ["conv_net", "rnn", "lstm", "attention", "NETWORKS"]


def _sizes(loss: str, **sizes) -> list[int]:
    return [size(loss, name, value) for name, value in sizes.items()]


@builtin
def conv_net(N: int = 2, C: int = 1, H: int = 4, W: int = 4, F: int = 2, classes: int = 3,
             seed: int = 0) -> Graph:
    """conv 3×3 (padding 1) → ReLU → 2×2 max-pool → affine → softmax loss, on N images of
    C channels, H×W pixels, with F filters."""
    loss = "conv-net"
    N, C, H, W, F, classes = _sizes(loss, N=N, C=C, H=H, W=W, F=F, classes=classes)
    for name, value in (("H", H), ("W", W)):
        if value % 2:
            raise GraphvizBPError(f"{loss}: {name} must be even for the 2×2 max-pool, got {value}")
    rng = np.random.default_rng(seed)
    features = F * (H // 2) * (W // 2)
    x = data("x", normal(rng, loss, "x", (N, C, H, W)))
    w = param("w", normal(rng, loss, "w", (F, C, 3, 3)) / np.sqrt(C * 9))
    b = param("b", 0.1 * normal(rng, loss, "b", (F,)))
    W2 = param("W2", normal(rng, loss, "W2", (features, classes)) / np.sqrt(features), label="W₂")
    b2 = param("b2", 0.1 * normal(rng, loss, "b2", (classes,)), label="b₂")
    y = const("y", rng.integers(classes, size=N))
    conv = (conv2d(x, w, padding=1) + b[None, :, None, None]).named("conv")
    a = relu(conv).named("a")
    p = max_pool2d(a, kernel_size=2).named("p")
    flat = reshape(p, shape=(N, features)).named("flat")
    S = (flat @ W2 + b2).named("S")
    return Graph(softmax_ce(S, y).named("L"))


@builtin(fixed=("T",))  # the formulas name each step: h₁ … h_T
def rnn(T: int = 3, N: int = 2, D: int = 3, H: int = 4, C: int = 3, seed: int = 0) -> Graph:
    """Vanilla RNN over T steps, a softmax read-out at each: z_t = x_t Wx + h_{t−1} Wh + b,
    h_t = tanh(z_t), s_t = h_t Wy, L = Σ_t CE(s_t, y_t) (Wx, Wh, b, Wy shared by the steps)."""
    loss = "rnn"
    T, N, D, H, C = _sizes(loss, T=T, N=N, D=D, H=H, C=C)
    rng = np.random.default_rng(seed)
    xs = [data(f"x{t}", normal(rng, loss, f"x{t}", (N, D)), label=f"x{sub(t)}")
          for t in range(1, T + 1)]
    h = data("h0", normal(rng, loss, "h0", (N, H)), label="h₀")
    Wx = param("Wx", normal(rng, loss, "Wx", (D, H)) / np.sqrt(D))
    Wh = param("Wh", normal(rng, loss, "Wh", (H, H)) / np.sqrt(H))
    b = param("b", 0.1 * normal(rng, loss, "b", (H,)))
    Wy = param("Wy", normal(rng, loss, "Wy", (H, C)) / np.sqrt(H))
    ys = [const(f"y{t}", rng.integers(C, size=N), label=f"y{sub(t)}") for t in range(1, T + 1)]
    total = None
    for t, (x, y) in enumerate(zip(xs, ys), start=1):
        z = (x @ Wx + h @ Wh + b).named(f"z{t}", label=f"z{sub(t)}")
        h = tanh(z).named(f"h{t}", label=f"h{sub(t)}")
        s = (h @ Wy).named(f"s{t}", label=f"s{sub(t)}")
        step = softmax_ce(s, y)
        if T == 1:  # one step: its loss is the loss
            return Graph(step.named("L"))
        step = step.named(f"loss{t}", label=f"loss{sub(t)}")
        total = step if total is None else total + step
    return Graph(total.named("L"))


@builtin(fixed=("H",))  # the gates are the columns [0:H], [H:2H], … of a
def lstm(N: int = 2, D: int = 3, H: int = 2, seed: int = 0) -> Graph:
    """One LSTM step, gates in the order i, f, o, g: a = x Wx + h Wh + b, c′ = f ⊙ c + i ⊙ g,
    h′ = o ⊙ tanh(c′), L = ½‖h′ − t‖²."""
    loss = "lstm"
    N, D, H = _sizes(loss, N=N, D=D, H=H)
    rng = np.random.default_rng(seed)
    x = data("x", normal(rng, loss, "x", (N, D)))
    h = data("h", normal(rng, loss, "h", (N, H)))
    c = data("c", normal(rng, loss, "c", (N, H)))
    Wx = param("Wx", normal(rng, loss, "Wx", (D, 4 * H)) / np.sqrt(D))
    Wh = param("Wh", normal(rng, loss, "Wh", (H, 4 * H)) / np.sqrt(H))
    b = param("b", 0.1 * normal(rng, loss, "b", (4 * H,)))
    t = const("t", normal(rng, loss, "t", (N, H)))
    a = (x @ Wx + h @ Wh + b).named("a")
    ai, af, ao, ag = (part.named(name) for part, name in
                      zip(split(a, 4, axis=1), ("ai", "af", "ao", "ag")))
    i = sigmoid(ai).named("i")
    f = sigmoid(af).named("f")
    o = sigmoid(ao).named("o")
    g = tanh(ag).named("g")
    c_next = (f * c + i * g).named("c_next")
    h_next = (o * tanh(c_next)).named("h_next")
    return Graph((0.5 * sumsq(h_next - t)).named("L"))


@builtin
def attention(N: int = 3, D: int = 4, dk: int = 2, seed: int = 0) -> Graph:
    """Single-head self-attention of N tokens: Q, K, V = X Wq, X Wk, X Wv,
    A = softmax(Q Kᵀ / √dk), out = A V, L = ½‖out − t‖² (X reaches L along three paths)."""
    loss = "attention"
    N, D, dk = _sizes(loss, N=N, D=D, dk=dk)
    rng = np.random.default_rng(seed)
    X = data("X", normal(rng, loss, "X", (N, D)))
    Wq = param("Wq", normal(rng, loss, "Wq", (D, dk)) / np.sqrt(D))
    Wk = param("Wk", normal(rng, loss, "Wk", (D, dk)) / np.sqrt(D))
    Wv = param("Wv", normal(rng, loss, "Wv", (D, D)) / np.sqrt(D))
    t = const("t", normal(rng, loss, "t", (N, D)))
    d = const("dk", float(dk))
    Q = (X @ Wq).named("Q")
    K = (X @ Wk).named("K")
    V = (X @ Wv).named("V")
    S = (Q @ K.T / sqrt(d)).named("S")
    A = softmax(S, axis=-1).named("A")
    out = (A @ V).named("out")
    return Graph((0.5 * sumsq(out - t)).named("L"))


#: The networks' losses by their command-line names.
NETWORKS = {"conv-net": conv_net, "rnn": rnn, "lstm": lstm, "attention": attention}
