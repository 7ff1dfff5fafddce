"""Hand-written numpy references for the losses of a deep-learning course.

Each loss is written the way a course solution would be: an explicit forward pass that keeps
the intermediates it needs, then a backward pass derived by hand, in reverse order.  Nothing
here uses graphviz_bp, so these functions can serve as an independent oracle for the package's
built-in losses.

Every loss returns ``(loss, grads)``: ``loss`` is a Python float and ``grads`` maps the name of
each differentiated input to an array of that input's shape.  Integer inputs (labels, indices)
and fixed inputs (masks, targets, upstream weights, hyper-parameters) get no gradient.

All arithmetic is float64; float inputs are converted on entry so that callers passing lists
or float32 arrays still get a precise reference.
"""

import numpy as np

__all__ = [
    # losses
    "svm", "batchnorm", "layernorm", "dropout", "conv_net", "rnn", "lstm_step",
    "embedding", "attention", "logistic", "mse", "huber", "residual",
    # building blocks shared by several losses, exposed so tests can probe them directly
    "NORM_EPS", "sigmoid", "softmax_rows", "softmax_cross_entropy",
    "conv2d_forward", "conv2d_backward", "max_pool_forward", "max_pool_backward",
]

# The epsilon added to the variance by batchnorm and layernorm (PyTorch's default).
NORM_EPS = 1e-5


def _f64(a):
    return np.asarray(a, dtype=np.float64)


# ------------------------------------------------------------------ building blocks

def sigmoid(z):
    """Logistic function, written so that large |z| never overflows ``exp``."""
    z = _f64(z)
    # exp(-logaddexp(0, -z)) == 1 / (1 + exp(-z)), but logaddexp never overflows.
    return np.exp(-np.logaddexp(0.0, -z))


def softmax_rows(S):
    """Row-wise softmax of a 2-D array, shifted by the row maximum for stability."""
    S = _f64(S)
    e = np.exp(S - S.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_cross_entropy(scores, y):
    """Mean softmax cross-entropy of ``scores`` (N×C) against integer labels ``y`` (N,).

    Returns ``(loss, dscores)``.  The gradient is the familiar ``(softmax − onehot) / N``; the
    division by N comes from taking the mean over examples.
    """
    scores = _f64(scores)
    y = np.asarray(y)
    N = scores.shape[0]
    rows = np.arange(N)
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].mean()
    dscores = np.exp(log_probs)
    dscores[rows, y] -= 1.0
    dscores /= N
    return float(loss), dscores


