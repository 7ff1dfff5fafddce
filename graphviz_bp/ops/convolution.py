"""Convolution and pooling over images in PyTorch's NCHW layout: conv2d, max_pool2d, and the
ops their gradients are written with.

As in ``torch.nn.functional``, ``conv2d`` is a cross-correlation (the kernel is not
flipped), zero-padded, without bias (add one by broadcasting: ``conv2d(x, w) + b`` with
``b`` of shape (F, 1, 1)); an output side is ``(H + 2 padding − KH) // stride + 1``, so
rows and columns the last window does not reach take no part, and get no gradient.
``max_pool2d`` takes no padding; its stride defaults to the kernel size, and a window's
gradient goes to its first largest entry, as PyTorch's does.

The gradients are not compositions of other ops, so each has an op of its own
(``conv2d_grad_input``, ``conv2d_grad_weight``, ``max_pool2d_grad``) computing exactly
the VJP, with no gradient of its own: the rules are written with them.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import ShapeError
from ..literals import literal_text
from .core import Notation, defop
from .shapes import shape_text


# ---------------------------------------------------------------- parameters and windows


def _pair(value, what: str, least: int) -> tuple[int, int]:
    """An int, or an (along H, along W) pair of ints, as PyTorch takes stride and padding."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                 and v >= least for v in pair):
        raise ShapeError(f"{what} must be an integer ≥ {least} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def _windows(x, kernel: tuple[int, int], stride: tuple[int, int]):
    """Every window of x a kernel visits, as a view: (N, C, H', W', KH, KW); no copy."""
    view = sliding_window_view(x, kernel, axis=(2, 3))
    return view[:, :, ::stride[0], ::stride[1]]


def _padded(x, padding: tuple[int, int]):
    ph, pw = padding
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x


def _out_side(size: int, kernel: int, stride: int) -> int:
    return (size - kernel) // stride + 1


# ---------------------------------------------------------------- conv2d


def _conv2d_shape(x, w, stride=1, padding=0, **_):
    if len(x) != 4:
        raise ShapeError(f"conv2d takes an input x of shape (N, C, H, W), got shape {shape_text(x)}")
    if len(w) != 4:
        raise ShapeError(f"conv2d takes weights w of shape (F, C, KH, KW), got shape {shape_text(w)}")
    (sh, sw), (ph, pw) = _pair(stride, "conv2d: stride", 1), _pair(padding, "conv2d: padding", 0)
    if x[1] != w[1]:
        raise ShapeError(f"conv2d: input of shape {shape_text(x)} has {x[1]} channel(s), but "
                         f"weights of shape {shape_text(w)} expect {w[1]}")
    height, width = x[2] + 2 * ph, x[3] + 2 * pw
    if w[2] > height or w[3] > width:
        raise ShapeError(f"conv2d: kernel {w[2]}×{w[3]} of weights {shape_text(w)} is larger than "
                         f"the input {shape_text(x)} padded to {height}×{width} (padding {padding})")
    return (x[0], w[0], _out_side(height, w[2], sh), _out_side(width, w[3], sw))


def conv2d(x, w, stride=1, padding=0):
    stride, padding = _pair(stride, "conv2d: stride", 1), _pair(padding, "conv2d: padding", 0)
    windows = _windows(_padded(x, padding), w.shape[2:], stride)
    # one product of the windows (im2col) with the filters: (N, H', W', F)
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3]))
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def conv2d_grad_weight(g, x, w, stride=1, padding=0):
    """∂L/∂w: each filter entry met every window's pixel at its place, weighted by g."""
    stride, padding = _pair(stride, "conv2d: stride", 1), _pair(padding, "conv2d: padding", 0)
    windows = _windows(_padded(x, padding), w.shape[2:], stride)
    return np.tensordot(g, windows, axes=([0, 2, 3], [0, 2, 3]))


