"""Every op of the table: its VJP against central differences over random shapes and values."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

from cases_convolution import CASES as CONVOLUTION_CASES
from cases_indexing import CASES as INDEXING_CASES
from cases_reductions import CASES as REDUCTION_CASES
from conftest import central_differences, sample
from graphviz_bp import NumericalError, ShapeError
from graphviz_bp.ops import OPS, summing_to, unbroadcast
from strategies import binary_broadcast, shapes, unary

nonscalar = array_shapes(min_dims=1, max_dims=3, max_side=4)
sides = st.integers(1, 4)


@st.composite
def matmul_args(draw, op):
    n, k, m = draw(sides), draw(sides), draw(sides)
    left = draw(st.sampled_from([(n, k), (k,)]))
    right = draw(st.sampled_from([(k, m), (k,)]))
    return [left, right], {}


@st.composite
def square(draw, op):
    n = draw(sides)
    return [(n, n)], {}


@st.composite
def solve_args(draw, op):
    n = draw(sides)
    return [(n, n), draw(st.sampled_from([(n,), (n, draw(sides))]))], {}


@st.composite
def reduction(draw, op):
    shape = draw(shapes)
    axis = draw(st.none() | (st.integers(-len(shape), len(shape) - 1) if shape else st.none()))
    return [shape], {"axis": axis}


@st.composite
def along_axis(draw, op):
    shape = draw(nonscalar)
    return [shape], {"axis": draw(st.integers(-len(shape), len(shape) - 1))}


@st.composite
def cross_entropy(draw, op):
    shape = draw(nonscalar)
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    examples = math.prod(shape) // shape[axis]
    labels = draw(st.sampled_from([(examples,), ()] if examples == 1 else [(examples,)]))
    return [shape, labels], {"axis": axis}


@st.composite
def vectors(draw, op):
    return [(draw(sides),), (draw(sides),)], {}


@st.composite
def expansion(draw, op):
    shape = draw(array_shapes(min_dims=0, max_dims=2, max_side=4))
    axis = draw(st.none() | st.integers(-len(shape) - 1, len(shape)))
    return [shape], {"axis": axis}


@st.composite
def power(draw, op):
    return [draw(shapes)], {"p": draw(st.sampled_from([2.0, 3.0, 0.5, -1.0, 1.5]))}


# Argument shapes and parameters for each op; a new op fails test_every_op_has_a_case
# until it is given one here.
CASES = {
    "add": binary_broadcast, "sub": binary_broadcast, "mul": binary_broadcast,
    "div": binary_broadcast, "neg": unary, "pow": power,
    "matmul": matmul_args, "transpose": unary, "logdet": square, "inv": square,
    "solve": solve_args, "trace": square,
    "exp": unary, "log": unary, "sqrt": unary, "abs": unary, "sigmoid": unary,
    "swish": unary, "relu": unary, "tanh": unary,
    "sum": reduction, "mean": reduction, "sumsq": unary,
    "softmax": along_axis, "log_softmax": along_axis, "softmax_ce": cross_entropy,
    "outer": vectors, "expand": expansion, "ones_like": unary, "step": unary, "sign": unary,
    "size": unary, "rows": unary,
    "onehot": cross_entropy,
}
CASES.update(REDUCTION_CASES)
CASES.update(INDEXING_CASES)
CASES.update(CONVOLUTION_CASES)


def test_every_op_has_a_case():
    assert set(CASES) == set(OPS)


def inputs(op, arg_shapes, params, seed):
    rng = np.random.default_rng(seed)
    classes = None
    if "labels" in op.domain:  # indices into the axis of the argument they select from
        selected = arg_shapes[1] if op.name == "untake" else arg_shapes[0]
        classes = selected[params["axis"]]
    return [sample(domain, shape, rng, classes) for domain, shape in zip(op.domain, arg_shapes)]


def check_vjp(op, args, params, seed, tol=1e-6):
    out = op.forward(*args, **params)
    assert np.shape(out) == op.shape(*(np.shape(a) for a in args), **params)
    upstream = np.random.default_rng(seed + 1).normal(size=np.shape(out))
    for k, vjp in enumerate(op.vjp):
        if vjp is None:
            continue

        def projected(value, k=k):
            moved = list(args)
            moved[k] = value
            return float(np.sum(upstream * op.forward(*moved, **params)))

        numeric = central_differences(projected, args[k])
        contribution = vjp(upstream, out, *args, **params)
        if not op.broadcasts:  # the engine sums back only what broadcasting ops return
            assert np.shape(contribution) == np.shape(args[k]), f"{op.name} slot {k}"
        analytic = unbroadcast(contribution, np.shape(args[k]))
        assert np.shape(analytic) == np.shape(args[k])
        scale = max(float(np.max(np.abs(numeric), initial=0.0)), 1e-12)
        np.testing.assert_allclose(analytic, numeric, rtol=tol, atol=tol * scale,
                                   err_msg=f"{op.name} slot {k}, shapes {[np.shape(a) for a in args]}")


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=40, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_vjp_matches_finite_differences(name, data, seed):
    op = OPS[name]
    arg_shapes, params = data.draw(CASES[name](op))
    params = {**op.params, **params}
    check_vjp(op, inputs(op, arg_shapes, params, seed), params, seed)


def test_same_array_in_both_slots():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 2))
    # X @ Xᵀ: the two slots' contributions add up to (G + Gᵀ) X.
    G = rng.normal(size=(3, 3))
    op = OPS["matmul"]
    total = op.vjp[0](G, x @ x.T, x, x.T) + op.vjp[1](G, x @ x.T, x, x.T).T
    numeric = central_differences(lambda v: np.sum(G * (v @ v.T)), x)
    np.testing.assert_allclose(total, numeric, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(total, (G + G.T) @ x, rtol=1e-12)


def test_softmax_and_log_sum_exp_stay_finite_for_large_inputs():
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -999.0]])
    assert np.all(np.isfinite(OPS["softmax"].forward(z, axis=-1)))
    assert np.all(np.isfinite(OPS["log_softmax"].forward(z, axis=-1)))
    loss = OPS["softmax_ce"].forward(z, np.array([1, 0]), axis=-1)
    assert np.isfinite(loss) and loss == pytest.approx((2000.0 + 1.0 + np.log1p(2 * np.exp(-1.0))) / 2)
    assert np.all(np.isfinite(OPS["sigmoid"].forward(z)))


def test_broadcast_gradient_sums_over_rows():
    # A bias vector added to every row: its gradient is the column sum of the upstream.
    g = np.arange(12.0).reshape(4, 3)
    assert unbroadcast(g, (3,)).tolist() == g.sum(axis=0).tolist()
    assert unbroadcast(g, (1, 3)).tolist() == [g.sum(axis=0).tolist()]
    assert unbroadcast(g, (4, 1)).tolist() == g.sum(axis=1, keepdims=True).tolist()
    assert unbroadcast(g, ()) == g.sum()


@pytest.mark.parametrize("name, shapes, message", [
    ("matmul", [(2, 3), (2, 1)], "(2, 3) and (2, 1)"),
    ("add", [(2, 3), (4,)], "(2, 3) and (4,)"),
    ("logdet", [(2, 3)], "square matrix, got shape (2, 3)"),
    ("matmul", [(2, 2, 2), (2,)], "vectors and matrices"),
    ("softmax_ce", [(4, 3), (5,)], "labels have shape (5,)"),
    ("sum", [(2, 3)], "axis 2 is out of range"),
])
def test_shape_rules_name_the_shapes(name, shapes, message):
    params = {**OPS[name].params, **({"axis": 2} if name == "sum" else {})}
    with pytest.raises(ShapeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        OPS[name].shape(*shapes, **params)


@pytest.mark.parametrize("name", sorted(n for n, op in OPS.items() if any(op.vjp)))
@settings(max_examples=25, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_symbolic_rule_equals_the_vjp(name, data, seed):
    """The formula shown to people is the VJP the engine runs."""
    from graphviz_bp import const
    from graphviz_bp.engine import value_of
    from graphviz_bp.expr import parse
    from graphviz_bp.printing import to_expr
    from graphviz_bp.symbolic import instantiate
    from graphviz_bp.terms import Name

    op = OPS[name]
    arg_shapes, params = data.draw(CASES[name](op))
    params = {**op.params, **params}
    args = inputs(op, arg_shapes, params, seed)
    out = np.asarray(op.forward(*args, **params))
    g = np.random.default_rng(seed + 1).normal(size=out.shape)
    values = {"g": g, "out": out, **dict(zip("abc", args))}
    shapes = {"a": np.shape(args[0]), "out": out.shape,
              **({"b": np.shape(args[1])} if len(args) > 1 else {})}
    numbers = {(fn, k): (int(np.prod(s)) if fn == "size" else (s[0] if s else 1))
               for k, s in shapes.items() for fn in ("size", "rows")}
    for k, (vjp, rule) in enumerate(zip(op.vjp, op.rules(*arg_shapes, **params))):
        if vjp is None:
            assert rule is None
            continue
        term = instantiate(rule, {n: Name(n) for n in values}, params, numbers)
        names = {n: const(n, v) for n, v in values.items()}
        from_rule = value_of(parse(to_expr(term), names, grads={}))
        expected = vjp(g, out, *args, **params)
        np.testing.assert_allclose(np.broadcast_to(from_rule, np.shape(expected)), expected,
                                   rtol=1e-12, atol=1e-12, err_msg=f"{name} slot {k}: {rule}")


def test_sigmoid_is_accurate_in_both_tails():
    a = np.array([-745.0, -50.0, -1.0, 0.0, 1.0, 50.0, 1000.0])
    expected = [5e-324, 1.9287498479639178e-22, 0.2689414213699951, 0.5, 0.7310585786300049, 1.0, 1.0]
    np.testing.assert_allclose(OPS["sigmoid"].forward(a), expected, rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8])
@pytest.mark.parametrize("bad", [-1, 3])
def test_labels_outside_the_classes_are_refused_not_wrapped(dtype, bad):
    # numpy would read label −1 as the last class; a loss must not.
    logits = np.zeros((2, 3))
    if bad < 0 and np.dtype(dtype).kind == "u":
        bad = 255  # the unsigned −1
    labels = np.array([0, bad]).astype(dtype)
    for op in ("softmax_ce", "onehot"):
        with pytest.raises(NumericalError, match=r"labels must lie in 0\.\.2, got \[0, " + str(bad)):
            OPS[op].forward(logits, labels, axis=-1)


def test_a_broadcast_bias_gradient_is_summed_once_per_pass():
    # The engine sums a broadcast argument's gradient with axes worked out when the graph
    # is compiled; they must agree with numpy broadcasting for every placement of ones.
    rng = np.random.default_rng(0)
    for shape in [(), (3,), (1, 3), (4, 1), (1, 1), (2, 1, 3)]:
        g = rng.normal(size=(2, 4, 3))
        out_shape = np.broadcast_shapes(shape, g.shape)
        expected = np.zeros(shape)
        for index in np.ndindex(out_shape):  # each entry adds to the one it was copied from
            source = tuple(0 if n == 1 else i for i, n in zip(index[len(out_shape) - len(shape):], shape))
            expected[source] += g[index]
        summed = summing_to(shape, out_shape)(g)
        assert np.shape(summed) == shape
        np.testing.assert_allclose(summed, expected, rtol=1e-14)
        np.testing.assert_allclose(unbroadcast(g, shape), expected, rtol=1e-14)


@pytest.mark.parametrize("name", sorted(n for n, op in OPS.items() if op.reuses))
@settings(max_examples=20, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_a_vjp_reusing_another_ops_value_equals_the_vjp(name, data, seed):
    op = OPS[name]
    other, vjp = op.reuses
    arg_shapes, params = data.draw(CASES[name](op))
    params = {**op.params, **params}
    (a,) = inputs(op, arg_shapes, params, seed)
    out = op.forward(a, **params)
    g = np.random.default_rng(seed + 1).normal(size=np.shape(out))
    np.testing.assert_allclose(vjp(g, out, a, OPS[other].forward(a), **params),
                               op.vjp[0](g, out, a, **params), rtol=1e-13, atol=1e-13)
