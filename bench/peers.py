"""The same losses as the built-ins, written by hand in numpy with closed-form gradients,
and in PyTorch (CPU, float64) when it is installed. Each takes the values of an evaluated
graphviz-bp graph, so every implementation computes the same numbers: every gradient the
graph computes (inputs such as X included)."""

import numpy as np


def _values(g, names):
    return [np.array(g.value(n)) for n in names]


# ---------------------------------------------------------------- numpy by hand

def numpy_autoencoder(g):
    W, x = _values(g, ["W", "x"])

    def run():
        z = W @ x
        r = W.T @ z - x
        loss = 0.5 * float(np.sum(r * r))
        Wr = W @ r
        # Outer products by broadcasting: 2–3× faster than `Wr @ x.T` (BLAS with an inner
        # dimension of 1), and what graphviz-bp does, so that only the engine is compared.
        return loss, {"W": Wr * x.T + z * r.T, "x": W.T @ Wr - r}
    return run


def numpy_gplvm(g):
    X, Y = _values(g, ["X", "Y"])
    alpha, beta, D = (float(g.value(n)) for n in ("alpha", "beta", "D"))

    def run():
        K = alpha * (X @ X.T) + np.eye(len(X)) / beta
        Kinv = np.linalg.inv(K)
        KiY = Kinv @ Y
        loss = -D / 2 * np.linalg.slogdet(K)[1] - 0.5 * float(np.sum(Y * KiY))
        G = -D / 2 * Kinv + 0.5 * KiY @ KiY.T
        return loss, {"X": 2 * alpha * G @ X, "Y": -KiY}
    return run


def numpy_two_layer(g):
    X, W1, b1, W2, b2 = _values(g, ["X", "W1", "b1", "W2", "b2"])
    y, reg = g.value("y"), float(g.value("reg"))
    N = len(X)

    def run():
        Z1 = X @ W1 + b1
        H1 = np.maximum(Z1, 0)
        S = H1 @ W2 + b2
        S = S - S.max(axis=1, keepdims=True)
        P = np.exp(S)
        P /= P.sum(axis=1, keepdims=True)
        loss = -np.mean(np.log(P[np.arange(N), y])) + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        dS = P
        dS[np.arange(N), y] -= 1
        dS /= N
        dH1 = dS @ W2.T
        dZ1 = dH1 * (Z1 > 0)
        return loss, {"W2": H1.T @ dS + reg * W2, "b2": dS.sum(axis=0),
                      "W1": X.T @ dZ1 + reg * W1, "b1": dZ1.sum(axis=0), "X": dZ1 @ W1.T}
    return run


def numpy_swish(g):
    x, W1, b1, W2, b2 = _values(g, ["x", "W1", "b1", "W2", "b2"])
    y = int(g.value("y"))

    def run():
        z1 = W1 @ x + b1
        s = 1 / (1 + np.exp(-z1))
        h1 = z1 * s
        z2 = W2 @ h1 + b2
        p = np.exp(z2 - z2.max())
        p /= p.sum()
        loss = -float(np.log(p[y, 0]))
        dz2 = p
        dz2[y] -= 1
        dz1 = (s + h1 * (1 - s)) * (W2.T @ dz2)
        return loss, {"W2": dz2 @ h1.T, "b2": dz2, "W1": dz1 @ x.T, "b1": dz1, "x": W1.T @ dz1}
    return run


NUMPY = {"autoencoder": numpy_autoencoder, "gplvm": numpy_gplvm,
         "two-layer-net": numpy_two_layer, "fcnet-swish": numpy_swish}


# ---------------------------------------------------------------- PyTorch eager

