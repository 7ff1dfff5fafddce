"""Light rewrites of terms that are obviously right: ×1, +0, −(−x), (xᵀ)ᵀ, scalars in front.

>>> from graphviz_bp.terms import Apply, Name, Num
>>> from graphviz_bp.printing import to_text
>>> to_text(simplify(Apply("mul", (Num(1.0), Apply("transpose", (Apply("transpose", (Name("W"),)),))))))
'W'
"""

from __future__ import annotations

import math

from .terms import IDENTITY, ZERO, Apply, Facts, Num, Name, Grad, Term, is_scalar, shape_of

__all__ = ["simplify", "add_all"]


def _num(t) -> float | None:
    return t.value if isinstance(t, Num) else None


def _count_transposes(t) -> int:
    if isinstance(t, Apply):
        return (t.op == "transpose") + sum(_count_transposes(a) for a in t.args)
    return 0


def simplify(t: Term, facts: "Facts | frozenset" = frozenset()) -> Term:
    """Light rewrites that are obviously right.

    ×1, ÷1, +0, −(−x), (xᵀ)ᵀ, I x, x + x = 2 x; products as number · scalars · rest, so
    numbers fold and scalars stand in front; matrix products associated to the left;
    Kᵀ = K and (K⁻¹)ᵀ = K⁻¹ for symmetric K; (A B)ᵀ = Bᵀ Aᵀ and (A + B)ᵀ = Aᵀ + Bᵀ only
    where that removes transposes.
    """
    facts = facts if isinstance(facts, Facts) else Facts(frozenset(facts))
    return _simplify(t, facts)


def _simplify(t: Term, facts: Facts) -> Term:
    if not isinstance(t, Apply):
        return t
    key = ("simplified", t)
    if key not in facts.memo:
        facts.memo[key] = _simplify_op(t, facts)
    return facts.memo[key]