def conv2d_grad_input(g, x, w, stride=1, padding=0):
    """∂L/∂x, the transposed convolution of g with w: every output pixel sends g times the
    kernel back over its window, and overlapping windows add up."""
    (sh, sw), (ph, pw) = _pair(stride, "conv2d: stride", 1), _pair(padding, "conv2d: padding", 0)
    n, c, height, width = np.shape(x)
    kh, kw = np.shape(w)[2:]
    oh, ow = np.shape(g)[2:]
    spread = np.tensordot(g, w, axes=(1, 0)).transpose(0, 3, 1, 2, 4, 5)  # (N, C, H', W', KH, KW)
    grad = np.zeros((n, c, height + 2 * ph, width + 2 * pw))
    # One strided add per kernel entry, over all windows at once (KH·KW of them, not a
    # loop over pixels); rows past the last window stay 0, as no output depends on them.
    for k in range(kh):
        for m in range(kw):
            grad[:, :, k:k + sh * (oh - 1) + 1:sh, m:m + sw * (ow - 1) + 1:sw] += spread[..., k, m]
    return grad[:, :, ph:ph + height, pw:pw + width]


def _conv2d_grad_shape(wanted: int):
    """The shape rule of a gradient op: g must be shaped like conv2d(x, w)."""
    def shape(g, x, w, stride=1, padding=0, **_):
        out = _conv2d_shape(x, w, stride, padding)
        if tuple(g) != out:
            raise ShapeError(f"the gradient of conv2d(x, w) for x of shape {shape_text(x)} and w of "
                             f"shape {shape_text(w)} takes g of shape {shape_text(out)}, got {shape_text(g)}")
        return (x, w)[wanted]
    return shape


# ---------------------------------------------------------------- max_pool2d


def _pool_geometry(kernel_size, stride):
    kernel = _pair(kernel_size, "max_pool2d: kernel_size", 1)
    return kernel, kernel if stride is None else _pair(stride, "max_pool2d: stride", 1)


def _max_pool2d_shape(x, kernel_size=2, stride=None, **_):
    if len(x) != 4:
        raise ShapeError(f"max_pool2d takes an input of shape (N, C, H, W), got shape {shape_text(x)}")
    (kh, kw), (sh, sw) = _pool_geometry(kernel_size, stride)
    if kh > x[2] or kw > x[3]:
        raise ShapeError(f"max_pool2d: kernel {kh}×{kw} is larger than the input {shape_text(x)}")
    return (x[0], x[1], _out_side(x[2], kh, sh), _out_side(x[3], kw, sw))


def _pooled(x, kernel_size, stride):
    """The windows of x with their entries in one row each, (N, C, H', W', KH·KW), in
    row-major order: the first largest entry of a row is PyTorch's."""
    kernel, step = _pool_geometry(kernel_size, stride)
    windows = _windows(x, kernel, step)
    return windows.reshape(windows.shape[:4] + (-1,)), kernel, step


def max_pool2d(x, kernel_size=2, stride=None):
    return np.max(_pooled(x, kernel_size, stride)[0], axis=-1)


def max_pool2d_grad(g, x, kernel_size=2, stride=None):
    """∂L/∂x: each window's g added at its first largest entry; overlapping windows add up."""
    rows, (kh, kw), (sh, sw) = _pooled(x, kernel_size, stride)
    first = np.argmax(rows, axis=-1)  # the first of equal maxima, as in PyTorch
    n, c, oh, ow = first.shape
    height, width = np.shape(x)[2:]
    row = np.arange(oh)[:, None] * sh + first // kw
    col = np.arange(ow)[None, :] * sw + first % kw
    plane = np.arange(n * c).reshape(n, c, 1, 1)
    # bincount sums the entries that land on one pixel (1.3–1.5× faster than np.add.at,
    # measured on 10³ and 10⁵ entries)
    flat = ((plane * height + row) * width + col).reshape(-1)
    grad = np.bincount(flat, weights=np.reshape(g, -1), minlength=np.size(x))
    return grad.reshape(np.shape(x))


def _max_pool2d_grad_shape(g, x, kernel_size=2, stride=None, **_):
    out = _max_pool2d_shape(x, kernel_size, stride)
    if tuple(g) != out:
        raise ShapeError(f"the gradient of max_pool2d(x) for x of shape {shape_text(x)} takes g "
                         f"of shape {shape_text(out)}, got {shape_text(g)}")
    return x


