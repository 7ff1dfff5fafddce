"""numpy's functions and ufuncs on Expr: each builds the op that means the same, or is refused."""

import numpy as np
import pytest
from conftest import assert_close, sample

import graphviz_bp as bp
from graphviz_bp.engine import value_of
from graphviz_bp.errors import GraphvizBPError
from graphviz_bp.graph import COMPOSITES
from graphviz_bp.interop import NUMPY, NumpyMapping
from graphviz_bp.ops import OPS, defop, undefop
from graphviz_bp.ops.shapes import same_shape

rng = np.random.default_rng(7)
RAW = {
    "A": sample("nonzero", (2, 3), rng),
    "B": sample("nonzero", (2, 3), rng),
    "P": sample("positive", (2, 3), rng),
    "M": sample("real", (3, 2), rng),
    "K": sample("spd", (3, 3), rng),
    "v": sample("real", (3,), rng),
    "u": sample("real", (2,), rng),
}
MASK = np.array([[True, False, True], [False, True, False]])

#: numpy name → calls of it, each a function of the leaves it names: called once with
#: Expr leaves and once with the raw arrays, the two must agree.
CASES = {
    "np.add": [lambda A, B: np.add(A, B)],
    "np.subtract": [lambda A, B: np.subtract(A, B)],
    "np.multiply": [lambda A, v: np.multiply(A, v)],
    "np.divide": [lambda A, P: np.divide(A, P)],
    "np.true_divide": [lambda A, P: np.true_divide(A, P)],
    "np.negative": [lambda A: np.negative(A)],
    "np.matmul": [lambda A, M: np.matmul(A, M), lambda A, v: np.matmul(A, v)],
    "np.power": [lambda P: np.power(P, 3), lambda P: np.power(P, 0.5)],
    "np.square": [lambda A: np.square(A)],
    "np.exp": [lambda A: np.exp(A)],
    "np.log": [lambda P: np.log(P)],
    "np.sqrt": [lambda P: np.sqrt(P)],
    "np.absolute": [lambda A: np.abs(A)],
    "np.tanh": [lambda A: np.tanh(A)],
    "np.sign": [lambda A: np.sign(A)],
    "np.maximum": [lambda A, B: np.maximum(A, B)],
    "np.minimum": [lambda A, B: np.minimum(A, B)],
    "np.greater": [lambda A, B: np.greater(A, B)],
    "np.greater_equal": [lambda A: np.greater_equal(A, 0.0)],
    "np.less": [lambda A, B: np.less(A, B)],
    "np.less_equal": [lambda A, B: np.less_equal(A, B)],
    "np.equal": [lambda A: np.equal(A, A)],
    "np.not_equal": [lambda A, B: np.not_equal(A, B)],
    "np.dot": [lambda A, M: np.dot(A, M), lambda M, u: np.dot(M, u), lambda v: np.dot(v, v)],
    "np.transpose": [lambda A: np.transpose(A), lambda A: np.transpose(A, (1, 0))],
    "np.sum": [lambda A: np.sum(A), lambda A: np.sum(A, axis=1), lambda A: np.sum(A, 0)],
    "np.mean": [lambda A: np.mean(A), lambda A: np.mean(A, axis=0)],
    "np.max": [lambda A: np.max(A), lambda A: np.max(A, axis=1)],
    "np.amax": [lambda A: np.amax(A, axis=0)],
    "np.min": [lambda A: np.min(A), lambda A: np.min(A, axis=0)],
    "np.amin": [lambda A: np.amin(A, axis=1)],
    "np.trace": [lambda K: np.trace(K)],
    "np.outer": [lambda v, u: np.outer(v, u)],
    "np.linalg.inv": [lambda K: np.linalg.inv(K)],
    "np.linalg.solve": [lambda K, v: np.linalg.solve(K, v), lambda K, M: np.linalg.solve(K, M)],
    "np.reshape": [lambda A: np.reshape(A, (3, 2)), lambda A: np.reshape(A, -1)],
    "np.concatenate": [lambda A, B: np.concatenate([A, B]),
                       lambda A, B: np.concatenate([A, B, A], axis=1)],
    "np.stack": [lambda A, B: np.stack([A, B]), lambda v: np.stack([v, v, v], axis=1)],
    "np.where": [lambda A, B: np.where(MASK, A, B), lambda A: np.where(MASK, A, 0.0)],
    "np.clip": [lambda A: np.clip(A, -0.5, 0.5)],
    "np.take": [lambda A: np.take(A, [2, 0, 2], axis=1), lambda v: np.take(v, [1, 1])],
}


def leaves(names):
    return {n: bp.param(n, RAW[n]) for n in names}