def _simplify_op(t: Apply, facts: Facts) -> Term:
    args = tuple(_simplify(a, facts) for a in t.args)
    params = tuple((k, _simplify(v, facts) if isinstance(v, (Apply, Num)) else v)
                   for k, v in t.params)
    t = Apply(t.op, args, params)
    a = args[0] if args else None
    b = args[1] if len(args) > 1 else None
    na, nb = _num(a), _num(b)
    if t.op in ("add", "sub", "mul", "div") and na is not None and nb is not None:
        folded = _fold(t.op, na, nb)
        return t if folded is None else Num(folded)
    if t.op == "add":
        if na == 0:
            return b
        if nb == 0:
            return a
        if a == b:
            return _simplify(Apply("mul", (Num(2.0), a)), facts)
        if _negated(b) is not None:
            return _simplify(Apply("sub", (a, _negated(b))), facts)
        return t
    if t.op == "sub":
        if nb == 0:
            return a
        if na == 0:
            return _simplify(Apply("neg", (b,)), facts)
        if _negated(b) is not None:
            return _simplify(Apply("add", (a, _negated(b))), facts)
        return t
    if t.op == "matmul":
        if isinstance(a, Apply) and a.op == IDENTITY:
            return b
        if isinstance(b, Apply) and b.op == IDENTITY:
            return a
        if isinstance(b, Apply) and b.op == "matmul" and all(
                len(shape_of(x, facts) or ()) == 2 for x in (a, *b.args)):  # A (B C) = A B C
            return _simplify(Apply("matmul", (Apply("matmul", (a, b.args[0])), b.args[1])), facts)
    if t.op == "transpose" and not t.params:  # (a transpose along given axes is left as it is)
        if isinstance(a, Apply) and a.op == "transpose" and not a.params:
            return a.args[0]
        if is_scalar(a, facts) or _is_symmetric(a, facts):
            return a
        pushed = None
        if len(shape_of(a, facts) or (0, 0)) <= 1:  # numpy's .T of a vector is the vector
            return a
        # The rules below hold for matrices (and scalars); a vector among the arguments
        # broadcasts as a row, and moving the transpose onto it would change the result.
        matrices = isinstance(a, Apply) and all(
            len(shape_of(x, facts) or ()) == 2 or shape_of(x, facts) == () for x in a.args)
        if isinstance(a, Apply) and a.op == "matmul" and matrices:  # (A B)ᵀ = Bᵀ Aᵀ
            pushed = Apply("matmul", (Apply("transpose", (a.args[1],)), Apply("transpose", (a.args[0],))))
        elif isinstance(a, Apply) and a.op in ("add", "sub") and matrices:  # (A + B)ᵀ = Aᵀ + Bᵀ
            pushed = Apply(a.op, tuple(Apply("transpose", (x,)) for x in a.args))
        elif isinstance(a, Apply) and a.op in ("mul", "div", "neg") and _has_scalar_factor(a, facts):
            coef, scalars, rest = _factor(a, facts)
            if math.isfinite(coef):
                pushed = _rebuild(coef, scalars, Apply("transpose", (rest,)))
        if pushed is not None:  # taken where transposes cancel, or end up on names only
            pushed = _simplify(pushed, facts)
            before, after = _count_transposes(t), _count_transposes(pushed)
            if after < before or (after == before and _transposes_on_names(pushed)):
                return pushed
        return t
    if t.op == "compare" and nb == 0 and isinstance(a, Apply) and a.op == "compare" \
            and t.param("test") in ("!=", "=="):  # a mask is 0 or 1: [m ≠ 0] = m, [m = 0] = 1 − m
        return a if t.param("test") == "!=" else _simplify(Apply("sub", (Num(1.0), a)), facts)
    if t.op == "pow":
        p = t.param("p")
        if isinstance(p, Num) and p.value == 1:
            return a
        return t
    if t.op == "expand" and t.param("axis") is None:
        return a
    if t.op == "sum" and isinstance(a, Apply) and a.op == "expand" and not t.param("keepdims") \
            and t.param("axis") is not None and t.param("axis") == a.param("axis"):
        return a.args[0]  # summing over the axis of length 1 just made
    if t.op == "div" and nb == 1:
        return a
    if t.op in ("mul", "div", "neg", "matmul") and _has_scalar_factor(t, facts):
        coef, scalars, rest = _factor(t, facts)
        if math.isfinite(coef):  # numbers that overflow together stay apart
            cleared = _clear_fractions(coef, rest, facts) if abs(coef) != 1 else None
            if cleared is not None:
                return _simplify(_rebuild(1.0, scalars, cleared), facts)
            return _rebuild(coef, scalars, rest)
    if t.op == "neg" and isinstance(a, Apply) and a.op == "neg":
        return a.args[0]
    return t


def _summands(t) -> list[tuple[int, Term]]:
    """t as ± summands: a − (b + c) → [(+1, a), (−1, b), (−1, c)]."""
    if isinstance(t, Apply) and t.op in ("add", "sub"):
        right = _summands(t.args[1])
        if t.op == "sub":
            right = [(-sign, u) for sign, u in right]
        return _summands(t.args[0]) + right
    return [(1, t)]


def _clear_fractions(coef: float, rest, facts):
    """``rest`` with the number ``coef`` multiplied into its sum, where that clears the sum's
    fractions: 2 (−½ a + ½ b) c → (−a + b) c. None where it would not."""
    total, after = (rest.args[0], rest.args[1]) if (
        isinstance(rest, Apply) and rest.op == "matmul") else (rest, None)
    if not (isinstance(total, Apply) and total.op in ("add", "sub")):
        return None
    parts = [(sign, _factor(u, facts)) for sign, u in _summands(total)]
    before = [sign * c for sign, (c, _, _) in parts]
    scaled = [coef * c for c in before]
    if all(float(c).is_integer() for c in before) or not all(float(c).is_integer() for c in scaled):
        return None
    terms = [_rebuild(c, s, r) for c, (_, (_, s, r)) in zip(scaled, parts)]
    cleared = terms[0]
    for term in terms[1:]:
        cleared = Apply("add", (cleared, term))
    return cleared if after is None else Apply("matmul", (cleared, after))


def _transposes_on_names(t) -> bool:
    if isinstance(t, Apply):
        if t.op == "transpose" and not isinstance(t.args[0], (Name, Grad)):
            return False
        return all(_transposes_on_names(a) for a in t.args)
    return True


