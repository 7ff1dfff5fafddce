"""Ops of one's own (``bp.custom_op``): written, evaluated, checked, derived and drawn like
any op of the table, and a wrong hand-written VJP found where it sits."""

import html
import json
import textwrap

import numpy as np
import pytest

import graphviz_bp as bp
from graphviz_bp.claims import check_claim
from graphviz_bp.cli import main
from graphviz_bp.dot import to_dot
from graphviz_bp.drawing import draw
from graphviz_bp.expr import parse
from graphviz_bp.ops import OPS
from graphviz_bp.symbolic import derive


def affine_backward(g, out, x, W, b):
    """A course's affine_backward: dx, dW, db."""
    return g @ W.T, x.T @ g, g.sum(axis=0)


@pytest.fixture
def affine():
    op = bp.custom_op("affine", lambda x, W, b: x @ W + b, affine_backward, symbol="xW + b")
    yield op
    _forget("affine")


@pytest.fixture
def leaky():
    op = bp.custom_op("leaky", lambda x: np.where(x > 0, x, 0.1 * x),
                      lambda g, out, x: g * np.where(x > 0, 1.0, 0.1), kinks=lambda x: x > 0)
    yield op
    _forget("leaky")


def _forget(name):
    from graphviz_bp.custom import custom_ops, remove_custom_op

    if name in custom_ops():
        remove_custom_op(name)


def net(affine, leaky, seed=0):
    rng = np.random.default_rng(seed)
    X = bp.data("X", rng.normal(size=(4, 3)))
    W = bp.param("W", rng.normal(size=(3, 2)))
    b = bp.param("b", rng.normal(size=2))
    return bp.sumsq(leaky(affine(X, W, b).named("z")).named("h"))


def test_a_custom_op_evaluates_and_its_gradients_are_the_vjps(affine, leaky):
    g = bp.Graph(net(affine, leaky))
    X, W, b = g.value("X"), g.value("W"), g.value("b")
    z = X @ W + b
    dz = 2 * np.where(z > 0, z, 0.1 * z) * np.where(z > 0, 1.0, 0.1)
    np.testing.assert_allclose(g.grad("W"), X.T @ dz, rtol=1e-13)
    np.testing.assert_allclose(g.grad("b"), dz.sum(axis=0), rtol=1e-13)
    np.testing.assert_allclose(g.grad("X"), dz @ W.T, rtol=1e-13)
    checked = bp.check(g)
    assert checked.ok and {o.op for o in checked.ops} >= {"affine", "leaky"}


def test_a_custom_op_is_a_function_of_the_package_and_of_the_language(affine, leaky):
    assert bp.affine is affine and "affine" in bp.FUNCTIONS
    rng = np.random.default_rng(1)
    names = {"X": bp.data("X", rng.normal(size=(4, 3))), "W": bp.param("W", rng.normal(size=(3, 2))),
             "b": bp.param("b", rng.normal(size=2))}
    g = bp.Graph(parse("sumsq(leaky(affine(X, W, b)))", names))
    api = bp.Graph(bp.sumsq(leaky(affine(names["X"], names["W"], names["b"]))))
    np.testing.assert_allclose(g.grad("W"), api.grad("W"), rtol=1e-15)


def test_a_custom_op_derives_with_its_rule_written_as_an_op_and_the_result_holds(affine, leaky):
    g = bp.Graph(net(affine, leaky))
    deriv = derive(g)
    result = deriv.expr(deriv.node_expanded["W"])
    assert "affine_vjp_W(" in result and "leaky_vjp(" in result
    assert check_claim(g, "W", result).ok
    assert not check_claim(g, "W", result.replace("affine_vjp_W", "affine_vjp_X", 1)).ok
    assert "leaky_vjp(g, out, a)" in deriv.rule_used[("z", "h", 0)]


def test_a_custom_op_is_drawn_with_its_symbol(affine, leaky):
    svg = draw(to_dot(bp.Graph(net(affine, leaky))), "svg").decode()
    assert 'class="node op affine"' in svg and "xW + b" in svg
    assert 'class="node op leaky"' in svg


def test_a_planted_wrong_vjp_is_found_where_it_sits(affine):
    wrong = bp.custom_op("leaky_off", lambda x: np.where(x > 0, x, 0.1 * x),
                         lambda g, out, x: g * np.where(x > 0, 1.0, 0.01), kinks=lambda x: x > 0)
    try:
        checked = bp.check(bp.Graph(net(affine, wrong)))
    finally:
        _forget("leaky_off")
    assert not checked.ok
    op, edge = checked.first_failure()
    assert (op.node, op.op, edge.source) == ("h", "leaky_off", "z")
    assert [o.node for o in checked.failing_ops] == ["h"]