def torch_losses():
    """PyTorch versions, or {} when torch is not installed."""
    try:
        import torch
    except ImportError:
        return {}

    def leaves(g, names):
        return [torch.tensor(np.array(g.value(n)), dtype=torch.float64, requires_grad=True)
                for n in names]

    def make(names, loss_of):
        def build(g):
            tensors = leaves(g, names)

            def run():
                for t in tensors:
                    t.grad = None
                loss = loss_of(g, *tensors)
                loss.backward()
                return loss.item(), {n: t.grad for n, t in zip(names, tensors)}
            return run
        return build

    def autoencoder(g, W, x):
        r = W.T @ (W @ x) - x
        return 0.5 * (r * r).sum()

    def gplvm(g, X, Y):
        alpha, beta, D = (float(g.value(n)) for n in ("alpha", "beta", "D"))
        K = alpha * (X @ X.T) + torch.eye(len(X), dtype=torch.float64) / beta
        return -D / 2 * torch.logdet(K) - 0.5 * torch.trace(torch.inverse(K) @ Y @ Y.T)

    labels = {}

    def two_layer(g, X, W1, b1, W2, b2):
        y = labels.setdefault(id(g), torch.tensor(g.value("y")))
        S = torch.relu(X @ W1 + b1) @ W2 + b2
        reg = float(g.value("reg"))
        return torch.nn.functional.cross_entropy(S, y) + 0.5 * reg * ((W1 * W1).sum() + (W2 * W2).sum())

    def swish(g, x, W1, b1, W2, b2):
        z1 = W1 @ x + b1
        h1 = z1 * torch.sigmoid(z1)
        z2 = W2 @ h1 + b2
        return -torch.log_softmax(z2, dim=0)[int(g.value("y")), 0]

    return {"autoencoder": make(["W", "x"], autoencoder),
            "gplvm": make(["X", "Y"], gplvm),
            "two-layer-net": make(["X", "W1", "b1", "W2", "b2"], two_layer),
            "fcnet-swish": make(["x", "W1", "b1", "W2", "b2"], swish)}


# ---------------------------------------------------------------- JAX

def jax_losses():
    """JAX versions as {name: build(g, jit) -> run}, or {} when JAX is not installed."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return {}
    jax.config.update("jax_enable_x64", True)

    def make(names, loss_of):
        def build(g, jit):
            values = [jnp.asarray(np.array(g.value(n))) for n in names]
            grad = jax.value_and_grad(lambda *a: loss_of(g, *a), argnums=tuple(range(len(names))))
            grad = jax.jit(grad) if jit else grad

            def run():
                loss, grads = grad(*values)
                grads = [np.asarray(x.block_until_ready()) for x in grads]
                return float(loss), dict(zip(names, grads))
            return run
        return build

    def autoencoder(g, W, x):
        r = W.T @ (W @ x) - x
        return 0.5 * jnp.sum(r * r)

    def gplvm(g, X, Y):
        alpha, beta, D = (float(g.value(n)) for n in ("alpha", "beta", "D"))
        K = alpha * (X @ X.T) + jnp.eye(X.shape[0]) / beta
        return -D / 2 * jnp.linalg.slogdet(K)[1] - 0.5 * jnp.trace(jnp.linalg.inv(K) @ Y @ Y.T)

    def two_layer(g, X, W1, b1, W2, b2):
        y = np.asarray(g.value("y"))
        S = jnp.maximum(X @ W1 + b1, 0) @ W2 + b2
        logp = jax.nn.log_softmax(S, axis=1)
        reg = float(g.value("reg"))
        return -jnp.mean(logp[np.arange(len(y)), y]) + 0.5 * reg * (jnp.sum(W1 * W1) + jnp.sum(W2 * W2))

    def swish(g, x, W1, b1, W2, b2):
        z1 = W1 @ x + b1
        z2 = W2 @ (z1 * jax.nn.sigmoid(z1)) + b2
        return -jax.nn.log_softmax(z2, axis=0)[int(g.value("y")), 0]

    return {"autoencoder": make(["W", "x"], autoencoder),
            "gplvm": make(["X", "Y"], gplvm),
            "two-layer-net": make(["X", "W1", "b1", "W2", "b2"], two_layer),
            "fcnet-swish": make(["x", "W1", "b1", "W2", "b2"], swish)}
