"""Linear algebra: matrix products, transposes, inverses, log-determinants, solves, traces."""

from __future__ import annotations

import numpy as np

from ..errors import NumericalError
from ..literals import literal_text
from .core import Notation, defop, latex_base, unbroadcast
from .shapes import (matmul_shape, outer_shape, permutation, solve_shape, square_shape,
                     square_to_scalar_shape, transposed_shape)


def logdet(a):
    sign, value = np.linalg.slogdet(a)
    if sign <= 0:
        raise NumericalError(
            "log|K| needs a matrix with a positive determinant "
            f"(e.g. positive definite), got det {'= 0' if sign == 0 else '< 0'}"
        )
    return value


def inv(a):
    try:
        out = np.linalg.inv(a)
    except np.linalg.LinAlgError:
        raise NumericalError("(·)⁻¹ of a singular matrix") from None
    if not np.all(np.isfinite(out)):
        raise NumericalError("(·)⁻¹ of a numerically singular matrix")
    return out


def solve(a, b):
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        raise NumericalError("solve with a singular matrix") from None


# A gradient is laid out in memory like its value: for an argument that is a transposed
# view (Wᵀ), the product is computed transposed, so that the transpose's VJP hands W a
# C-ordered gradient, and summing it with W's other contributions runs at full speed.


def _transposed_view(a) -> bool:
    return a.ndim == 2 and a.flags.f_contiguous and not a.flags.c_contiguous


def _product(p, q):
    """``p @ q`` for matrices; an outer product (a column times a row) by broadcasting,
    which runs 2–3× faster than BLAS's matrix product with an inner dimension of 1."""
    return p * q if p.ndim == q.ndim == 2 and p.shape[1] == 1 else p @ q


def _stacked(a, b) -> bool:
    """Whether ``a @ b`` is a product of stacks of matrices (an argument of rank 3 or more)."""
    return np.ndim(a) > 2 or np.ndim(b) > 2


def _matmul_vjp_left(g, out, a, b):
    if _stacked(a, b):  # a's matrices meet every matrix of b's stack they broadcast with
        return unbroadcast(g @ np.swapaxes(b, -1, -2), np.shape(a))
    if b.ndim == 1:
        if a.ndim == 1:
            return g * b
        return np.outer(b, g).T if _transposed_view(a) else np.outer(g, b)
    return _product(b, g.T).T if _transposed_view(a) else _product(g, b.T)


def _matmul_vjp_right(g, out, a, b):
    if _stacked(a, b):
        return unbroadcast(np.swapaxes(a, -1, -2) @ g, np.shape(b))
    if a.ndim == 1:
        if b.ndim == 1:
            return g * a
        return np.outer(g, a).T if _transposed_view(b) else np.outer(a, g)
    return _product(g.T, a).T if _transposed_view(b) else _product(a.T, g)


def _swapped(name: str, rank: int) -> str:
    """The formula of ``name`` with its last two axes swapped: x.T for a matrix."""
    if rank == 2:
        return f"{name}.T"
    return f"transpose({name}, axes={literal_text(tuple(range(rank - 2)) + (rank - 1, rank - 2))})"


def _summed_back(term: str, stack: tuple, shape: tuple) -> str:
    """``term``, a gradient with the product's ``stack`` of matrices, summed over the
    stack axes that broadcasting gave it, to an argument of ``shape``."""
    extra = len(stack) - (len(shape) - 2)
    if extra:
        term = f"sum({term}, axis={literal_text(tuple(range(extra)) if extra > 1 else 0)})"
    ones = tuple(i for i, n in enumerate(shape[:-2]) if n == 1 and stack[extra + i] != 1)
    if ones:
        term = f"sum({term}, axis={literal_text(ones if len(ones) > 1 else ones[0])}, keepdims=True)"
    return term


def _matmul_rules(a, b, **_):
    if len(a) > 2 or len(b) > 2:
        stack = matmul_shape(a, b)[:-2]
        return (_summed_back(f"g @ {_swapped('b', len(b))}", stack, a),
                _summed_back(f"{_swapped('a', len(a))} @ g", stack, b))
    if len(a) == 1 and len(b) == 1:
        return "g * b", "g * a"
    if len(b) == 1:
        return "outer(g, b)", "a.T @ g"
    if len(a) == 1:
        return "g @ b.T", "outer(a, g)"
    return "g @ b.T", "a.T @ g"


