"""Leaves no gradient reaches: their gradient is 0, checked against finite differences,
reported with the leaf's own shape, in the library, the text report and the JSON."""

import json
import textwrap

import numpy as np
import pytest

import graphviz_bp as bp
from graphviz_bp.cli import main
from graphviz_bp.ops import defop, undefop
from graphviz_bp.ops.shapes import same_shape


def check(loss) -> dict:
    return {r.wrt: r for r in bp.check_gradients(bp.Graph(loss))}


def run_check(capsys, *args) -> tuple[int, str]:
    code = main(["check", *args])
    return code, capsys.readouterr().out


# ---------------------------------------------------------------- the library


def test_a_leaf_used_only_for_its_shape_has_gradient_zero_and_passes():
    W = bp.param("W", np.arange(6.0).reshape(2, 3))
    (result,) = check(bp.sum(bp.ones_like(W))).values()
    assert result.ok and not result.reaches and result.shape == (2, 3)
    assert result.max_rel_error == 0.0
    assert "no gradient reaches W" in result.note and "ones_like" in result.note


def test_a_leaf_behind_step_passes_beside_one_with_a_gradient():
    W = bp.param("W", np.array([[0.5, -1.0, 2.0], [-0.3, 1.5, -2.0]]))
    v = bp.param("v", np.array([1.0, 2.0, 3.0]))
    results = check(bp.sum(bp.step(W)) + bp.sumsq(v))
    assert results["W"].ok and not results["W"].reaches and results["W"].shape == (2, 3)
    assert "step" in results["W"].note
    assert results["v"].ok and results["v"].reaches and results["v"].note is None


def test_a_leaf_reaching_the_loss_by_another_path_too_is_checked_as_usual():
    x = bp.data("x", np.array([1.0, -2.0, 3.0]))
    (result,) = check(bp.sum(x * bp.step(2 * x))).values()
    assert result.ok and result.reaches and result.note is None


def test_a_large_leaf_no_gradient_reaches_is_checked_by_directions():
    W = bp.param("W", np.random.default_rng(0).choice([-1.0, 1.0], size=(10, 10)))
    (result,) = check(bp.sum(bp.step(W))).values()
    assert result.ok and not result.reaches and result.method == "directions+samples"
    assert result.shape == (10, 10)


def test_a_jump_within_a_step_of_the_point_is_stepped_around():
    # 1e-4 lies within the first step (1e-3) of the jump of step(W). step declares the
    # jump a kink, so the step is shortened and the loss's derivative, 0, is found.
    W = bp.param("W", np.array([[1e-4, 1.0], [2.0, -1.0]]))
    (result,) = check(bp.sum(bp.step(W))).values()
    assert result.ok and not result.reaches and result.max_rel_error == 0.0


@pytest.fixture
def frozen_sin():
    """sin whose stanza declares no gradient: a smooth op that passes none back."""
    defop("frozen_sin", symbol="sin", forward=np.sin, shape=same_shape, domain=("real",),
          vjp=(None,), rule=(None,), doc="sin, without a gradient (a planted omission)")
    yield bp.FUNCTIONS["frozen_sin"]
    undefop("frozen_sin")


def test_a_smooth_op_without_a_gradient_is_caught(frozen_sin):
    x = bp.param("x", np.array([0.1, 0.5, 1.0]))
    (result,) = check(bp.sum(frozen_sin(x))).values()
    assert not result.ok and not result.reaches and result.max_rel_error == 1.0
    assert "changes with x" in result.note and "frozen_sin" in result.note


# ---------------------------------------------------------------- the command line


def test_the_text_report_shows_the_leaf_shape_and_passes(capsys):
    code, out = run_check(capsys, "--expr", "sum(ones_like(W))", "--var", "W=2x3")
    assert code == 0, out
    (line,) = [line for line in out.splitlines() if line.lstrip().startswith("∇W")]
    assert "2×3" in line and line.endswith("ok") and "nan" not in line
    assert "no gradient reaches W" in out and "all checks pass" in out


def test_the_json_report_says_whether_a_gradient_reaches(capsys):
    code, out = run_check(capsys, "--expr", "sum(step(W)) + sumsq(v)", "--var", "W=2x3",
                          "--var", "v=3", "--json")
    assert code == 0, out
    doc = json.loads(out)
    grads = {r["wrt"]: r for r in doc["gradients"]}
    assert doc["ok"] and doc["checked"] == 2
    assert grads["W"]["reaches"] is False and grads["W"]["shape"] == [2, 3]
    assert grads["W"]["ok"] and grads["W"]["max_rel_error"] == 0.0
    assert grads["v"]["reaches"] is True and grads["v"]["note"] is None
    assert set(grads["W"]) == set(grads["v"])


def test_the_command_fails_when_the_loss_changes_with_an_unreached_leaf(capsys, tmp_path):
    path = tmp_path / "frozen.py"
    path.write_text(textwrap.dedent("""
        import numpy as np
        import graphviz_bp as bp

        def loss():
            frozen = bp.custom_op("frozen", np.sin, lambda g, out, x: None)
            return bp.sum(frozen(bp.param("W", np.array([0.5, 1.0]))))
    """))
    for per_leaf in ("--per-leaf", "--no-per-leaf"):
        code, out = run_check(capsys, f"{path}:loss", per_leaf)
        assert code == 1
        assert "FAILED" in out and "first failing op: frozen_1 (frozen)" in out, out
        assert "edge W → frozen_1 (argument 0): max rel error 1.0e+00" in out


@pytest.mark.parametrize("args", [
    ["--expr", "sum(x * step(2 * x))", "--var", "x=3"],
    ["--expr", "sumsq(X @ W - onehot(X @ W, y))", "--var", "X=4x3", "--var", "W=3x5",
     "--labels", "y=0,2,1,4"],
])
def test_losses_with_gradient_free_ops_check_cleanly(capsys, args):
    code, out = run_check(capsys, *args)
    assert code == 0, out
    assert "all checks pass" in out


def test_a_gradient_zero_by_cancellation_passes():
    # Σ softmax(A) along its own axis is 1 whatever A is: the loss is constant, and
    # backprop's gradient is 0 up to rounding (1e-17), as the quotients find.
    A = bp.param("A", np.random.default_rng(1).normal(size=(3, 3)))
    (result,) = check(bp.sumsq(bp.sum(bp.softmax(A, axis=0), axis=0))).values()
    assert result.ok and result.reaches and result.note is None
