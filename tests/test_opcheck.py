"""Each op checked alone: every op of the table passes, a wrong VJP planted in any op is
named as the only failing op, and the composition catches what no single op shows."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphviz_bp as bp
from graphviz_bp import engine, losses
from graphviz_bp.checking import check
from graphviz_bp.composition import check_composition
from graphviz_bp.opcheck import LOCAL_TOL, check_ops
from graphviz_bp.ops import OPS, defop, undefop
from graphviz_bp.ops.shapes import same_shape
from test_ops import CASES, inputs

DIFFERENTIABLE = sorted(n for n, op in OPS.items() if any(op.vjp))


def one_op_loss(op, args, params, seed):
    """⟨C, op(args)⟩ with a random C (‖op(args) − C‖² for mul and sum): params where the
    op has a VJP, consts elsewhere."""
    leaves = [bp.param(f"a{k}", a) if vjp is not None else bp.const(f"c{k}", a)
              for k, (a, vjp) in enumerate(zip(args, op.vjp))]
    out = bp.apply(op.name, *leaves, **params).named("out")
    weights = bp.const("C", np.random.default_rng(seed + 7).normal(size=out.shape))
    if op.name in ("mul", "sum"):  # the planted op must appear once only
        return bp.sumsq(out - weights)
    return bp.sum(weights * out)


def planted(op):
    """The op with every VJP off by a constant: right + 0.05 max(1, |right|)."""
    def wrong(vjp):
        if vjp is None:
            return None

        def vjp_wrong(g, out, *args, **params):
            right = np.asarray(vjp(g, out, *args, **params), dtype=float)
            return right + 0.05 * max(1.0, float(np.max(np.abs(right), initial=0.0)))
        return vjp_wrong
    return dataclasses.replace(op, vjp=tuple(wrong(v) for v in op.vjp))


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@settings(max_examples=12, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_every_op_passes_and_a_planted_error_is_the_only_failure(name, data, seed):
    op = OPS[name]
    arg_shapes, params = data.draw(CASES[name](op))
    params = {**op.params, **params}
    args = inputs(op, arg_shapes, params, seed)

    right = check_ops(bp.Graph(one_op_loss(op, args, params, seed)), seed=seed)
    assert right and all(c.ok for c in right), [c for c in right if not c.ok]
    assert all(e.resolved for c in right for e in c.edges)

    OPS[name] = planted(op)
    try:
        g = bp.Graph(one_op_loss(op, args, params, seed))
    finally:
        OPS[name] = op
    failing = [c for c in check_ops(g, seed=seed) if not c.ok]
    assert [c.node for c in failing] == ["out"], failing
    flowing = {e.slot for e in failing[0].edges if e.gradient}
    assert {e.slot for e in failing[0].failing} == flowing
    # far beyond the tolerance (a random direction can cancel much of a constant offset)
    assert all(e.max_rel_error > 10 * LOCAL_TOL for e in failing[0].failing)


def test_the_check_is_linear_in_depth_and_names_a_planted_op_in_layer_7():
    affine = bp.custom_op("affine_t", lambda x, W, b: x @ W + b,
                          lambda g, out, x, W, b: (g @ W.T, x.T @ g, g.sum(axis=0)))
    leaky = bp.custom_op("leaky_t", lambda x: np.where(x > 0, x, 0.1 * x),
                         lambda g, out, x: g * np.where(x > 0, 1.0, 0.1), kinks=lambda x: x > 0)
    wrong = bp.custom_op("leaky_wrong", lambda x: np.where(x > 0, x, 0.1 * x),
                         lambda g, out, x: g * np.where(x > 0, 1.0, 0.12), kinks=lambda x: x > 0)
    rng = np.random.default_rng(0)
    h = bp.data("X", rng.normal(size=(4, 5)))
    for i in range(1, 21):
        W = bp.param(f"W{i}", rng.normal(size=(5, 5)) / np.sqrt(5))
        b = bp.param(f"b{i}", rng.normal(size=5) * 0.1)
        h = (wrong if i == 7 else leaky)(affine(h, W, b).named(f"z{i}")).named(f"h{i}")
    checked = check(bp.Graph(bp.sumsq(h)))
    assert not checked.per_leaf and not checked.ok
    assert [o.node for o in checked.failing_ops] == ["h7"]
    op, edge = checked.first_failure()
    assert (op.op, edge.source, edge.slot) == ("leaky_wrong", "z7", 0)
    failing = {r.wrt for r in checked.gradients if not r.ok}
    assert failing == {"X"} | {f"{p}{i}" for p in "Wb" for i in range(1, 8)}
    assert all("'h7' (leaky_wrong)" in r.note for r in checked.gradients if not r.ok)


def test_the_composition_catches_a_wrong_sum_that_no_op_shows(monkeypatch):
    # An engine that forgets one contribution at nodes reached along several paths:
    # every VJP is right, and the gradient of W in the autoencoder (two paths) is not.
    real = engine._flowing_out
    monkeypatch.setattr(engine, "_flowing_out",
                        lambda G, u, flowing: (lambda out: out[:-1] if len(out) > 1 else out)(
                            real(G, u, flowing)))
    g = losses.autoencoder(m=3, n=4)
    assert all(c.ok for c in check_ops(g))
    composition = check_composition(g)
    assert not composition.ok and composition.max_rel_error > 1e-2
    monkeypatch.undo()
    assert check_composition(losses.autoencoder(m=3, n=4)).ok


def test_the_composition_sees_a_leaf_deep_in_a_net_whose_gradient_is_small():
    g = losses.fc_net(hidden_dims=[4] * 30)
    assert check_composition(g).ok
    g.nx.nodes["W1"]["grad"] = g.grad("W1") * 1.01  # the first layer's gradient is tiny
    assert not check_composition(g).ok


@pytest.fixture
def half_wrong():
    """x³ whose VJP is 1.5 times too large."""
    defop("cube_wrong", symbol="(·)³", forward=lambda a: a**3, shape=same_shape,
          vjp=(lambda g, out, a: 1.5 * 3 * g * a * a,), rule=("4.5 * g * a ** 2",),
          domain=("real",), doc="a³ with a wrong gradient", elementwise=True)
    yield bp.FUNCTIONS["cube_wrong"]
    undefop("cube_wrong")


def test_a_large_constant_in_the_loss_cannot_hide_a_wrong_rule(half_wrong):
    # The large-gradient leaf y and the 1e12 used to let x's wrong gradient pass within
    # the loss's rounding error, measured against y's scale.
    x = bp.param("x", np.array([0.3, -0.8, 1.1]))
    y = bp.param("y", np.array([1.0, 2.0]))
    g = bp.Graph(1e12 + bp.sum(half_wrong(x)) + 1e6 * bp.sum(y))
    result = {r.wrt: r for r in bp.check_gradients(g)}["x"]
    assert not result.ok and not result.resolved
    checked = check(g)
    assert not checked.ok and [o.op for o in checked.failing_ops] == ["cube_wrong"]
    assert {r.wrt: r.ok for r in checked.gradients} == {"x": False, "y": True}


def test_a_leaf_only_its_ops_can_see_is_not_called_right():
    # In a loss of 1e12 the whole loss's differences drown in rounding, the composition's
    # too: each op alone passes, but how backprop composed them is unchecked. The leaf
    # fails, saying why and what to do.
    x = bp.param("x", np.array([0.3, -0.8, 1.1]))
    g = bp.Graph(1e12 + bp.sum(bp.exp(x)))
    (result,) = bp.check_gradients(g)
    assert not result.ok and not result.resolved
    for per_leaf in (True, False):
        checked = check(g, per_leaf=per_leaf)
        assert not checked.ok and not checked.composition.resolved and not checked.failing_ops
        (judged,) = checked.gradients
        assert not judged.ok and "without its large constant terms" in judged.note


def test_a_gradient_no_check_can_resolve_is_never_called_right():
    # an op that loses its input in rounding inside: (x + 1e12) − 1e12 has steps of 1e-4
    shifted = bp.custom_op("shifted", lambda x: (x + 1e12) - 1e12, lambda g, out, x: g)
    x = bp.param("x", np.array([0.3, -0.8, 1.1]))
    g = bp.Graph(1e12 + bp.sum(shifted(x)))
    checked = check(g)
    assert not checked.ok and not checked.failing_ops
    (judged,) = checked.gradients
    assert not judged.ok and "cannot resolve" in judged.note
    planted = bp.custom_op("shifted_off", lambda x: (x + 1e12) - 1e12, lambda g, out, x: 1.5 * g)
    assert not check(bp.Graph(1e12 + bp.sum(planted(x)))).ok


def test_a_large_constant_that_rounding_can_carry_is_judged_by_the_ops():
    # 1e6 + …: the whole loss's differences are 10⁻⁵ uncertain, too much for the entry
    # checks at 1e-6 and enough for each op alone.
    x = bp.param("x", np.array([0.3, -0.8, 1.1]))
    g = bp.Graph(1e6 + bp.sum(bp.exp(x)))
    checked = check(g, per_leaf=True)
    assert checked.ok, checked
    checked = check(g, per_leaf=False)
    assert checked.ok and checked.gradients[0].method == "ops"


def test_the_gradient_of_each_builtin_passes_at_20_seeds():
    false_failures = []
    for name, build in losses.BUILTINS.items():
        for seed in range(20):
            checked = check(build(seed=seed), seed=seed)
            if not checked.ok:
                false_failures.append((name, seed))
    assert false_failures == []


@pytest.mark.parametrize("depth", [10, 40])
def test_leaves_judged_by_their_ops_agree_with_leaf_by_leaf_checks(depth):
    g = losses.fc_net(hidden_dims=[3] * depth)
    by_ops, per_leaf = check(g, per_leaf=False), check(g, per_leaf=True)
    assert by_ops.ok and per_leaf.ok
    assert [r.wrt for r in by_ops.gradients] == [r.wrt for r in per_leaf.gradients]
    assert {r.method for r in by_ops.gradients} == {"ops"}
    assert {r.method for r in per_leaf.gradients} == {"entries"}


def test_a_kink_at_the_recorded_inputs_is_stepped_around_or_said():
    # max_pool2d of ReLU outputs: windows of zeros tie exactly. The zeros are kept still,
    # and the rest of the window is checked.
    g = losses.BUILTINS["conv-net"](seed=3)
    pool = {c.node: c for c in check_ops(g)}["p"]
    assert pool.ok and all(e.resolved for e in pool.edges)
    # Every entry tied: the ties move together, and the first-max rule is checked there;
    # a pool that sends the gradient to every tied entry fails.
    x = bp.param("x", np.zeros((1, 1, 2, 2)))
    g = bp.Graph(bp.sum(bp.max_pool2d(x, kernel_size=2)))
    (pool,) = [c for c in check_ops(g) if c.op == "max_pool2d"]
    (edge,) = pool.edges
    assert edge.ok and edge.resolved
    spreading = bp.custom_op("pool_spread", lambda a: np.max(a, axis=(2, 3)),
                             lambda g_, out, a: g_[:, :, None, None] * (a == out[:, :, None, None]),
                             kinks=lambda a: np.argmax(a.reshape(a.shape[0], a.shape[1], -1), axis=2))
    (spread_check,) = [c for c in check_ops(bp.Graph(bp.sum(spreading(x)))) if c.op == "pool_spread"]
    assert not spread_check.ok
    # relu at exactly 0 everywhere: no direction has a derivative; said, not failed
    g = bp.Graph(bp.sum(bp.relu(bp.param("z", np.zeros(3)))))
    (relu,) = [c for c in check_ops(g) if c.op == "relu"]
    assert relu.ok and not relu.resolved and "sits on a kink" in relu.edges[0].note


def test_an_unknown_leaf_is_refused_before_any_work():
    with pytest.raises(bp.UnknownNameError, match="no node named 'Q'"):
        check(losses.autoencoder(), "Q")


# ---------------------------------------------------------------- attacks


def test_a_vjp_that_writes_into_the_upstream_gradient_is_caught():
    # the classic `dx = dout; dx[x <= 0] = 0`: add hands the same array to both slots, so
    # the other branch's gradient would be zeroed too. The graph's arrays are read-only:
    # the write fails where it happens, and says what to do.
    def relu_backward(g, out, x):
        g[x <= 0] = 0
        return g

    relu2 = bp.custom_op("relu_inplace", lambda x: np.maximum(x, 0), relu_backward,
                         kinks=lambda x: x > 0)
    rng = np.random.default_rng(0)
    x, w = bp.param("x", rng.normal(size=8)), bp.param("w", rng.normal(size=8))
    with pytest.raises(bp.GraphvizBPError, match="vjp writes into an array it was given"):
        bp.Graph(bp.sum((relu2(x) + w) * bp.const("c", rng.normal(size=8))))


@pytest.mark.parametrize("forward, vjp", [
    (lambda x: np.maximum(x, 0, out=x), lambda g, out, x: g * (x > 0)),      # an in-place ReLU
    (lambda x: np.exp(x - x.max()), lambda g, out, x: g * np.exp(x - x.max(out=None))),
])
def test_a_forward_or_vjp_that_writes_into_its_arguments_fails_where_it_writes(forward, vjp):
    def shifting_vjp(g, out, x):
        x -= x.max()  # the usual overflow guard, written in place
        return vjp(g, out, x)

    op = bp.custom_op("writes", forward, shifting_vjp)
    with pytest.raises(bp.GraphvizBPError, match="writes into an array it was given"):
        bp.Graph(bp.sum(op(bp.param("x", np.array([0.5, -1.0, 2.0])))))


def test_an_unrelated_failing_op_does_not_excuse_a_wrong_leaf(monkeypatch):
    # the composition fails; one op fails too, but it lies below K only: w and x, which
    # no failing op explains, are checked against the whole loss
    real = engine._flowing_out
    monkeypatch.setattr(engine, "_flowing_out",
                        lambda G, u, flowing: (lambda out: out[:-1] if len(out) > 1 else out)(
                            real(G, u, flowing)))
    wrong = bp.custom_op("tanh_off", np.tanh, lambda g, out, x: 1.1 * g * (1 - out**2))
    rng = np.random.default_rng(1)
    w = bp.param("w", rng.normal(size=3))
    K = bp.param("K", rng.normal(size=3))
    g = bp.Graph(bp.sum(w * w) + bp.sum(wrong(K)))
    checked = check(g, per_leaf=False)
    verdicts = {r.wrt: r.ok for r in checked.gradients}
    assert verdicts == {"w": False, "K": False}
    assert [o.op for o in checked.failing_ops] == ["tanh_off"]


@pytest.mark.parametrize("seed", range(6))
def test_ill_conditioned_kernels_check_without_false_failures(seed):
    for sizes in ({}, dict(N=10, Q=1, D=4, beta=100)):
        checked = check(losses.gplvm(seed=seed, **sizes), seed=seed)
        assert checked.ok, [(o.node, o.max_rel_error) for o in checked.failing_ops]


@pytest.mark.parametrize("loss", [
    lambda x: bp.sum(bp.relu(x) * bp.const("c", np.arange(1.0, 6.0))),
    lambda x: bp.sum(bp.maximum(x, bp.const("z", np.zeros(5))) * bp.const("c", np.arange(1.0, 6.0))),
    lambda x: bp.sum(bp.clip(x, lo=0.0, hi=1.0) * bp.const("c", np.arange(1.0, 6.0))),
    lambda x: bp.max(x * x) + bp.sum(x),
    lambda x: bp.sum(bp.abs(x) * bp.const("c", np.arange(1.0, 6.0))),
], ids=["relu", "maximum", "clip", "max-tie", "abs"])
@pytest.mark.parametrize("per_leaf", [True, False])
def test_a_recorded_point_on_a_kink_is_not_a_false_failure(loss, per_leaf):
    x = bp.param("x", np.array([0.0, 1.0, -1.0, 0.0, 2.0]))
    checked = check(bp.Graph(loss(x)), per_leaf=per_leaf)
    assert checked.ok, checked


@pytest.mark.parametrize("scale", [1e-2, 1e-4])
def test_weights_at_a_small_initial_scale_check_cleanly(scale):
    rng = np.random.default_rng(0)
    W = bp.param("W", scale * rng.normal(size=(4, 5)))
    x = bp.data("x", rng.normal(size=(5, 3)))
    g = bp.Graph(bp.sqrt(bp.sumsq(W @ x)))
    assert check(g, per_leaf=True).ok and check(g, per_leaf=False).ok


def test_a_pole_near_one_entry_is_stepped_around():
    x = np.random.default_rng(0).normal(size=5)
    x[0] = 1e-6
    g = bp.Graph(bp.sum(1 / bp.param("x", x)))
    assert check(g, per_leaf=True).ok and check(g, per_leaf=False).ok


def test_consts_and_ops_are_refused_and_labels_stay_integers():
    g = losses.two_layer_net()
    with pytest.raises(bp.GraphvizBPError, match="'y' is a const: it has no gradient"):
        check(g, "y")
    with pytest.raises(bp.GraphvizBPError, match="'S' is computed by an op"):
        bp.check_gradients(g, "S")
    assert g.value("y").dtype.kind == "i" and check(g).ok


@pytest.mark.parametrize("call, message", [
    (lambda: check("g"), "check takes an evaluated Graph, got str"),
    (lambda: check(losses.autoencoder(), seed=-1), "seed must be a non-negative integer"),
    (lambda: check(losses.autoencoder(), seed=1.5), "seed must be a non-negative integer"),
    (lambda: check(losses.autoencoder(), wrt=3), "wrt must be a leaf's name"),
    (lambda: check(bp.Graph(bp.sumsq(bp.param("x", np.ones(2))), evaluate=False)),
     "evaluate it first"),
])
def test_bad_calls_get_one_line_errors(call, message):
    with pytest.raises(bp.GraphvizBPError, match=message):
        call()


def test_a_forward_that_reads_one_triangle_is_said_so():
    # right along symmetric moves, not along general ones: not checked alone, and why
    lower = bp.custom_op("lower_sum", lambda K: np.sum(np.tril(K)),
                         lambda g, out, K: g * (np.tril(np.ones_like(K)) + np.triu(np.ones_like(K))) / 2,
                         domain="spd")
    A = np.random.default_rng(0).normal(size=(3, 3))
    g = bp.Graph(lower(bp.param("K", A @ A.T + 3 * np.eye(3))))
    (edge,) = [c for c in check_ops(g) if c.op == "lower_sum"][0].edges
    assert edge.ok and not edge.resolved and "reads one" in edge.note


def test_check_render_writes_tikz_too(tmp_path):
    from graphviz_bp.cli import main

    out = tmp_path / "checked.tex"
    assert main(["check", "autoencoder", "--render", str(out)]) == 0
    assert r"\begin{tikzpicture}" in out.read_text()


def test_tikz_draws_the_edges_of_a_folded_box():
    from graphviz_bp.tikz import to_tikz

    tex = to_tikz(losses.fc_net(hidden_dims=[4] * 30))
    box = next(line for line in tex.splitlines() if "layers folded" in line)
    name = box.split("(")[1].split(")")[0]
    assert sum(f"({name})" in line for line in tex.splitlines() if line.startswith(r"\draw")) >= 2