def _solve_vjp_right(g, out, a, b):
    return solve(a.T, g)


def _solve_vjp_left(g, out, a, b):
    gb = solve(a.T, g)
    return -(np.outer(gb, out) if out.ndim == 1 else gb @ out.T)


def _solve_rules(a, b, **_):
    if len(b) == 1:
        return "-outer(solve(a.T, g), out)", "solve(a.T, g)"
    return "-solve(a.T, g) @ out.T", "solve(a.T, g)"


defop("matmul", symbol="@", forward=np.matmul, shape=matmul_shape,
      vjp=(_matmul_vjp_left, _matmul_vjp_right), rule=_matmul_rules,
      domain=("real", "real"),
      doc="a @ b, matrix product of vectors and matrices, or of stacks of matrices (rank 3 "
          "and more, whose leading axes broadcast as numpy's)",
      operator="@", precedence=2,
      # a number or a minus on the right is bracketed: A (2 B ⊙ E) is not (A 2 B) ⊙ E
      notation=Notation("{0} {1}", "{0} {1}", level=2.4, wrap=(2.4, 3.01)))

defop("outer", symbol="⊗", forward=np.outer, shape=outer_shape,
      vjp=(lambda g, out, a, b: (g @ b.ravel()).reshape(np.shape(a)),
           lambda g, out, a, b: (g.T @ a.ravel()).reshape(np.shape(b))),
      rule=("g @ b", "g.T @ a"),
      domain=("real", "real"), doc="a bᵀ for vectors a and b")


def _transpose_rules(a, axes=None, **_):
    if axes is None:
        return ("g.T",)
    inverse = tuple(int(k) for k in np.argsort(permutation(a, axes)))
    return (f"transpose(g, axes={literal_text(inverse)})",)


def _transpose_latex(args, params) -> str:
    if params.get("axes") is None:
        return f"{latex_base(args[0])}^{{\\top}}"
    return rf"\operatorname{{transpose}}\left({args[0]}, {literal_text(params['axes'])}\right)"


defop("transpose", symbol="(·)ᵀ", forward=lambda a, axes=None: np.transpose(a, axes),
      shape=transposed_shape,
      vjp=(lambda g, out, a, axes=None: np.transpose(g, None if axes is None else
                                                       np.argsort(permutation(np.shape(a), axes))),),
      rule=_transpose_rules, domain=("real",), params={"axes": None},
      doc="aᵀ, its axes reversed; or its axes in the order `axes`, as numpy's transpose "
          "(transpose(x, axes=(0, 2, 1)) transposes each matrix of a stack)",
      operator=".T", precedence=5,
      notation=Notation("{0}ᵀ", _transpose_latex, level=5, wrap=(5,)))

defop("inv", symbol="(·)⁻¹", forward=inv, shape=square_shape,
      vjp=(lambda g, out, a: -out.T @ g @ out.T,), rule=("-out.T @ g @ out.T",),
      domain=("spd",), doc="K⁻¹; ∂L/∂K = −K⁻ᵀ (∂L/∂K⁻¹) K⁻ᵀ",
      notation=Notation("{0}⁻¹", lambda args, _: f"{latex_base(args[0])}^{{-1}}",
                        level=5, wrap=(5,)))

defop("logdet", symbol="log|·|", forward=logdet, shape=square_to_scalar_shape,
      vjp=(lambda g, out, a: g * inv(a).T,), rule=("g * inv(a).T",),
      reuses=("inv", lambda g, out, a, inverse: g * inverse.T),
      domain=("spd",), doc="log det K for det K > 0, by slogdet; ∂/∂K = K⁻ᵀ",
      notation=Notation("log|{0}|", r"\log\left|{0}\right|"))

defop("solve", symbol="(·)⁻¹(·)", forward=solve, shape=solve_shape,
      vjp=(_solve_vjp_left, _solve_vjp_right), rule=_solve_rules,
      domain=("spd", "real"), doc="A⁻¹ B by a linear solve, without forming A⁻¹")

defop("trace", symbol="tr", forward=np.trace, shape=square_to_scalar_shape,
      vjp=(lambda g, out, a: g * np.eye(a.shape[0]),), rule=("g * eye(rows(a))",),
      domain=("real",), doc="tr A, the sum of the diagonal",
      notation=Notation("tr({0})", r"\operatorname{{tr}}\left({0}\right)"))
