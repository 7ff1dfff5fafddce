"""Elementwise functions: exp, log, √, |·|, σ, swish, ReLU, tanh, softplus, log σ."""

from __future__ import annotations

import numpy as np

from .core import Notation, defop
from .shapes import same_shape


def sigmoid(a):
    # σ(a) = exp(a − log(1 + eᵃ)): no overflow, accurate far into both tails
    # (σ(−50) = 1.9e-22, where (1 + tanh(a/2)) / 2 would round to 0), in three numpy calls.
    return np.exp(a - np.logaddexp(0.0, a))


def _swish_vjp(g, out, a):
    s = sigmoid(a)
    return g * (s + out * (1.0 - s))


def _function(text: str, latex: str) -> Notation:
    """The notation f(x) of a one-argument function."""
    return Notation(text + "({0})", latex + r"\left({0}\right)")


defop("exp", symbol="exp", forward=np.exp, shape=same_shape,
      vjp=(lambda g, out, a: g * out,), rule=("g * out",),
      domain=("real",), doc="exp a", elementwise=True, notation=_function("exp", r"\exp"))

defop("log", symbol="log", forward=np.log, shape=same_shape,
      vjp=(lambda g, out, a: g / a,), rule=("g / a",),
      domain=("positive",), doc="natural log a", elementwise=True,
      notation=_function("log", r"\log"))

defop("sqrt", symbol="√", forward=np.sqrt, shape=same_shape,
      vjp=(lambda g, out, a: g * 0.5 / out,), rule=("0.5 * g / out",),
      domain=("positive",), doc="√a", elementwise=True,
      notation=Notation("√({0})", r"\sqrt{{{0}}}"))

defop("abs", symbol="|·|", forward=np.abs, shape=same_shape,
      vjp=(lambda g, out, a: g * np.sign(a),), rule=("g * sign(a)",), kinks=lambda a: a > 0,
      domain=("nonzero",), doc="|a|, elementwise", elementwise=True,
      notation=Notation("|{0}|", r"\left|{0}\right|"))

defop("sigmoid", symbol="σ", forward=sigmoid, shape=same_shape,
      vjp=(lambda g, out, a: g * out * (1.0 - out),), rule=("g * out * (1 - out)",),
      domain=("real",), doc="σ(a) = 1 / (1 + e⁻ᵃ)", elementwise=True,
      notation=_function("σ", r"\sigma"))

defop("swish", symbol="swish", forward=lambda a: a * sigmoid(a), shape=same_shape,
      vjp=(_swish_vjp,),
      rule=("g * (sigmoid(a) + out * (1 - sigmoid(a)))",),
      domain=("real",), doc="swish(a) = a ⊙ σ(a); swish′ = σ + swish ⊙ (1 − σ)",
      elementwise=True)

defop("relu", symbol="ReLU", forward=lambda a: np.maximum(a, 0.0), shape=same_shape,
      vjp=(lambda g, out, a: g * (a > 0),), rule=("g * step(a)",), kinks=lambda a: a > 0,
      domain=("nonzero",), doc="max(0, a); the gradient at 0 is taken as 0", elementwise=True,
      notation=_function("ReLU", r"\operatorname{{ReLU}}"))

defop("tanh", symbol="tanh", forward=np.tanh, shape=same_shape,
      vjp=(lambda g, out, a: g * (1.0 - out**2),), rule=("g * (1 - out ** 2)",),
      domain=("real",), doc="tanh a", elementwise=True, notation=_function("tanh", r"\tanh"))

# softplus(a) = log(1 + eᵃ) as logaddexp(0, a), which adds log1p(e^−|a|) to max(a, 0): no
# overflow at a = 800 (softplus = 800), and softplus(−50) = 1.9e-22 where log(1 + eᵃ)
# would round to log(1) = 0. Its derivative is σ(a), accurate in both tails too.
defop("softplus", symbol="softplus", forward=lambda a: np.logaddexp(0.0, a), shape=same_shape,
      vjp=(lambda g, out, a: g * sigmoid(a),), rule=("g * sigmoid(a)",),
      domain=("real",), doc="softplus(a) = log(1 + eᵃ), a smooth ReLU; softplus′ = σ",
      elementwise=True, notation=_function("softplus", r"\operatorname{{softplus}}"))

defop("log_sigmoid", symbol="log σ", forward=lambda a: -np.logaddexp(0.0, -a), shape=same_shape,
      vjp=(lambda g, out, a: g * sigmoid(-a),), rule=("g * sigmoid(-a)",),
      domain=("real",), doc="log σ(a) = −softplus(−a), finite where σ(a) rounds to 0 "
                            "(log σ(−800) = −800); its derivative is σ(−a) = 1 − σ(a)",
      elementwise=True, notation=_function("log σ", r"\log\sigma"))
