"""Judging hand-derived gradients: right answers hold, the typical mistakes fail."""

import pytest

import graphviz_bp as bp
from graphviz_bp.claims import check_claim, parse_claim
from graphviz_bp.sources import builtin_source

R = "(W.T @ W @ x - x)"

RIGHT = [
    ("autoencoder", "W", f"W @ {R} @ x.T + W @ x @ {R}.T"),
    ("autoencoder", "W", "W @ r @ x.T + W @ x @ r.T"),
    ("autoencoder", "x", "(W.T @ W - eye(n)) @ r"),
    ("gplvm-l1", "X", "-alpha * D * inv(K) @ X"),
    ("gplvm-l2", "X", "alpha * inv(K) @ Y @ Y.T @ inv(K) @ X"),
    ("gplvm-l2", "Y", "-solve(K, Y)"),
    ("gplvm", "X", "alpha * (inv(K) @ Y @ Y.T @ inv(K) - D * inv(K)) @ X"),
    ("gplvm", "K", "-D/2 * inv(K) + 0.5 * inv(K) @ Y @ Y.T @ inv(K)"),
    ("fcnet-swish", "z2", "softmax(z2, axis=0) - (softmax(z2, axis=0) - grad(z2))"),
    ("fcnet-swish", "W2", "grad(z2) @ h1.T"),
    ("fcnet-swish", "b2", "grad(z2)"),
    ("fcnet-swish", "z1", "(sigmoid(z1) + h1 * (1 - sigmoid(z1))) * (W2.T @ grad(z2))"),
    ("fcnet-swish", "z1", "(1 + (z1 + 1) * exp(-z1)) / (1 + exp(-z1)) ** 2 * (W2.T @ grad(z2))"),
    ("fcnet-swish", "W1", "grad(z1) @ x.T"),
    ("two-layer-net", "W2", "H1.T @ grad(S) + reg * W2"),
    ("two-layer-net", "b2", "sum(grad(S), axis=0)"),
    ("two-layer-net", "W1", "X.T @ grad(Z1) + reg * W1"),
    ("two-layer-net", "S", "(softmax(S) - (softmax(S) - N * grad(S))) / N"),
]

WRONG = [  # the typical mistakes of a hand derivation
    ("autoencoder", "W", f"W @ {R} @ x.T", None),                       # a path dropped
    ("autoencoder", "W", f"2 * W @ {R} @ x.T", None),                   # "the paths are equal"
    ("autoencoder", "W", f"(W @ {R} @ x.T + W @ x @ {R}.T).T", "shape"),  # transposed
    ("gplvm", "X", "0.5 * alpha * (inv(K) @ Y @ Y.T @ inv(K) - D * inv(K)) @ X", None),  # X Xᵀ: one path
    ("gplvm-l1", "X", "-alpha * D * inv(K) @ X / 2", None),              # a factor off
    ("gplvm-l2", "X", "alpha * inv(K) @ Y @ Y.T @ X", None),             # a K⁻¹ dropped
    ("fcnet-swish", "z1", "sigmoid(z1) * (1 - sigmoid(z1)) * (W2.T @ grad(z2))", None),  # σ′, not swish′
    ("fcnet-swish", "W2", "h1 @ grad(z2).T", "shape"),                   # transpose missing
    ("two-layer-net", "W2", "H1.T @ grad(S)", None),                     # regulariser forgotten
    ("two-layer-net", "b2", "mean(grad(S), axis=0)", None),              # mean instead of sum
]


def judge(source, wrt, claim, trials=3):
    """The claim judged on a source's draws 0, 1, …, as ``check --claim`` judges it."""
    return check_claim(source.build(0), wrt, claim, redraw=source.draw, sizes=source.sizes,
                       trials=trials)


@pytest.mark.parametrize("loss, wrt, claim", RIGHT)
def test_right_answers_hold_at_every_draw(loss, wrt, claim):
    result = judge(builtin_source(loss), wrt, claim, trials=3)
    assert result.ok and result.trials == 3 and result.error is None, result
    assert result.max_rel_error < 1e-10


@pytest.mark.parametrize("loss, wrt, claim, why", WRONG)
def test_typical_mistakes_fail(loss, wrt, claim, why):
    result = judge(builtin_source(loss), wrt, claim, trials=3)
    assert not result.ok, result
    if why == "shape":
        assert result.error.startswith("the claim has shape") and "∇" in result.error
        assert result.max_rel_error is None
    else:
        assert result.max_rel_error > 1e-2


def test_an_agreement_by_accident_at_one_draw_is_caught():
    # With m = n = 1 the gradient is one number; a claim that copies the first draw's
    # number holds there and nowhere else.
    source = builtin_source("autoencoder", ["m=1", "n=1"])
    copied = f"x * 0 + {float(source.build(0).grad('x')[0, 0])!r}"
    assert judge(source, "x", copied, trials=1).ok
    result = judge(source, "x", copied, trials=3)
    assert not result.ok and result.trials == 2 and result.max_rel_error > 1e-2


@pytest.mark.parametrize("loss, wrt, claim, message", [
    ("autoencoder", "V", "W", "no node named 'V'"),
    ("autoencoder", "const_1", "W", "has no gradient"),
    ("autoencoder", "W", "W @ q", "unknown name 'q'"),
    ("autoencoder", "W", "W.__class__", "only .T is allowed"),
])
def test_bad_claims_fail_with_the_reason(loss, wrt, claim, message):
    result = judge(builtin_source(loss), wrt, claim)
    assert not result.ok and message in result.error and result.max_rel_error is None


def test_parse_claim():
    assert parse_claim(" W2 = grad(z2) @ h1.T ") == ("W2", "grad(z2) @ h1.T")
    for bad in ("W2", "=x", "W 2=x", "W="):
        with pytest.raises(bp.GraphvizBPError, match="NAME=EXPR"):
            parse_claim(bad)