def available(name: str) -> bool:
    return NUMPY[name].op in OPS or NUMPY[name].op in COMPOSITES


def test_every_numpy_name_of_the_table_has_cases():
    assert set(CASES) == set(NUMPY)


CALLS = [pytest.param(name, call, id=f"{name}-{k}")
         for name, calls in CASES.items() for k, call in enumerate(calls)]


@pytest.mark.parametrize("name, call", CALLS)
def test_a_numpy_function_means_the_op_or_is_refused(name, call):
    names = call.__code__.co_varnames[:call.__code__.co_argcount]
    if not available(name):
        with pytest.raises(GraphvizBPError, match=rf"^{name} has no op in graphviz_bp yet"):
            call(**leaves(names))
        return
    built = call(**leaves(names))
    assert isinstance(built, bp.Expr)
    expected = np.asarray(call(**{n: RAW[n] for n in names}), dtype=float)
    assert built.shape == expected.shape
    assert_close(value_of(built), expected, rtol=1e-12)


def test_np_dot_is_the_matrix_product_not_an_elementwise_one():
    W = bp.param("W", np.arange(6.0).reshape(2, 3))
    x = bp.data("x", np.array([1.0, 2.0, 3.0]))
    assert value_of(bp.sumsq(W @ x)) == 740.0
    assert value_of(bp.sumsq(np.dot(W, x))) == 740.0
    by_numpy, by_operator = bp.Graph(bp.sumsq(np.dot(W, x))), bp.Graph(bp.sumsq(W @ x))
    np.testing.assert_array_equal(by_numpy.grad("W"), by_operator.grad("W"))


def test_np_transpose_and_np_max_do_not_return_their_argument():
    W = bp.param("W", np.arange(6.0).reshape(2, 3))
    transposed = np.transpose(W)
    assert transposed is not W and transposed.op == "transpose" and transposed.shape == (3, 2)
    x = bp.data("x", np.array([1.0, 5.0, 3.0]))
    if "max" in OPS:
        assert value_of(np.max(x)) == 5.0
    else:
        with pytest.raises(GraphvizBPError, match="np.max has no op"):
            np.max(x)


@pytest.mark.parametrize("build, op, expected", [
    (lambda a, x: a + x, "add", lambda a, x: a + x),
    (lambda a, x: x + a, "add", lambda a, x: x + a),
    (lambda a, x: a - x, "sub", lambda a, x: a - x),
    (lambda a, x: x - a, "sub", lambda a, x: x - a),
    (lambda a, x: a * x, "mul", lambda a, x: a * x),
    (lambda a, x: a / x, "div", lambda a, x: a / x),
    (lambda a, x: x / a, "div", lambda a, x: x / a),
    (lambda a, x: 2.0 * x, "mul", lambda a, x: 2.0 * x),
    (lambda a, x: x * 2.0, "mul", lambda a, x: x * 2.0),
    (lambda a, x: np.float64(2.0) * x, "mul", lambda a, x: 2.0 * x),
    (lambda a, x: x ** 2, "pow", lambda a, x: x ** 2),
], ids=["a+x", "x+a", "a-x", "x-a", "a*x", "a/x", "x/a", "2*x", "x*2", "np2*x", "x**2"])
def test_arrays_and_expressions_mix_in_either_order(build, op, expected):
    a = np.array([1.0, -2.0, 4.0])
    raw = np.array([0.5, 1.5, 2.0])
    built = build(a, bp.param("x", raw))
    assert isinstance(built, bp.Expr) and built.op == op
    assert_close(value_of(built), expected(a, raw), rtol=1e-15)


def test_a_matrix_product_with_an_array_on_either_side():
    W = bp.param("W", RAW["A"])
    left, right = np.ones((4, 2)), np.ones((3, 5))
    for built, expected in ((left @ W, left @ RAW["A"]), (W @ right, RAW["A"] @ right)):
        assert built.op == "matmul"
        assert_close(value_of(built), expected, rtol=1e-15)
    # the array stays on its side: (2, 3) @ (3, 5), not the other way round
    assert (np.ones((3, 2)) @ W).shape == (3, 3)


def test_reading_shapes_needs_no_value():
    W = bp.param("W", RAW["A"])
    assert np.shape(W) == (2, 3) and np.ndim(W) == 2 and np.size(W) == 6
    assert np.size(W, 1) == 3