def test_none_means_no_gradient_and_the_checks_say_when_the_output_depends_on_it():
    scale = bp.custom_op("scaled", lambda x, s: x * s, lambda g, out, x, s: (g * s, None))
    try:
        x = bp.param("x", np.array([1.0, 2.0]))
        s = bp.param("s", np.array([3.0, 4.0]))
        g = bp.Graph(bp.sum(scale(x, s)))
        np.testing.assert_array_equal(g.grad("s"), [0.0, 0.0])
        checked = bp.check(g)
        assert not checked.ok
        (edge,) = checked.first_failure()[0].failing
        assert edge.source == "s" and edge.max_rel_error == pytest.approx(1.0)
    finally:
        _forget("scaled")


def test_labels_get_no_gradient():
    pick = bp.custom_op("pick_own", lambda S, y: S[np.arange(len(y)), y],
                        lambda g, out, S, y: (_placed(g, S, y), None), domain=("real", "labels"))
    try:
        S = bp.param("S", np.arange(6.0).reshape(2, 3))
        y = bp.const("y", np.array([2, 0]))
        g = bp.Graph(bp.sumsq(pick(S, y)))
        np.testing.assert_array_equal(g.grad("S"), [[0, 0, 4], [6, 0, 0]])
        assert OPS["pick_own"].vjp[1] is None and bp.check(g).ok
    finally:
        _forget("pick_own")


def _placed(g, S, y):
    grad = np.zeros_like(S)
    grad[np.arange(len(y)), y] = g
    return grad


def test_calling_custom_op_again_replaces_it_and_a_builtin_cannot_be_replaced():
    first = bp.custom_op("twice", lambda x: 2 * x, lambda g, out, x: 2 * g)
    again = bp.custom_op("twice", lambda x: 3 * x, lambda g, out, x: 3 * g)
    try:
        assert first is not again
        assert bp.Graph(bp.sum(again(bp.param("x", np.ones(2))))).loss == 6.0
    finally:
        _forget("twice")
    with pytest.raises(bp.GraphvizBPError, match="'relu' is already an op"):
        bp.custom_op("relu", lambda x: x, lambda g, out, x: g)
    assert OPS["relu"].name == "relu"


@pytest.mark.parametrize("args, message", [
    (("bad name", lambda x: x, lambda g, out, x: g), "must be an identifier"),
    (("noargs", lambda: 1.0, lambda g, out: ()), "takes 1 to 3 arguments, got 0"),
    (("star", lambda *xs: xs[0], lambda g, out, *xs: g), "not take \\*args"),
    (("notfn", "x", lambda g, out, x: g), "must be functions"),
    (("dom", lambda x: x, lambda g, out, x: g), "unknown domain 'complex'"),
])
def test_misuse_is_refused_in_one_line(args, message):
    domain = "complex" if args[0] == "dom" else None
    with pytest.raises(bp.GraphvizBPError, match=message):
        bp.custom_op(*args, domain=domain)
    assert args[0] not in OPS


def test_a_vjp_of_the_wrong_shape_or_count_is_named():
    bad = bp.custom_op("badshape", lambda x: 2 * x, lambda g, out, x: np.ones(3))
    many = bp.custom_op("badcount", lambda x, y: x + y, lambda g, out, x, y: (g,))
    try:
        with pytest.raises(bp.GraphvizBPError, match=r"'badshape': vjp gives a gradient of shape "
                                                     r"\(3,\) for argument 1, of shape \(2, 2\)"):
            bp.Graph(bp.sum(bad(bp.param("x", np.ones((2, 2))))))
        with pytest.raises(bp.GraphvizBPError, match="must return 2 gradient"):
            bp.Graph(bp.sum(many(bp.param("x", np.ones(2)), bp.param("y", np.ones(2)))))
    finally:
        _forget("badshape")
        _forget("badcount")


def test_shapes_that_do_not_fit_are_found_while_writing(affine):
    with pytest.raises(bp.ShapeError, match="custom op 'affine' cannot take arguments of shape"):
        affine(bp.data("X", np.ones((4, 3))), bp.param("W", np.ones((2, 2))), bp.param("b", np.ones(2)))


PLANTED = textwrap.dedent('''
    import numpy as np
    import graphviz_bp as bp

    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    def swish_backward(g, out, x):
        return g * sigmoid(x)          # the bug: swish′ = σ + swish (1 − σ)

    swish = bp.custom_op("my_swish", lambda x: x * sigmoid(x), swish_backward, symbol="swish")

    def loss(N=4, D=3, H=3):
        rng = np.random.default_rng(0)
        x = bp.data("x", rng.normal(size=(N, D)))
        W = bp.param("W", rng.normal(size=(D, H)))
        return bp.sumsq(swish(x @ W).named("h"))
''')


