"""The hand-written references of references.py, checked on their own.

Before the package's built-in losses can be judged against these references, the references
themselves must be right.  Two kinds of check:

* every hand-derived gradient against central differences of the reference's own loss, at
  inputs built to sit well away from any kink (hinge, ReLU, max, Huber switch-over);
* the conventions a gradient check cannot see (which gate comes first, cross-correlation vs
  convolution, mean vs sum, ...) against small hand-computed cases, plus two alternative
  derivations: batchnorm's staged backward and the RNN's per-step weight gradients.
"""

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from conftest import assert_close, central_differences
from references import (
    NORM_EPS, attention, batchnorm, conv2d_backward, conv2d_forward, conv_net, dropout,
    embedding, huber, layernorm, logistic, lstm_step, max_pool_backward, max_pool_forward,
    mse, residual, rnn, sigmoid, softmax_cross_entropy, softmax_rows, svm,
)

# Seeds checked (test_inputs_keep_clear_of_kinks) to keep every non-smooth loss at least
# KINK_MARGIN from its kinks while still visiting both sides of them.
SEEDS = [1, 3, 4]
EPS = 1e-6
RTOL = 1e-7
# How far every non-smooth point must be from the inputs: a central difference with step
# 1e-6 only moves pre-activations by about 1e-6, so it never straddles a kink.
KINK_MARGIN = 1e-3


# ------------------------------------------------------------------ inputs

def _svm_inputs(rng):
    N, D, C = 5, 3, 4
    return dict(X=rng.normal(size=(N, D)), W=0.5 * rng.normal(size=(D, C)),
                y=rng.integers(C, size=N), reg=0.1)


def _batchnorm_inputs(rng):
    N, D = 4, 3
    # An offset and a spread different from 0 and 1 so normalisation really does something.
    return dict(x=1.0 + 2.0 * rng.normal(size=(N, D)), gamma=rng.normal(size=D),
                beta=rng.normal(size=D), out_weights=rng.normal(size=(N, D)))


def _layernorm_inputs(rng):
    N, D = 3, 5
    return dict(x=1.0 + 2.0 * rng.normal(size=(N, D)), gamma=rng.normal(size=D),
                beta=rng.normal(size=D), out_weights=rng.normal(size=(N, D)))


def _dropout_inputs(rng):
    N, D, K = 4, 3, 5
    mask = rng.integers(0, 2, size=(N, K)).astype(np.float64)
    # Both kept and dropped units must be present, or half of the mask logic goes untested.
    mask[0, 0], mask[0, 1] = 0.0, 1.0
    return dict(x=rng.normal(size=(N, D)), W=rng.normal(size=(D, K)), mask=mask, p=0.3,
                t=rng.normal(size=(N, K)))


