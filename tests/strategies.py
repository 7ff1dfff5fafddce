"""Random well-formed losses over every op of the table, for property tests.

Each step applies an op to values already built, with arguments kept inside the op's
domain (positive inputs through exp or x² + 1, symmetric positive-definite matrices as
M Mᵀ + n I), so forward values stay finite and finite differences stay meaningful.
"""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import graphviz_bp as bp
from graphviz_bp import ShapeError


def positive(x):
    return bp.exp(bp.tanh(x))


def spd(m):
    n = m.shape[0]
    return m @ m.T + float(n) * bp.eye(n)


def _square(pool):
    return [e for e in pool if e.ndim == 2 and e.shape[0] == e.shape[1]]


def _pairs(pool, fits):
    return [(a, b) for a in pool for b in pool if fits(a, b)]


def _broadcasts(a, b):
    try:
        np.broadcast_shapes(a.shape, b.shape)
        return True
    except ValueError:
        return False


UNARY = {
    "neg": lambda x: -x,
    "exp": lambda x: bp.exp(bp.tanh(x)),
    "log": lambda x: bp.log(x * x + 1.0),
    "sqrt": lambda x: bp.sqrt(positive(x)),
    "abs": lambda x: bp.abs(x + 3.0),
    "sigmoid": bp.sigmoid,
    "swish": bp.swish,
    "relu": lambda x: bp.relu(x + 3.0),  # away from the kink
    "tanh": bp.tanh,
    "pow": lambda x: positive(x) ** 3,
    "transpose": lambda x: x.T,
    "sum": bp.sum,
    "mean": bp.mean,
    "sumsq": bp.sumsq,
}


@st.composite
def random_losses(draw, max_steps: int = 7):
    """An Expr loss (a scalar) built from a few leaves by random ops of the table."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    pool = [bp.param("A", rng.normal(size=(3, 3))), bp.param("B", rng.normal(size=(3, 2))),
            bp.data("v", rng.normal(size=(3, 1))), bp.param("s", float(rng.normal())),
            bp.data("w", rng.normal(size=2))]
    labels = bp.const("y", rng.integers(2, size=3))
    for _ in range(draw(st.integers(1, max_steps))):
        kind = draw(st.sampled_from(["unary", "binary", "matmul", "square", "axis", "softmax"]))
        if kind == "unary":
            name = draw(st.sampled_from(sorted(UNARY)))
            pool.append(UNARY[name](draw(st.sampled_from(pool))))
        elif kind == "binary":
            a, b = draw(st.sampled_from(_pairs(pool, _broadcasts)))
            op = draw(st.sampled_from(["add", "sub", "mul", "div"]))
            pool.append({"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
                         "div": lambda: a / (b * b + 1.0)}[op]())
        elif kind == "matmul":
            pairs = _pairs(pool, lambda a, b: a.ndim >= 1 and b.ndim >= 1 and a.ndim <= 2
                           and b.ndim <= 2 and a.shape[-1] == b.shape[0])
            pairs += [(a, a.T) for a in pool if a.ndim == 2]
            a, b = draw(st.sampled_from(pairs))
            if a.ndim == 2 and b.ndim == 2 and draw(st.booleans()):
                pool.append(bp.outer(bp.sum(a, axis=1), bp.sum(b, axis=0)))
            else:
                pool.append(a @ b)
        elif kind == "square":
            m = draw(st.sampled_from(_square(pool) or [pool[0]]))
            k = spd(m)
            choice = draw(st.sampled_from(["logdet", "inv", "trace", "solve"]))
            rhs = draw(st.sampled_from([e for e in pool if e.ndim in (1, 2) and e.shape[0] == m.shape[0]]))
            pool.append({"logdet": lambda: bp.logdet(k), "inv": lambda: bp.inv(k),
                         "trace": lambda: bp.trace(m), "solve": lambda: bp.solve(k, rhs)}[choice]())
        elif kind == "axis":
            x = draw(st.sampled_from([e for e in pool if e.ndim >= 1]))
            axis = draw(st.integers(-x.ndim, x.ndim - 1))
            fn = draw(st.sampled_from([bp.sum, bp.mean]))
            pool.append(fn(x, axis=axis))
        else:
            x = draw(st.sampled_from([e for e in pool if e.ndim == 2 and e.shape[0] == 3]))
            axis = draw(st.sampled_from([0, 1, -1]))
            choice = draw(st.sampled_from(["softmax", "log_softmax", "ce"]))
            if choice == "ce":
                pool.append(bp.softmax_ce(x, labels, axis=1) if x.shape[1] >= 2
                            else bp.softmax(x, axis=0))
            else:
                pool.append(getattr(bp, choice)(x, axis=axis))
    last = pool[-1]
    others = draw(st.lists(st.sampled_from(pool), max_size=2))
    loss = bp.sumsq(last) if last.ndim else last * 1.0
    for e in others:
        loss = loss + bp.mean(e * e) if e.ndim else loss + e
    return loss


def build(loss) -> "bp.Graph | None":
    """The evaluated graph, or None when a drawn combination does not fit (rare)."""
    try:
        return bp.Graph(loss)
    except ShapeError:
        return None


# ---------------------------------------------------------------- argument shapes of ops

shapes = array_shapes(min_dims=0, max_dims=3, max_side=4)


@st.composite
def unary(draw, op):
    return [draw(shapes)], {}


@st.composite
def binary_broadcast(draw, op):
    pair = draw(mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4))
    return list(pair.input_shapes), {}