def test_the_command_line_finds_the_planted_bug_in_a_file_and_draws_it(tmp_path, capsys):
    path = tmp_path / "mynet.py"
    path.write_text(PLANTED)
    figure = tmp_path / "checked.svg"
    try:
        code = main(["check", f"{path}:loss", "--render", str(figure)])
        out = capsys.readouterr().out
        assert code == 1
        assert "first failing op: h (my_swish), edge matmul_1 → h (argument 0)" in out, out
        svg = html.unescape(figure.read_text())  # Graphviz writes - as &#45;
        node = svg[svg.index('id="node-h"'):]
        assert node.index("check-failed") < node.index("</g>")
        assert 'class="node op matmul check-ok"' in svg
        assert "✗" in svg
    finally:
        _forget("my_swish")


@pytest.mark.parametrize("path, message", [
    ("checked.docx", "cannot tell the format from"),
    ("missing/checked.svg", "folder"),
    ("checked.svg/", "it names a folder"),
    (".", "cannot tell the format"),
    ("here.svg", "it is a folder"),
])
def test_a_render_path_that_cannot_be_written_is_refused_before_the_work(tmp_path, capsys,
                                                                         monkeypatch, path, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "here.svg").mkdir()
    assert main(["check", "autoencoder", "--render", path]) == 2
    out, err = capsys.readouterr()
    assert out == "" and message in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here.svg"]


def test_the_json_report_names_the_op_and_edge(tmp_path, capsys):
    path = tmp_path / "mynet.py"
    path.write_text(textwrap.dedent('''
        import numpy as np
        import graphviz_bp as bp

        def loss():
            off = bp.custom_op("off", np.tanh, lambda g, out, x: g * (1 - out ** 2) * 1.001)
            x = bp.param("x", np.linspace(-1, 1, 5))
            return bp.sumsq(off(2 * x).named("t"))
    '''))
    try:
        assert main(["check", f"{path}:loss", "--json"]) == 1
        doc = json.loads(capsys.readouterr().out)
        assert doc["first_failure"]["node"] == "t" and doc["first_failure"]["op"] == "off"
        assert [o["node"] for o in doc["ops"] if not o["ok"]] == ["t"]
        assert 5e-4 < doc["first_failure"]["max_rel_error"] < 5e-3
    finally:
        _forget("off")


def test_a_forward_that_fails_off_its_domain_is_stepped_around():
    # a Cholesky of a matrix moved off the positive definite ones raises LinAlgError: the
    # check takes it as leaving the domain and shortens its step
    def logdet_chol(K):
        return 2 * np.sum(np.log(np.diag(np.linalg.cholesky((K + K.T) / 2))))

    op = bp.custom_op("logdet_chol", logdet_chol, lambda g, out, K: g * np.linalg.inv(K).T,
                      domain="spd")
    A = np.random.default_rng(0).normal(size=(3, 2))  # rank 2: K is nearly singular
    K = bp.param("K", A @ A.T + 1e-6 * np.eye(3))
    assert bp.check(bp.Graph(op(K))).ok
    with pytest.raises(bp.NumericalError, match="logdet_chol.*LinAlgError"):
        bp.Graph(op(bp.param("M", -np.eye(3))))


@pytest.mark.parametrize("vjp, message", [
    (lambda g, out, x: 1j * g, "vjp gave complex numbers"),
    (lambda g, out, x: "grad", "vjp must give real numbers, got str"),
    (lambda g, out, x: 1 / 0, "vjp raised ZeroDivisionError"),
])
def test_a_vjp_that_gives_no_real_gradient_is_named(vjp, message):
    op = bp.custom_op("odd", lambda x: 2 * x, vjp)
    with pytest.raises(bp.GraphvizBPError, match=message):
        bp.Graph(bp.sum(op(bp.param("x", np.ones(2)))))


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="grad"), "taken by the expression language"),
    (dict(name="g"), "taken by the expression language"),
    (dict(name="lambda"), "not a Python keyword"),
    (dict(symbol=5), "symbol must be a string"),
    (dict(domain=5), "domain is a word or one word per argument"),
    (dict(kinks="x > 0"), "kinks must be a function"),
])
def test_more_misuse_is_refused(kwargs, message):
    args = {"name": "fine", "forward": lambda x: x, "vjp": lambda g, out, x: g, **kwargs}
    with pytest.raises(bp.GraphvizBPError, match=message):
        bp.custom_op(args.pop("name"), args.pop("forward"), args.pop("vjp"), **args)


def test_kinks_that_fail_are_named_and_arity_cannot_change_under_a_graph():
    op = bp.custom_op("kinky", np.abs, lambda g, out, x: g * np.sign(x), kinks=lambda: None)
    with pytest.raises(bp.GraphvizBPError, match="kinks raised TypeError"):
        bp.check(bp.Graph(bp.sum(op(bp.param("x", np.array([1.0, -2.0]))))))
    with pytest.raises(bp.GraphvizBPError, match="takes 1 argument"):
        bp.custom_op("kinky", lambda a, b: a * b, lambda g, out, a, b: (g * b, g * a))