def _conv_net_inputs(rng):
    N, C, H, W, F, K = 2, 2, 4, 4, 3, 3
    return dict(x=rng.normal(size=(N, C, H, W)), w=0.5 * rng.normal(size=(F, C, 3, 3)),
                b=0.1 * rng.normal(size=F), W2=0.5 * rng.normal(size=(F * H * W // 4, K)),
                b2=0.1 * rng.normal(size=K), y=rng.integers(K, size=N))


def _rnn_inputs(rng):
    T, N, D, H, C = 3, 2, 3, 4, 3
    # Weights scaled down so tanh stays away from saturation, where gradients vanish and a
    # wrong derivative could hide.
    return dict(xs=rng.normal(size=(T, N, D)), h0=0.5 * rng.normal(size=(N, H)),
                Wx=0.5 * rng.normal(size=(D, H)), Wh=0.5 * rng.normal(size=(H, H)),
                b=0.1 * rng.normal(size=H), Wy=rng.normal(size=(H, C)),
                ys=rng.integers(C, size=(T, N)))


def _lstm_step_inputs(rng):
    N, D, H = 2, 3, 2
    return dict(x=rng.normal(size=(N, D)), h=rng.normal(size=(N, H)), c=rng.normal(size=(N, H)),
                Wx=0.5 * rng.normal(size=(D, 4 * H)), Wh=0.5 * rng.normal(size=(H, 4 * H)),
                b=0.1 * rng.normal(size=4 * H), t_h=rng.normal(size=(N, H)),
                t_c=rng.normal(size=(N, H)))


def _embedding_inputs(rng):
    V, D = 5, 3
    # Row 1 is looked up three times, row 0 once, rows 2 and 4 never.
    idx = np.array([1, 3, 1, 0, 1])
    return dict(W=rng.normal(size=(V, D)), idx=idx, t=rng.normal(size=(idx.size, D)))


def _attention_inputs(rng):
    N, D, d_k, d_v = 4, 3, 2, 3
    return dict(X=rng.normal(size=(N, D)), Wq=rng.normal(size=(D, d_k)),
                Wk=rng.normal(size=(D, d_k)), Wv=rng.normal(size=(D, d_v)),
                t=rng.normal(size=(N, d_v)))


def _logistic_inputs(rng):
    N, D = 6, 3
    y = rng.integers(0, 2, size=N).astype(np.float64)
    y[0], y[1] = 0.0, 1.0
    return dict(X=rng.normal(size=(N, D)), w=rng.normal(size=D), b=np.array(rng.normal()), y=y)


def _mse_inputs(rng):
    N, D, K = 4, 3, 2
    return dict(X=rng.normal(size=(N, D)), W=rng.normal(size=(D, K)), b=rng.normal(size=K),
                Y=rng.normal(size=(N, K)))


def _huber_inputs(rng):
    N, D = 8, 3
    # A spread-out target puts some residuals in the linear regime and some in the quadratic.
    return dict(X=rng.normal(size=(N, D)), w=rng.normal(size=D), y=2.0 * rng.normal(size=N),
                delta=1.0)


def _residual_inputs(rng):
    N, D, H = 3, 4, 5
    return dict(x=rng.normal(size=(N, D)), W1=rng.normal(size=(D, H)), W2=rng.normal(size=(H, D)),
                t=rng.normal(size=(N, D)))


# ------------------------------------------------------------------ kink margins
# Each returns (distance of the inputs from the nearest kink, whether both sides of every
# kink are visited); a gradient check is only meaningful when both hold.

def _svm_kinks(X, W, y, reg):
    S = X @ W
    rows = np.arange(len(y))
    d = S - S[rows, y][:, None] + 1.0
    d = np.delete(d, y + rows * S.shape[1])  # drop the correct-class entries
    return np.min(np.abs(d)), (d > 0).any() and (d < 0).any()


def _conv_net_kinks(x, w, b, W2, b2, y):
    conv = conv2d_forward(x, w, b)
    relu = np.maximum(conv, 0.0)
    N, F, H, W = relu.shape
    windows = relu.reshape(N, F, H // 2, 2, W // 2, 2).transpose(0, 1, 2, 4, 3, 5)
    windows = np.sort(windows.reshape(N, F, H // 2, W // 2, 4), axis=-1)
    top, runner_up = windows[..., -1], windows[..., -2]
    # An all-zero window is a tie, but a harmless one: every candidate has zero gradient.
    gaps = (top - runner_up)[top > 0]
    margin = min(np.min(np.abs(conv)), np.min(gaps))
    return margin, (conv > 0).any() and (conv < 0).any()


def _huber_kinks(X, w, y, delta):
    r = np.abs(X @ w - y)
    return np.min(np.abs(r - delta)), (r < delta).any() and (r > delta).any()


def _residual_kinks(x, W1, W2, t):
    z = x @ W1
    return np.min(np.abs(z)), (z > 0).any() and (z < 0).any()


# ------------------------------------------------------------------ the table

# name → (reference, input builder, differentiated inputs, kink check or None)
CASES = {
    "svm": (svm, _svm_inputs, ["W", "X"], _svm_kinks),
    "batchnorm": (batchnorm, _batchnorm_inputs, ["x", "gamma", "beta"], None),
    "layernorm": (layernorm, _layernorm_inputs, ["x", "gamma", "beta"], None),
    "dropout": (dropout, _dropout_inputs, ["W", "x"], None),
    "conv_net": (conv_net, _conv_net_inputs, ["x", "w", "b", "W2", "b2"], _conv_net_kinks),
    "rnn": (rnn, _rnn_inputs, ["xs", "h0", "Wx", "Wh", "b", "Wy"], None),
    "lstm_step": (lstm_step, _lstm_step_inputs, ["x", "h", "c", "Wx", "Wh", "b"], None),
    "embedding": (embedding, _embedding_inputs, ["W"], None),
    "attention": (attention, _attention_inputs, ["X", "Wq", "Wk", "Wv"], None),
    "logistic": (logistic, _logistic_inputs, ["w", "b", "X"], None),
    "mse": (mse, _mse_inputs, ["W", "b", "X"], None),
    "huber": (huber, _huber_inputs, ["w", "X"], _huber_kinks),
    "residual": (residual, _residual_inputs, ["x", "W1", "W2"], _residual_kinks),
}

GRADIENT_CASES = [(name, wrt) for name, (_, _, wrts, _) in CASES.items() for wrt in wrts]


def _inputs(name, seed):
    _, build, _, _ = CASES[name]
    return build(np.random.default_rng(seed))


NON_SMOOTH = [name for name, case in CASES.items() if case[3] is not None]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", NON_SMOOTH)
def test_inputs_keep_clear_of_kinks(name, seed):
    kinks = CASES[name][3]
    margin, both_sides = kinks(**_inputs(name, seed))
    assert margin > KINK_MARGIN
    assert both_sides


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", CASES)
def test_grads_name_exactly_the_differentiated_inputs(name, seed):
    reference, _, wrts, _ = CASES[name]
    inputs = _inputs(name, seed)
    loss, grads = reference(**inputs)
    assert isinstance(loss, float) and np.isfinite(loss)
    assert sorted(grads) == sorted(wrts)
    for wrt in wrts:
        assert np.shape(grads[wrt]) == np.shape(inputs[wrt]), wrt
        assert np.asarray(grads[wrt]).dtype == np.float64


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name, wrt", GRADIENT_CASES)
def test_gradient_matches_central_differences(name, wrt, seed):
    reference = CASES[name][0]
    inputs = _inputs(name, seed)
    _, grads = reference(**inputs)

    def loss_at(value):
        return reference(**{**inputs, wrt: value})[0]

    numeric = central_differences(loss_at, inputs[wrt], EPS)
    assert np.max(np.abs(numeric)) > 0, "a gradient that is identically zero checks nothing"
    assert_close(grads[wrt], numeric, rtol=RTOL)


# ------------------------------------------------------------------ alternative derivations

def _batchnorm_dx_staged(x, gamma, dy):
    """Batchnorm's dx through the computational graph, one stage at a time.

    xhat depends on x directly, through mu, and through var (which itself depends on mu);
    each dependency is back-propagated on its own and the three are summed at the end.
    """
    N = x.shape[0]
    mu = x.mean(axis=0)
    centred = x - mu
    var = np.mean(centred ** 2, axis=0)
    inv_std = 1.0 / np.sqrt(var + NORM_EPS)

    dxhat = dy * gamma
    dvar = np.sum(dxhat * centred, axis=0) * -0.5 * (var + NORM_EPS) ** -1.5
    # mu reaches the loss through the centred values and through var; the var route has
    # a factor Σ(x − mu) that is zero in exact arithmetic but is kept to stay literal.
    dmu = -np.sum(dxhat * inv_std, axis=0) + dvar * np.mean(-2.0 * centred, axis=0)
    return dxhat * inv_std + dvar * 2.0 * centred / N + dmu / N


@pytest.mark.parametrize("seed", SEEDS)
def test_batchnorm_closed_form_dx_equals_staged_backward(seed):
    inputs = _inputs("batchnorm", seed)
    _, grads = batchnorm(**inputs)
    staged = _batchnorm_dx_staged(inputs["x"], inputs["gamma"], inputs["out_weights"])
    assert_close(grads["x"], staged, rtol=1e-10)


def _rnn_loss_untied(xs, h0, Wx, Whs, b, Wy, ys):
    """The RNN loss with a separate recurrent matrix Whs[t] at every step t."""
    h, loss = h0, 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Whs[t] + b)
        loss += softmax_cross_entropy(h @ Wy, ys[t])[0]
    return loss


def _rnn_dWh_per_step(xs, h0, Wx, Wh, b, Wy, ys):
    """h_{t−1}ᵀ·da_t for every step t, from a backward pass that keeps each step apart."""
    T = xs.shape[0]
    hs = [h0]
    for t in range(T):
        hs.append(np.tanh(xs[t] @ Wx + hs[t] @ Wh + b))
    per_step = np.zeros((T,) + Wh.shape)
    dh_from_later = np.zeros_like(h0)
    for t in reversed(range(T)):
        _, dscores = softmax_cross_entropy(hs[t + 1] @ Wy, ys[t])
        da = (dscores @ Wy.T + dh_from_later) * (1.0 - hs[t + 1] ** 2)
        per_step[t] = hs[t].T @ da
        dh_from_later = da @ Wh.T
    return per_step


@pytest.mark.parametrize("seed", SEEDS)
def test_rnn_dWh_is_the_sum_of_per_step_contributions(seed):
    inputs = _inputs("rnn", seed)
    _, grads = rnn(**inputs)
    per_step = _rnn_dWh_per_step(**inputs)

    # Weight sharing: untying Wh into one copy per step, each copy's gradient is that step's
    # contribution, measured here without any hand derivation.
    T = inputs["xs"].shape[0]
    untied = np.stack([inputs["Wh"]] * T)
    rest = {k: v for k, v in inputs.items() if k != "Wh"}
    numeric = central_differences(lambda Whs: _rnn_loss_untied(Whs=Whs, **rest), untied, EPS)
    for t in range(T):
        assert_close(per_step[t], numeric[t], rtol=RTOL)

    assert_close(grads["Wh"], per_step.sum(axis=0), rtol=1e-12)


# ------------------------------------------------------------------ conventions

def test_svm_hand_example():
    # One example, identity weights, so the scores are X itself: [1, 2, 0.5] with label 0.
    X = np.array([[1.0, 2.0, 0.5]])
    W = np.eye(3)
    loss, grads = svm(X, W, np.array([0]), reg=0.0)
    # margins: class 1 → 2 − 1 + 1 = 2, class 2 → 0.5 − 1 + 1 = 0.5
    assert loss == pytest.approx(2.5)
    assert_close(grads["X"], np.array([[-2.0, 1.0, 1.0]]))
    # The regulariser carries a ½, so reg·½·‖W‖² with ‖I₃‖² = 3.
    loss_reg, grads_reg = svm(X, W, np.array([0]), reg=0.2)
    assert loss_reg == pytest.approx(2.5 + 0.3)
    assert_close(grads_reg["W"] - grads["W"], 0.2 * W)


def test_batchnorm_normalises_columns_with_biased_variance():
    rng = np.random.default_rng(3)
    x = 3.0 + 2.0 * rng.normal(size=(5, 2))
    N, D = x.shape
    # Reading the output one entry at a time through a one-hot upstream.
    y = np.empty_like(x)
    for i in np.ndindex(x.shape):
        onehot = np.zeros_like(x)
        onehot[i] = 1.0
        y[i] = batchnorm(x, np.ones(D), np.zeros(D), onehot)[0]
    expected = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0, ddof=0) + 1e-5)
    assert_close(y, expected, rtol=1e-12)


def test_layernorm_is_batchnorm_of_the_transpose():
    rng = np.random.default_rng(4)
    x, out_weights = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    # With unit gain and zero shift, normalising rows is normalising the transpose's columns.
    loss_ln, grads_ln = layernorm(x, np.ones(5), np.zeros(5), out_weights)
    loss_bn, grads_bn = batchnorm(x.T, np.ones(3), np.zeros(3), out_weights.T)
    assert loss_ln == pytest.approx(loss_bn, rel=1e-12)
    assert_close(grads_ln["x"], grads_bn["x"].T, rtol=1e-12)


def test_dropout_scales_kept_units_by_one_over_keep_probability():
    x, W = np.array([[1.0, 2.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])
    mask, t = np.array([[1.0, 0.0]]), np.zeros((1, 2))
    loss, _ = dropout(x, W, mask, p=0.5, t=t)
    # h = [1·2, 0], so L = ½·2².
    assert loss == pytest.approx(2.0)


def test_conv2d_is_a_padded_cross_correlation():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3, 4, 5))
    w = rng.normal(size=(2, 3, 3, 3))
    b = rng.normal(size=2)
    xpad = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = sliding_window_view(xpad, (3, 3), axis=(2, 3))  # (N, C, H, W, 3, 3)
    expected = np.einsum("nchwij,fcij->nfhw", windows, w) + b[None, :, None, None]
    assert_close(conv2d_forward(x, w, b), expected, rtol=1e-12)

    # A kernel whose only 1 sits at its top-left corner reads the pixel up and to the left;
    # a true (flipped) convolution would read down and to the right instead.
    corner = np.zeros((1, 1, 3, 3))
    corner[0, 0, 0, 0] = 1.0
    image = rng.normal(size=(1, 1, 4, 4))
    out = conv2d_forward(image, corner, np.zeros(1))
    assert_close(out[0, 0, 1:, 1:], image[0, 0, :-1, :-1], rtol=1e-15)
    assert np.all(out[0, 0, 0, :] == 0) and np.all(out[0, 0, :, 0] == 0)


def test_conv2d_backward_is_the_adjoint_of_forward():
    # ⟨conv(x), dout⟩ is linear in x and in w, so the backward must reproduce it exactly.
    rng = np.random.default_rng(6)
    x, w = rng.normal(size=(1, 2, 4, 4)), rng.normal(size=(3, 2, 3, 3))
    dout = rng.normal(size=(1, 3, 4, 4))
    zero_b = np.zeros(3)
    dx, dw, db = conv2d_backward(dout, x, w)
    inner = np.sum(conv2d_forward(x, w, zero_b) * dout)
    assert np.sum(dx * x) == pytest.approx(inner, rel=1e-12)
    assert np.sum(dw * w) == pytest.approx(inner, rel=1e-12)
    assert_close(db, dout.sum(axis=(0, 2, 3)))


def test_max_pool_routes_ties_to_the_first_maximum():
    x = np.array([[[[1.0, 3.0, 0.0, 0.0],
                    [3.0, 2.0, 0.0, 0.0],
                    [5.0, 1.0, 4.0, 4.0],
                    [0.0, 0.0, 4.0, 4.0]]]])
    out, argmax = max_pool_forward(x)
    assert_close(out, np.array([[[[3.0, 0.0], [5.0, 4.0]]]]))
    dx = max_pool_backward(np.ones_like(out), argmax, x.shape)
    # Row-major first: top-right before bottom-left, and top-left of an all-equal window.
    expected = np.zeros_like(x)
    expected[0, 0, 0, 1] = expected[0, 0, 0, 2] = expected[0, 0, 2, 0] = expected[0, 0, 2, 2] = 1
    assert_close(dx, expected)


def test_conv_net_flattens_pooled_maps_in_c_order():
    # A single 1×1-effective filter and a read-out that picks one flat position: position
    # f·(H/2·W/2) + i·(W/2) + j must be pooled map f at (i, j).
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 2:, :2] = 7.0                        # lights up pooled cell (1, 0)
    w = np.zeros((2, 1, 3, 3))
    w[1, 0, 1, 1] = 1.0                          # only filter 1 sees the input
    W2 = np.zeros((8, 2))
    W2[1 * 4 + 1 * 2 + 0, 1] = 1.0               # filter 1, row 1, column 0
    loss, _ = conv_net(x, w, np.zeros(2), W2, np.zeros(2), np.array([1]))
    # scores = [0, 7], label 1
    assert loss == pytest.approx(np.log1p(np.exp(-7.0)), rel=1e-12)