def _negated(t) -> "Term | None":
    """x when t is −x or a product with a negative number in front, else None."""
    if isinstance(t, Apply) and t.op == "neg":
        return t.args[0]
    if isinstance(t, Apply) and t.op in ("mul", "div") and _num(t.args[0]) is not None and t.args[0].value < 0:
        return Apply(t.op, (Num(-t.args[0].value), t.args[1])) if t.args[0].value != -1 else t.args[1]
    if isinstance(t, Apply) and t.op == "div" and _negated(t.args[0]) is not None:
        return Apply("div", (_negated(t.args[0]), t.args[1]))
    return None


def _has_scalar_factor(t, facts) -> bool:
    coef, scalars, rest = _factor(t, facts)
    return coef != 1 or bool(scalars) or rest is None or rest != t


def _factor(t, facts):
    """t as (number, [scalar factors], rest or None), for products, quotients by numbers,
    negations and matrix products: scalars commute with all of them."""
    key = ("factor", t)
    if key not in facts.memo:
        facts.memo[key] = _factor_of(t, facts)
    return facts.memo[key]


def _factor_of(t, facts):
    if isinstance(t, Num):
        return t.value, [], None
    if is_scalar(t, facts) and not (isinstance(t, Apply) and t.op in ("mul", "div", "neg")):
        return 1.0, [t], None
    if isinstance(t, Apply) and t.op in ("mul", "matmul"):
        c1, s1, r1 = _factor(t.args[0], facts)
        c2, s2, r2 = _factor(t.args[1], facts)
        if r1 is None or r2 is None:
            return c1 * c2, s1 + s2, r1 if r2 is None else r2
        return c1 * c2, s1 + s2, Apply(t.op, (r1, r2))
    if isinstance(t, Apply) and t.op == "div" and _num(t.args[1]) not in (None, 0):
        c, s, r = _factor(t.args[0], facts)
        return c / t.args[1].value, s, r
    if isinstance(t, Apply) and t.op == "neg":
        c, s, r = _factor(t.args[0], facts)
        return -c, s, r
    return 1.0, [], t


def _rebuild(coef: float, scalars: list, rest) -> Term:
    """number · s₁ · s₂ · … · rest; a number 1/k is written as a quotient by k."""
    factors = [*scalars] + ([rest] if rest is not None else [])
    if coef == 0 and rest is None:
        return ZERO  # a scalar zero; an array keeps its shape as 0 * rest
    if not factors:
        return Num(coef)
    body = factors[-1]
    for s in reversed(factors[:-1]):
        body = Apply("mul", (s, body))
    magnitude = abs(coef)
    inverse = 1 / magnitude if magnitude else 0.0
    if not math.isfinite(inverse):
        inverse = 0.0  # 1e-310: far too small to be written as a quotient
    if magnitude == 1:
        term = body
    elif 0 < magnitude < 1 and inverse >= 2 and abs(inverse - round(inverse)) < 1e-9 \
            and magnitude != 0.5:
        term = Apply("div", (body, Num(float(round(inverse)))))
    else:
        term = Apply("mul", (Num(magnitude), body))
    return Apply("neg", (term,)) if coef < 0 else term


def _is_symmetric(t, facts) -> bool:
    if isinstance(t, Name):
        return t.id in facts.symmetric
    if isinstance(t, Apply) and t.op == "inv":
        return _is_symmetric(t.args[0], facts)
    if isinstance(t, Apply) and t.op == IDENTITY:
        return True
    return False


def _fold(op: str, a: float, b: float) -> float | None:
    """a op b as one number, or None where that is not a finite number (x / 0, 1e308²)."""
    if op == "div" and b == 0:
        return None
    value = {"add": a + b, "sub": a - b, "mul": a * b}[op] if op != "div" else a / b
    return value if math.isfinite(value) else None


def add_all(terms: list[Term], facts: "Facts | frozenset" = frozenset()) -> Term:
    """t₁ + t₂ + …, simplified (the total gradient of a node reached along several edges)."""
    total = terms[0]
    for t in terms[1:]:
        total = Apply("add", (total, t))
    return simplify(total, facts)


