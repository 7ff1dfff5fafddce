"""Classification: softmax, log-softmax, the softmax cross-entropy loss and one-hot labels."""

from __future__ import annotations

import functools

import numpy as np

from ..errors import NumericalError
from .core import Notation, defop
from .shapes import along_axis_shape, cross_entropy_shape, onehot_shape


def log_sum_exp(a, axis=-1):
    """log Σ exp(a) along ``axis``, kept as an axis of length 1, without overflow."""
    if np.size(a) <= 256:  # one numpy call: its overhead is what small arrays cost
        return np.logaddexp.reduce(a, axis=axis, keepdims=True)
    top = np.maximum.reduce(a, axis=axis, keepdims=True)  # five calls, 2× faster per entry
    return np.log(np.add.reduce(np.exp(a - top), axis=axis, keepdims=True)) + top


def log_softmax(a, axis=-1):
    return a - log_sum_exp(a, axis)


def softmax(a, axis=-1):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _to_rows(a, axis):
    """``a`` with the class axis last, as (examples, classes); transposes are cheap views."""
    if axis in (-1, a.ndim - 1):
        return a.reshape(-1, a.shape[-1])
    if a.ndim == 2:
        return a.T
    return np.moveaxis(a, axis, -1).reshape(-1, a.shape[axis])


def _from_rows(rows, like, axis):
    """The inverse of :func:`_to_rows`, shaped like ``like``."""
    if axis in (-1, like.ndim - 1):
        return rows.reshape(like.shape)
    if like.ndim == 2:
        return rows.T
    moved = np.moveaxis(like, axis, -1).shape
    return np.moveaxis(rows.reshape(moved), -1, axis)


def _examples_last(logits, labels, axis, *, check=True):
    """Logits as (examples, classes), and the index of each row's label entry.

    The VJP skips the check of the labels (``check=False``): its forward, run on the
    same labels, has checked them.
    """
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise NumericalError(f"softmax_ce needs integer labels, got {labels.dtype}")
    rows = _to_rows(logits, axis)
    flat = labels.reshape(-1)
    classes = rows.shape[1]
    # Seen as unsigned, a negative label is huge: one reduction checks both ends.
    if check and flat.size and np.maximum.reduce(flat.view(_UNSIGNED[flat.itemsize])) >= classes:
        raise NumericalError(f"softmax_ce: labels must lie in 0..{classes - 1}, got {flat.tolist()}")
    return rows, (_row_numbers(flat.size), flat)


_UNSIGNED = {size: np.dtype(f"u{size}") for size in (1, 2, 4, 8)}


@functools.lru_cache(maxsize=16)
def _row_numbers(n: int):
    rows = np.arange(n)
    rows.flags.writeable = False
    return rows


def cross_entropy(logits, labels, axis=-1):
    rows, label_entries = _examples_last(logits, labels, axis)
    return np.add.reduce(log_sum_exp(rows, axis=1)[:, 0] - rows[label_entries]) / len(rows)


def cross_entropy_vjp(g, out, logits, labels, axis=-1):
    rows, label_entries = _examples_last(logits, labels, axis, check=False)
    examples = len(rows)
    grad = np.exp(rows - log_sum_exp(rows, axis=1))  # softmax
    grad *= g / examples
    grad[label_entries] -= g / examples
    return _from_rows(grad, logits, axis)


def onehot(logits, labels, axis=-1):
    rows, label_entries = _examples_last(logits, labels, axis)
    hot = np.zeros(rows.shape)
    hot[label_entries] = 1.0
    return _from_rows(hot, logits, axis)


defop("softmax", symbol="softmax", forward=softmax, shape=along_axis_shape,
      vjp=(lambda g, out, a, axis: out * (g - np.sum(g * out, axis=axis, keepdims=True)),),
      rule=("out * (g - expand(sum(g * out, axis=axis), axis=axis))",),
      domain=("real",), params={"axis": -1}, doc="softmax along an axis, computed stably")

defop("log_softmax", symbol="log softmax", forward=log_softmax, shape=along_axis_shape,
      vjp=(lambda g, out, a, axis: g - np.exp(out) * np.sum(g, axis=axis, keepdims=True),),
      rule=("g - exp(out) * expand(sum(g, axis=axis), axis=axis)",),
      domain=("real",), params={"axis": -1}, doc="log softmax along an axis (log-sum-exp)",
      notation=Notation("log softmax({0})", r"\operatorname{{log\,softmax}}\left({0}\right)"))

defop("softmax_ce", symbol="softmax-CE", forward=cross_entropy, shape=cross_entropy_shape,
      vjp=(cross_entropy_vjp, None),
      rule=("g * (softmax(a, axis=axis) - onehot(a, b, axis=axis)) / size(b)", None),
      domain=("real", "labels"), params={"axis": -1},
      doc="mean over examples of −log softmax(logits)[label], classes along `axis`; "
          "∂/∂logits = (softmax − onehot) / examples",
      notation=Notation("CE({0}, {1})", r"\operatorname{{CE}}\left({0}, {1}\right)"))

# No gradient flows through one-hot labels; the op appears in softmax-CE's rule.
defop("onehot", symbol="onehot", forward=lambda a, b, axis: onehot(a, b, axis),
      shape=onehot_shape, vjp=(None, None), rule=(None, None), domain=("real", "labels"),
      params={"axis": -1}, doc="one-hot rows of labels b, shaped like logits a (classes along axis)",
      notation=Notation("onehot({0}, {1})", r"\operatorname{{onehot}}\left({0}, {1}\right)"))