def test_rnn_sums_steps_and_averages_examples():
    rng = np.random.default_rng(8)
    inputs = _rnn_inputs(rng)
    xs, h0, Wx, Wh, b, Wy, ys = (inputs[k] for k in ("xs", "h0", "Wx", "Wh", "b", "Wy", "ys"))
    expected, h = 0.0, h0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
        P = softmax_rows(h @ Wy)
        expected += -np.mean(np.log(P[np.arange(len(ys[t])), ys[t]]))
    assert rnn(**inputs)[0] == pytest.approx(expected, rel=1e-12)


def test_lstm_gate_order_is_i_f_o_g():
    H, big = 2, 40.0
    x, h = np.zeros((1, 1)), np.zeros((1, H))
    c = np.array([[5.0, -5.0]])
    Wx, Wh = np.zeros((1, 4 * H)), np.zeros((H, 4 * H))
    g_pre = np.array([0.3, -0.7])
    # Input gate open, forget gate shut, output gate open: c' = tanh(g), forgetting c.
    b = np.concatenate([np.full(H, big), np.full(H, -big), np.full(H, big), g_pre])
    ones, zeros = np.ones((1, H)), np.zeros((1, H))
    loss_c, _ = lstm_step(x, h, c, Wx, Wh, b, t_h=zeros, t_c=ones)
    loss_h, _ = lstm_step(x, h, c, Wx, Wh, b, t_h=ones, t_c=zeros)
    assert loss_c == pytest.approx(np.sum(np.tanh(g_pre)), abs=1e-12)
    assert loss_h == pytest.approx(np.sum(np.tanh(np.tanh(g_pre))), abs=1e-12)