def conv2d_forward(x, w, b, pad=1):
    """Cross-correlation (no kernel flip, as in every deep-learning library), stride 1.

    x is (N, C, H, W), w is (F, C, KH, KW), b is (F,); the input is zero-padded by ``pad`` on
    every side.  The output is (N, F, H + 2·pad − KH + 1, W + 2·pad − KW + 1).
    """
    x, w, b = _f64(x), _f64(w), _f64(b)
    N, _, H, W = x.shape
    F, _, KH, KW = w.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out_h, out_w = H + 2 * pad - KH + 1, W + 2 * pad - KW + 1
    out = np.zeros((N, F, out_h, out_w))
    for n in range(N):
        for f in range(F):
            for i in range(out_h):
                for j in range(out_w):
                    window = xpad[n, :, i:i + KH, j:j + KW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out


def conv2d_backward(dout, x, w, pad=1):
    """Gradients ``(dx, dw, db)`` of :func:`conv2d_forward` given the upstream ``dout``.

    Each output entry is a dot product between one padded input window and one filter, so it
    sends ``dout`` times the filter back into the window and ``dout`` times the window into
    the filter.  Working on the padded input and cropping afterwards drops the gradient that
    would flow into the zero padding, which is not an input.
    """
    dout, x, w = _f64(dout), _f64(x), _f64(w)
    N, _, H, W = x.shape
    F, _, KH, KW = w.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxpad = np.zeros_like(xpad)
    dw = np.zeros_like(w)
    _, _, out_h, out_w = dout.shape
    for n in range(N):
        for f in range(F):
            for i in range(out_h):
                for j in range(out_w):
                    g = dout[n, f, i, j]
                    dxpad[n, :, i:i + KH, j:j + KW] += g * w[f]
                    dw[f] += g * xpad[n, :, i:i + KH, j:j + KW]
    dx = dxpad[:, :, pad:pad + H, pad:pad + W]
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw, db


def max_pool_forward(x, size=2):
    """Non-overlapping ``size``×``size`` max-pooling (stride = size) of an (N, C, H, W) array.

    Returns ``(out, argmax)`` where ``argmax[n, c, i, j]`` is the flat row-major position of the
    winner inside its window.  ``np.argmax`` returns the *first* maximum, which matches the way
    PyTorch routes the gradient when a window holds a tie.
    """
    x = _f64(x)
    N, C, H, W = x.shape
    out_h, out_w = H // size, W // size
    out = np.zeros((N, C, out_h, out_w))
    argmax = np.zeros((N, C, out_h, out_w), dtype=np.intp)
    for n in range(N):
        for c in range(C):
            for i in range(out_h):
                for j in range(out_w):
                    window = x[n, c, i * size:(i + 1) * size, j * size:(j + 1) * size]
                    k = int(np.argmax(window))
                    argmax[n, c, i, j] = k
                    out[n, c, i, j] = window.flat[k]
    return out, argmax


def max_pool_backward(dout, argmax, input_shape, size=2):
    """Gradient of :func:`max_pool_forward`: each window's upstream goes to its single winner."""
    dx = np.zeros(input_shape)
    N, C, out_h, out_w = dout.shape
    for n in range(N):
        for c in range(C):
            for i in range(out_h):
                for j in range(out_w):
                    di, dj = divmod(int(argmax[n, c, i, j]), size)
                    dx[n, c, i * size + di, j * size + dj] += dout[n, c, i, j]
    return dx


# ------------------------------------------------------------------ 1. multiclass SVM

def svm(X, W, y, reg):
    """Multiclass hinge loss (CS231n) with L2 regularisation.

    Convention: ``S = X @ W`` with X (N×D), W (D×C), labels y (N,) in ``range(C)``;
    ``margin[n, j] = max(0, S[n, j] − S[n, y_n] + 1)`` for ``j ≠ y_n`` (the correct class
    contributes nothing); ``L = Σ margin / N + ½·reg·Σ W²``.  Note the ½ on the regulariser,
    so its gradient is ``reg·W``.

    Gradients: ``W``, ``X``.
    """
    X, W, y = _f64(X), _f64(W), np.asarray(y)
    N = X.shape[0]
    rows = np.arange(N)

    S = X @ W
    correct = S[rows, y][:, None]
    margins = np.maximum(0.0, S - correct + 1.0)
    margins[rows, y] = 0.0
    loss = margins.sum() / N + 0.5 * reg * np.sum(W * W)

    # Every active margin pushes its own score up by 1 and the correct score down by 1.
    # (The correct column of margins was zeroed above, so it does not count itself.)
    dS = (margins > 0).astype(np.float64)
    dS[rows, y] = -dS.sum(axis=1)
    dS /= N
    dW = X.T @ dS + reg * W
    dX = dS @ W.T
    return float(loss), {"W": dW, "X": dX}


# ------------------------------------------------------------------ 2, 3. normalisation

def _normalise_backward(dy, xhat, inv_std, gamma, axis):
    """Shared closed-form backward of batchnorm (axis=0) and layernorm (axis=1).

    ``m`` is the number of entries each statistic averages over.  The formula folds the paths
    through the mean and the variance into one expression:
    ``dx = (1/m)·inv_std·(m·dxhat − Σ dxhat − xhat·Σ (dxhat·xhat))``.
    """
    m = xhat.shape[axis]
    dxhat = dy * gamma
    dx = (inv_std / m) * (
        m * dxhat
        - dxhat.sum(axis=axis, keepdims=True)
        - xhat * np.sum(dxhat * xhat, axis=axis, keepdims=True)
    )
    # gamma and beta are per feature, so they sum over the rows whichever axis is normalised.
    dgamma = np.sum(dy * xhat, axis=0)
    dbeta = dy.sum(axis=0)
    return dx, dgamma, dbeta


def _normalise(x, gamma, beta, out_weights, axis):
    x, gamma, beta, dy = _f64(x), _f64(gamma), _f64(beta), _f64(out_weights)
    mu = x.mean(axis=axis, keepdims=True)
    var = np.mean((x - mu) ** 2, axis=axis, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + NORM_EPS)
    xhat = (x - mu) * inv_std
    y = gamma * xhat + beta
    # A fixed random upstream makes the loss linear in y, so dL/dy is exactly out_weights
    # and every entry of the normalisation's Jacobian gets exercised.
    loss = np.sum(y * dy)
    dx, dgamma, dbeta = _normalise_backward(dy, xhat, inv_std, gamma, axis)
    return float(loss), {"x": dx, "gamma": dgamma, "beta": dbeta}


def batchnorm(x, gamma, beta, out_weights):
    """Batch normalisation in training mode, followed by a fixed linear read-out.

    Convention: x (N×D); per feature (over the N rows) ``mu = mean(x)``,
    ``var = mean((x − mu)²)`` (biased, divide by N), ``xhat = (x − mu)/sqrt(var + eps)`` with
    ``eps = 1e-5``; ``y = gamma·xhat + beta`` with gamma, beta (D,);
    ``L = Σ y·out_weights`` so that ``dL/dy = out_weights`` (N×D).

    Gradients: ``x`` (closed form), ``gamma``, ``beta``.
    """
    return _normalise(x, gamma, beta, out_weights, axis=0)


def layernorm(x, gamma, beta, out_weights):
    """Layer normalisation, followed by a fixed linear read-out.

    Convention: as :func:`batchnorm` but each row is normalised over its D features:
    ``mu``, ``var`` (biased, divide by D) are taken along axis 1, ``eps = 1e-5``; gamma and
    beta are (D,) and shared by all rows; ``L = Σ y·out_weights``.

    Gradients: ``x`` (closed form), ``gamma``, ``beta``.
    """
    return _normalise(x, gamma, beta, out_weights, axis=1)


# ------------------------------------------------------------------ 4. dropout

def dropout(x, W, mask, p, t):
    """Inverted dropout after a linear layer, with a fixed 0/1 mask.

    Convention: ``h = (x @ W) * mask / (1 − p)`` with x (N×D), W (D×K), mask (N×K) of zeros
    and ones, p the drop probability; ``L = ½ Σ (h − t)²``.  Scaling by ``1/(1 − p)`` at train
    time is what makes test time a plain identity.

    Gradients: ``W``, ``x``.
    """
    x, W, mask, t = _f64(x), _f64(W), _f64(mask), _f64(t)
    keep_scale = 1.0 / (1.0 - p)
    a = x @ W
    h = a * mask * keep_scale
    loss = 0.5 * np.sum((h - t) ** 2)

    dh = h - t
    da = dh * mask * keep_scale
    dW = x.T @ da
    dx = da @ W.T
    return float(loss), {"W": dW, "x": dx}


# ------------------------------------------------------------------ 5. small convnet

def conv_net(x, w, b, W2, b2, y):
    """conv 3×3 → ReLU → 2×2 max-pool → affine → softmax cross-entropy.

    Convention: x (N, C, H, W) in NCHW with H, W even; w (F, C, 3, 3), b (F,); the convolution
    is a cross-correlation with stride 1 and zero padding 1, so it keeps H×W.  Max-pooling is
    2×2 with stride 2 and routes each window's gradient to its first maximum (row-major), as
    PyTorch does.  The pooled (N, F, H/2, W/2) array is flattened per example in C order to
    (N, F·H/2·W/2); ``scores = flat @ W2 + b2`` with W2 (F·H/2·W/2 × K), b2 (K,);
    ``L = mean over examples of softmax cross-entropy`` against integer labels y (N,).

    Gradients: ``x``, ``w``, ``b``, ``W2``, ``b2``.
    """
    x, w, b, W2, b2 = _f64(x), _f64(w), _f64(b), _f64(W2), _f64(b2)
    N = x.shape[0]

    conv = conv2d_forward(x, w, b, pad=1)
    relu = np.maximum(conv, 0.0)
    pooled, argmax = max_pool_forward(relu, size=2)
    flat = pooled.reshape(N, -1)
    scores = flat @ W2 + b2
    loss, dscores = softmax_cross_entropy(scores, y)

    dW2 = flat.T @ dscores
    db2 = dscores.sum(axis=0)
    dpooled = (dscores @ W2.T).reshape(pooled.shape)
    drelu = max_pool_backward(dpooled, argmax, relu.shape, size=2)
    dconv = drelu * (conv > 0)
    dx, dw, db = conv2d_backward(dconv, x, w, pad=1)
    return loss, {"x": dx, "w": dw, "b": db, "W2": dW2, "b2": db2}


# ------------------------------------------------------------------ 6. vanilla RNN

def rnn(xs, h0, Wx, Wh, b, Wy, ys):
    """Vanilla tanh RNN with a softmax read-out at every step.

    Convention: xs (T, N, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,), Wy (H, C) (no output
    bias), labels ys (T, N) of ints.  ``h_t = tanh(x_t Wx + h_{t−1} Wh + b)`` for
    t = 1..T, ``scores_t = h_t Wy``, and ``L = Σ_t mean_n CE(scores_t, ys[t])`` — summed over
    time, averaged over the batch.

    Gradients: ``xs``, ``h0``, ``Wx``, ``Wh``, ``b``, ``Wy`` (backpropagation through time).
    """
    xs, h0, Wx, Wh, b, Wy = (_f64(a) for a in (xs, h0, Wx, Wh, b, Wy))
    ys = np.asarray(ys)
    T = xs.shape[0]

    # hs[0] is h0 and hs[t + 1] is the state after step t, so step t reads hs[t].
    hs = [h0]
    loss = 0.0
    dscores = []
    for t in range(T):
        hs.append(np.tanh(xs[t] @ Wx + hs[t] @ Wh + b))
        step_loss, step_dscores = softmax_cross_entropy(hs[t + 1] @ Wy, ys[t])
        loss += step_loss
        dscores.append(step_dscores)

    dxs = np.zeros_like(xs)
    dWx, dWh, db, dWy = (np.zeros_like(a) for a in (Wx, Wh, b, Wy))
    # A state feeds both its own read-out and the next step, so its gradient is the sum of
    # the two; dh_next carries the second part backwards and starts at zero after step T.
    dh_next = np.zeros_like(h0)
    for t in reversed(range(T)):
        h = hs[t + 1]
        dWy += h.T @ dscores[t]
        dh = dscores[t] @ Wy.T + dh_next
        da = dh * (1.0 - h * h)
        dWx += xs[t].T @ da
        dWh += hs[t].T @ da
        db += da.sum(axis=0)
        dxs[t] = da @ Wx.T
        dh_next = da @ Wh.T
    return float(loss), {"xs": dxs, "h0": dh_next, "Wx": dWx, "Wh": dWh, "b": db, "Wy": dWy}


# ------------------------------------------------------------------ 7. one LSTM step

def lstm_step(x, h, c, Wx, Wh, b, t_h, t_c):
    """One LSTM step with fixed linear read-outs of the new hidden and cell states.

    Convention: x (N, D), h and c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,).  The pre-activation
    ``a = x Wx + h Wh + b`` is split into four H-wide blocks in the order **[i, f, o, g]**;
    i, f, o go through a sigmoid and g through tanh.  ``c' = f·c + i·g``,
    ``h' = o·tanh(c')``, and ``L = Σ h'·t_h + Σ c'·t_c`` (t_h, t_c are fixed (N, H) upstreams).

    Gradients: ``x``, ``h``, ``c``, ``Wx``, ``Wh``, ``b``.
    """
    x, h, c, Wx, Wh, b, t_h, t_c = (_f64(a) for a in (x, h, c, Wx, Wh, b, t_h, t_c))
    H = h.shape[1]

    a = x @ Wx + h @ Wh + b
    i = sigmoid(a[:, 0 * H:1 * H])
    f = sigmoid(a[:, 1 * H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:4 * H])
    c_next = f * c + i * g
    tanh_c = np.tanh(c_next)
    h_next = o * tanh_c
    loss = np.sum(h_next * t_h) + np.sum(c_next * t_c)

    dh_next = t_h
    # c' reaches the loss directly through t_c and again through h' = o·tanh(c').
    dc_next = t_c + dh_next * o * (1.0 - tanh_c ** 2)
    do = dh_next * tanh_c
    di = dc_next * g
    df = dc_next * c
    dg = dc_next * i
    dc = dc_next * f
    da = np.concatenate(
        [di * i * (1.0 - i), df * f * (1.0 - f), do * o * (1.0 - o), dg * (1.0 - g ** 2)],
        axis=1,
    )
    dWx = x.T @ da
    dWh = h.T @ da
    db = da.sum(axis=0)
    dx = da @ Wx.T
    dh = da @ Wh.T
    return float(loss), {"x": dx, "h": dh, "c": dc, "Wx": dWx, "Wh": dWh, "b": db}


# ------------------------------------------------------------------ 8. embedding lookup

def embedding(W, idx, t):
    """Embedding lookup with repeated indices.

    Convention: W (V, D) is the embedding table, idx (N,) integer row indices (repeats
    allowed), ``E = W[idx]`` (N, D), ``L = ½ Σ (E − t)²``.

    Gradient: ``W``.  A row looked up k times receives the sum of its k upstream rows; a
    fancy-indexed ``dW[idx] += dE`` would silently keep only one of them, hence the explicit
    loop (equivalent to ``np.add.at(dW, idx, dE)``).
    """
    W, idx, t = _f64(W), np.asarray(idx), _f64(t)
    E = W[idx]
    loss = 0.5 * np.sum((E - t) ** 2)

    dE = E - t
    dW = np.zeros_like(W)
    for n, row in enumerate(idx):
        dW[row] += dE[n]
    return float(loss), {"W": dW}


# ------------------------------------------------------------------ 9. self-attention

def attention(X, Wq, Wk, Wv, t):
    """Single-head scaled dot-product self-attention with a squared-error loss.

    Convention: X (N, D) holds N tokens; Wq, Wk (D, d_k), Wv (D, d_v);
    ``Q = X Wq``, ``K = X Wk``, ``V = X Wv``, ``A = softmax_rows(Q Kᵀ / sqrt(d_k))`` (each query
    row sums to one), ``out = A V`` (N, d_v), ``L = ½ Σ (out − t)²``.  No mask.

    Gradients: ``X``, ``Wq``, ``Wk``, ``Wv``.
    """
    X, Wq, Wk, Wv, t = (_f64(a) for a in (X, Wq, Wk, Wv, t))
    scale = 1.0 / np.sqrt(Wq.shape[1])

    Q, K, V = X @ Wq, X @ Wk, X @ Wv
    A = softmax_rows((Q @ K.T) * scale)
    out = A @ V
    loss = 0.5 * np.sum((out - t) ** 2)

    dout = out - t
    dA = dout @ V.T
    dV = A.T @ dout
    # Softmax Jacobian applied row by row: dS = A ⊙ (dA − Σ_j dA·A).
    dS = A * (dA - np.sum(dA * A, axis=1, keepdims=True))
    dQ = (dS @ K) * scale
    dK = (dS.T @ Q) * scale
    dWq = X.T @ dQ
    dWk = X.T @ dK
    dWv = X.T @ dV
    # X is used three times (as queries, keys and values), so its gradient is the sum of the
    # three paths.
    dX = dQ @ Wq.T + dK @ Wk.T + dV @ Wv.T
    return float(loss), {"X": dX, "Wq": dWq, "Wk": dWk, "Wv": dWv}


# ------------------------------------------------------------------ 10. logistic regression

def logistic(X, w, b, y):
    """Binary cross-entropy on logits (logistic regression).

    Convention: X (N, D), w (D,), b a scalar, y (N,) floats in {0, 1}; ``z = X w + b`` and
    ``L = mean_n (softplus(z_n) − y_n·z_n)``, which equals
    ``−mean(y log σ(z) + (1 − y) log(1 − σ(z)))`` but never takes the log of 0.
    ``softplus(z) = log(1 + eᶻ)`` is evaluated as ``logaddexp(0, z)``.

    Gradients: ``w``, ``b`` (a 0-d array), ``X``.
    """
    X, w, y = _f64(X), _f64(w), _f64(y)
    b = _f64(b)
    N = X.shape[0]

    z = X @ w + b
    loss = np.mean(np.logaddexp(0.0, z) - y * z)

    dz = (sigmoid(z) - y) / N
    dw = X.T @ dz
    db = np.asarray(dz.sum()).reshape(b.shape)
    dX = np.outer(dz, w)
    return float(loss), {"w": dw, "b": db, "X": dX}


# ------------------------------------------------------------------ 11. mean squared error

def mse(X, W, b, Y):
    """Mean squared error of a linear regression with several outputs.

    Convention: X (N, D), W (D, K), b (K,), Y (N, K); ``L = mean((X W + b − Y)²)`` where the
    mean runs over all N·K entries (not a sum over K, not a ½).

    Gradients: ``W``, ``b``, ``X``.
    """
    X, W, b, Y = _f64(X), _f64(W), _f64(b), _f64(Y)
    residual = X @ W + b - Y
    loss = np.mean(residual ** 2)

    dP = 2.0 * residual / residual.size
    dW = X.T @ dP
    db = dP.sum(axis=0)
    dX = dP @ W.T
    return float(loss), {"W": dW, "b": db, "X": dX}


# ------------------------------------------------------------------ 12. Huber regression

def huber(X, w, y, delta):
    """Huber loss of a linear regression.

    Convention: X (N, D), w (D,), y (N,); ``r = X w − y``; per example ``½ r²`` if
    ``|r| ≤ delta`` else ``delta·(|r| − ½·delta)``; ``L`` is the mean over examples.
    Its derivative in r is r clipped to [−delta, delta].

    Gradients: ``w``, ``X``.
    """
    X, w, y = _f64(X), _f64(w), _f64(y)
    N = X.shape[0]
    r = X @ w - y
    quadratic = np.abs(r) <= delta
    per_example = np.where(quadratic, 0.5 * r * r, delta * (np.abs(r) - 0.5 * delta))
    loss = per_example.mean()

    dr = np.where(quadratic, r, delta * np.sign(r)) / N
    dw = X.T @ dr
    dX = np.outer(dr, w)
    return float(loss), {"w": dw, "X": dX}


# ------------------------------------------------------------------ 13. residual block

def residual(x, W1, W2, t):
    """A two-layer residual block with a squared-error loss.

    Convention: x (N, D), W1 (D, H), W2 (H, D); ``h = x + relu(x W1) W2`` (no biases),
    ``L = ½ Σ (h − t)²``.

    Gradients: ``x``, ``W1``, ``W2``.
    """
    x, W1, W2, t = _f64(x), _f64(W1), _f64(W2), _f64(t)
    z = x @ W1
    a = np.maximum(z, 0.0)
    h = x + a @ W2
    loss = 0.5 * np.sum((h - t) ** 2)

    dh = h - t
    dW2 = a.T @ dh
    dz = (dh @ W2.T) * (z > 0)
    dW1 = x.T @ dz
    # The skip connection passes dh straight through; the branch adds its own contribution.
    dx = dh + dz @ W1.T
    return float(loss), {"x": dx, "W1": dW1, "W2": dW2}
