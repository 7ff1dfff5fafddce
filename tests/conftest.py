"""Helpers shared by the tests: random inputs drawn from each op's declared domain."""

import numpy as np
import pytest


def sample(domain: str, shape, rng: np.random.Generator, classes: int | None = None):
    """A float64 array of ``shape`` inside ``domain`` (see graphviz_bp.ops)."""
    if domain == "real":
        return rng.normal(size=shape)
    if domain == "positive":
        return rng.uniform(0.5, 2.0, size=shape)
    if domain == "nonzero":
        return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.2, 2.0, size=shape)
    if domain == "spd":
        n = shape[0]
        A = rng.normal(size=(n, n))
        return A @ A.T + n * np.eye(n)
    if domain == "mask":
        return rng.integers(0, 2, size=shape).astype(np.float64)
    if domain == "labels":
        return rng.integers(classes, size=shape)
    raise ValueError(f"no sampler for domain {domain!r}")


def central_differences(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """∂f/∂x entry by entry, for a scalar function f of an array x."""
    x = np.array(x, dtype=float)
    out = np.empty_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        out[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return out


def numeric_gradients(op, args, params, upstream):
    """∂⟨upstream, op(args)⟩/∂ each argument, by central differences: the VJPs of an op."""
    grads = []
    for k in range(len(args)):
        def projected(value, k=k):
            moved = list(args)
            moved[k] = value
            return float(np.sum(upstream * op.forward(*moved, **params)))
        grads.append(central_differences(projected, args[k]))
    return grads


def assert_close(actual, expected, rtol=1e-9):
    """Entrywise relative closeness in float64, with an absolute floor at rtol × the scale."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-300)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(autouse=True)
def _forget_custom_ops():
    """Ops a test makes with bp.custom_op do not outlive it."""
    from graphviz_bp.custom import custom_ops, remove_custom_op

    before = set(custom_ops())
    yield
    for name in custom_ops():
        if name not in before:
            remove_custom_op(name)