def _largest(x, kernel_size=2, stride=None):
    """Where each window's largest entry is: inputs with the same places lie on one smooth
    piece of max_pool2d, which is there a selection of entries."""
    return np.argmax(_pooled(x, kernel_size, stride)[0], axis=-1)


# ---------------------------------------------------------------- notation


def _call(name: str, defaults: dict) -> Notation:
    """A call with the parameters that differ from their defaults: conv2d(x, w, stride=2)
    as text (the form claims read back), and in LaTeX after a semicolon."""
    def changed(params):
        return [(k, params[k]) for k in defaults if params.get(k, defaults[k]) != defaults[k]]

    def text(args, params):
        return f"{name}({', '.join([*args, *(f'{k}={literal_text(v)}' for k, v in changed(params))])})"

    latex_name = name.replace("_", r"\_")

    def latex(args, params):
        settings = r",\ ".join(rf"\mathrm{{{k}}}={literal_text(v)}".replace("_", r"\_")
                               for k, v in changed(params))
        return (rf"\operatorname{{{latex_name}}}\left({', '.join(args)}"
                + (rf";\ {settings}" if settings else "") + r"\right)")

    return Notation(text, latex)


_CONV = {"stride": 1, "padding": 0}
_POOL = {"kernel_size": 2, "stride": None}

defop("conv2d", symbol="conv2d", forward=conv2d, shape=_conv2d_shape,
      vjp=(lambda g, out, a, b, stride, padding: conv2d_grad_input(g, a, b, stride, padding),
           lambda g, out, a, b, stride, padding: conv2d_grad_weight(g, a, b, stride, padding)),
      rule=("conv2d_grad_input(g, a, b, stride=stride, padding=padding)",
            "conv2d_grad_weight(g, a, b, stride=stride, padding=padding)"),
      domain=("real", "real"), params=_CONV, notation=_call("conv2d", _CONV),
      doc="2-d cross-correlation of images x (N, C, H, W) with filters w (F, C, KH, KW), "
          "zero-padded, as torch's conv2d: out (N, F, H', W'); stride and padding an int "
          "or an (H, W) pair")

defop("max_pool2d", symbol="max pool", forward=max_pool2d, shape=_max_pool2d_shape,
      vjp=(lambda g, out, a, kernel_size, stride: max_pool2d_grad(g, a, kernel_size, stride),),
      rule=("max_pool2d_grad(g, a, kernel_size=kernel_size, stride=stride)",),
      domain=("real",), params=_POOL, kinks=_largest,
      notation=_call("max_pool2d", _POOL),
      doc="the largest entry of each kernel_size window of images x (N, C, H, W), as "
          "torch's max_pool2d without padding; stride None means kernel_size")

# What the rules above are written with; no gradient flows through them.
defop("conv2d_grad_input", symbol="conv2d grad x", forward=conv2d_grad_input,
      shape=_conv2d_grad_shape(0), vjp=(None, None, None), rule=(None, None, None),
      domain=("real", "real", "real"), params=_CONV,
      notation=_call("conv2d_grad_input", _CONV),
      doc="∂L/∂x of conv2d(x, w) when g = ∂L/∂out arrives: the transposed convolution of "
          "g with w, shaped like x")

defop("conv2d_grad_weight", symbol="conv2d grad w", forward=conv2d_grad_weight,
      shape=_conv2d_grad_shape(1), vjp=(None, None, None), rule=(None, None, None),
      domain=("real", "real", "real"), params=_CONV,
      notation=_call("conv2d_grad_weight", _CONV),
      doc="∂L/∂w of conv2d(x, w) when g = ∂L/∂out arrives: the cross-correlation of the "
          "input's windows with g, shaped like w")

defop("max_pool2d_grad", symbol="max pool grad", forward=max_pool2d_grad,
      shape=_max_pool2d_grad_shape, vjp=(None, None), rule=(None, None),
      domain=("real", "real"), params=_POOL,
      notation=_call("max_pool2d_grad", _POOL),
      doc="∂L/∂x of max_pool2d(x) when g = ∂L/∂out arrives: each window's g at the "
          "first largest entry of the window, shaped like x")