def test_embedding_accumulates_repeated_rows():
    W = np.arange(12.0).reshape(4, 3)
    idx = np.array([2, 0, 2, 2])
    t = np.zeros((4, 3))
    _, grads = embedding(W, idx, t)
    expected = np.zeros_like(W)
    np.add.at(expected, idx, W[idx] - t)
    assert_close(grads["W"], expected)
    assert_close(grads["W"][2], 3 * W[2])
    assert np.all(grads["W"][[1, 3]] == 0)


def test_attention_with_zero_queries_averages_the_values():
    rng = np.random.default_rng(9)
    X, Wk, Wv = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=(3, 3))
    t = np.zeros((4, 3))
    # Zero queries give uniform attention, so every output row is the mean value row.
    loss, _ = attention(X, np.zeros((3, 2)), Wk, Wv, t)
    mean_value = (X @ Wv).mean(axis=0)
    assert loss == pytest.approx(0.5 * 4 * np.sum(mean_value ** 2), rel=1e-12)


def test_attention_scales_scores_by_sqrt_dk():
    rng = np.random.default_rng(10)
    X, Wq, Wk, Wv = (rng.normal(size=s) for s in [(3, 4), (4, 4), (4, 4), (4, 2)])
    t = rng.normal(size=(3, 2))
    A = softmax_rows((X @ Wq) @ (X @ Wk).T / 2.0)    # sqrt(d_k) = sqrt(4)
    expected = 0.5 * np.sum((A @ (X @ Wv) - t) ** 2)
    assert attention(X, Wq, Wk, Wv, t)[0] == pytest.approx(expected, rel=1e-12)