@pytest.mark.parametrize("call, message", [
    (lambda W, x: np.linalg.det(W @ W.T),
     "np.linalg.det is not an op of graphviz_bp; use exp(logdet(K))"),
    (lambda W, x: np.tensordot(W, W),
     "np.tensordot is not an op of graphviz_bp; use reshape to matrices and use @"),
    (lambda W, x: np.cumsum(x), "np.cumsum is not an op of graphviz_bp; use one of: "),
    (lambda W, x: np.sin(x), "np.sin is not an op of graphviz_bp; use one of: "),
    (lambda W, x: np.add.reduce(x), "np.add.reduce is not supported on an Expr; use sum("),
    (lambda W, x: np.multiply.outer(x, x), "np.multiply.outer is not supported on an Expr; use outer("),
    (lambda W, x: np.add.accumulate(x), "np.add.accumulate is not supported on an Expr"),
    (lambda W, x: np.add(x, x, out=np.zeros(3)), "np.add(…, out=…) cannot write into an array"),
    (lambda W, x: np.sum(W, out=np.zeros(())), "np.sum(…, out=…) cannot write into an array"),
    (lambda W, x: np.power(2.0, x), "np.power takes a number as x2, got Expr"),
    (lambda W, x: np.ones(3) ** x, "np.power takes a number as x2"),
    (lambda W, x: np.dot(np.ones((2, 2, 2)), W), "np.dot of arrays with more than 2 axes"),
    (lambda W, x: np.dot(2.0, x), "np.dot with a scalar is a product of entries; write a * b"),
    (lambda W, x: np.reshape(W, (3, 2), order="F"), "np.reshape(…, order='F'): order= is not supported"),
    (lambda W, x: np.sum(W, dtype=np.float32), "dtype= is not supported on an Expr"),
    (lambda W, x: np.exp(x, dtype=np.float32), "dtype= is not supported on an Expr"),
    (lambda W, x: np.trace(W @ W.T, offset=1), "offset= is not supported on an Expr"),
    (lambda W, x: np.take(W, [0, 1]), "np.take without axis takes from the flattened array"),
    (lambda W, x: np.take(x, [0.5], axis=0), "an array index must hold integers"),
])
def test_refusals_name_the_function_and_say_what_to_write(call, message):
    W = bp.param("W", np.arange(6.0).reshape(2, 3))
    x = bp.data("x", np.array([1.0, 2.0, 3.0]))
    with pytest.raises(GraphvizBPError) as caught:
        call(W, x)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_an_in_place_operator_on_an_array_is_refused():
    a = np.zeros(3)
    with pytest.raises(GraphvizBPError, match="write a = a \\+ b rather than a \\+= b"):
        a += bp.data("x", np.ones(3))
    np.testing.assert_array_equal(a, np.zeros(3))


def test_keywords_the_op_lacks_are_refused_unless_they_ask_for_nothing():
    W = bp.param("W", RAW["A"])
    assert np.sum(W, axis=1, keepdims=False).shape == (2,)
    assert np.transpose(W, axes=None).shape == (3, 2)
    if "keepdims" in OPS["sum"].params:
        assert np.sum(W, axis=1, keepdims=True).shape == (2, 1)
    else:
        with pytest.raises(GraphvizBPError, match=r"keepdims.*expand\(sum\(a, axis=1\), axis=1\)"):
            np.sum(W, axis=1, keepdims=True)
    if "axes" not in OPS["transpose"].params:
        cube = bp.param("C", np.zeros((2, 3, 4)))
        with pytest.raises(GraphvizBPError, match="np.transpose.*axes="):
            np.transpose(cube, (0, 2, 1))


@pytest.mark.parametrize("convert", [np.asarray, np.array, lambda e: np.add(np.zeros(3), e).value])
def test_an_expression_is_not_an_array_until_evaluated(convert):
    x = bp.data("x", np.ones(3))
    if convert in (np.asarray, np.array):
        with pytest.raises(GraphvizBPError, match="has no value until it is evaluated.*value_of"):
            convert(x)
    else:  # a ufunc on an Expr builds a node; its value comes from the engine
        assert convert(x) is None


@pytest.fixture
def sine():
    """np.sin mapped, for a while, to an op the table does not have yet."""
    NUMPY["np.sin"] = NumpyMapping("sine", ("x",))
    yield
    del NUMPY["np.sin"]
    if "sine" in OPS:
        undefop("sine")


def test_an_op_defined_later_serves_numpy_at_once(sine):
    x = bp.param("x", RAW["v"])
    with pytest.raises(GraphvizBPError, match="np.sin has no op in graphviz_bp yet .*'sine'"):
        np.sin(x)
    defop("sine", symbol="sin", forward=np.sin, shape=same_shape, domain=("real",),
          vjp=(lambda g, out, a: g * np.cos(a),), rule=("g * cos(a)",), doc="sin a")
    built = np.sin(x)
    assert built.op == "sine"
    assert_close(value_of(built), np.sin(RAW["v"]), rtol=1e-15)
