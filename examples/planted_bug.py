"""A net with a backward pass written by hand, and a bug planted in it.

    graphviz-bp check examples/planted_bug.py:loss --render planted_bug.svg

names the op whose VJP is wrong (``h1``, the Swish layer) and draws it in red.
"""

import numpy as np

import graphviz_bp as bp


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def affine_backward(g, out, x, W, b):
    return g @ W.T, x.T @ g, g.sum(axis=0)


def swish_backward(g, out, x):
    s = sigmoid(x)
    return g * (s + out * (1 - s**2))  # the bug: swish′ = σ + swish ⊙ (1 − σ)


affine = bp.custom_op("affine", lambda x, W, b: x @ W + b, affine_backward, symbol="x W + b")
swish = bp.custom_op("swish_own", lambda x: x * sigmoid(x), swish_backward, symbol="swish")


def loss(N=4, D=3, H=5, C=3, seed=0):
    rng = np.random.default_rng(seed)
    x = bp.data("x", rng.normal(size=(N, D)))
    y = bp.const("y", rng.integers(C, size=N))
    W1 = bp.param("W1", rng.normal(size=(D, H)) / np.sqrt(D))
    b1 = bp.param("b1", np.zeros(H))
    W2 = bp.param("W2", rng.normal(size=(H, C)) / np.sqrt(H))
    b2 = bp.param("b2", np.zeros(C))
    h1 = swish(affine(x, W1, b1).named("z1")).named("h1")
    scores = affine(h1, W2, b2).named("s")
    return bp.softmax_ce(scores, y)