def test_logistic_equals_binary_cross_entropy_and_survives_large_logits():
    rng = np.random.default_rng(11)
    X, w, y = rng.normal(size=(5, 2)), rng.normal(size=2), np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    p = sigmoid(X @ w + 0.3)
    bce = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert logistic(X, w, 0.3, y)[0] == pytest.approx(bce, rel=1e-12)

    # A confidently wrong logit of ±1000: the loss is ~1000/N, not inf or nan.
    X_far, w_far = np.array([[1.0], [-1.0]]), np.array([1000.0])
    loss, grads = logistic(X_far, w_far, 0.0, np.array([0.0, 1.0]))
    assert loss == pytest.approx(1000.0, rel=1e-12)
    assert np.all(np.isfinite(grads["w"])) and np.isfinite(grads["b"])


def test_mse_averages_over_every_entry():
    X, W, b = np.zeros((2, 1)), np.zeros((1, 2)), np.zeros(2)
    Y = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert mse(X, W, b, Y)[0] == pytest.approx((1 + 4 + 9 + 16) / 4)


def test_huber_hand_example():
    X, w = np.eye(3), np.array([0.5, 3.0, -2.0])
    loss, grads = huber(X, w, np.zeros(3), delta=1.0)
    # ½·0.25, 1·(3 − ½), 1·(2 − ½)
    assert loss == pytest.approx((0.125 + 2.5 + 1.5) / 3)
    assert_close(grads["w"], np.array([0.5, 1.0, -1.0]) / 3)


def test_residual_skip_passes_gradient_straight_through():
    # With a dead branch (W1 ≤ 0 on positive x), h = x and dx is exactly h − t.
    x = np.abs(np.random.default_rng(12).normal(size=(2, 3))) + 0.1
    W1, W2, t = -np.ones((3, 4)), np.ones((4, 3)), np.zeros((2, 3))
    loss, grads = residual(x, W1, W2, t)
    assert loss == pytest.approx(0.5 * np.sum(x ** 2))
    assert_close(grads["x"], x)
    assert np.all(grads["W1"] == 0) and np.all(grads["W2"] == 0)
