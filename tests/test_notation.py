"""Formulas as printed for people, read back: parse_notation against the expression language."""

import re

import numpy as np
import pytest

from graphviz_bp import losses, printing
from graphviz_bp.engine import value_of
from graphviz_bp.expr import ExpressionError, parse
from graphviz_bp.graph import const
from graphviz_bp.notation import parse_notation, spellings
from graphviz_bp.ops import OPS
from graphviz_bp.printing import to_expr, to_text
from graphviz_bp.simplify import simplify
from graphviz_bp.symbolic import derive
from graphviz_bp.terms import IDENTITY, Apply, Facts, Grad, Name, Num, is_scalar, shape_of


def assert_close(got, want, rtol=1e-10, message=""):
    """Equal to ``rtol`` relative to the largest entry (NaN and infinities where both have them)."""
    assert np.shape(got) == np.shape(want), (np.shape(got), np.shape(want), message)
    finite = np.isfinite(want)
    scale = float(np.max(np.abs(np.where(finite, want, 0.0)), initial=0.0))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale, equal_nan=True, err_msg=message)


SHAPES = {"W": (2, 3), "x": (3, 1), "r": (2, 1), "X": (3, 2), "Y": (3, 2), "z1": (4, 1),
          "h1": (4, 1), "z2": (3, 1), "W2": (3, 4), "v": (3,), "S": (4, 3), "A": (2, 3),
          "B": (3, 2), "u": (3, 1), "alpha": (), "beta": (), "D": (), "lam": (), "s": ()}


def world(seed=0):
    """Names and gradients as claims see them: constants holding values."""
    rng = np.random.default_rng(seed)
    values = {n: rng.normal(size=shape) if shape else float(rng.uniform(0.5, 2)) for n, shape in SHAPES.items()}
    M = rng.normal(size=(3, 3))
    values["K"] = M @ M.T + 3 * np.eye(3)
    values["Kinv"] = np.linalg.inv(values["K"])
    values["p"] = rng.uniform(0.5, 2.0, size=(3, 1))
    names = {n: const(n, v) for n, v in values.items()}
    names["y"], names["y1"] = const("y", np.array([0, 2, 1, 1])), const("y1", np.array([1]))
    names["N"] = const("N", 3.0)
    grads = {n: const(f"grad_{n}", rng.normal(size=np.shape(v))) for n, v in values.items()}
    return names, grads


# Printed formulas (as derive writes them, and as students type them) → the same in the
# expression language.
TABLE = [
    ("∂L/∂z₂ h₁ᵀ", "grad(z2) @ h1.T"),
    ("2 α (−½ D K⁻¹ + ½ K⁻¹ Y Yᵀ K⁻¹) X",
     "2 * alpha * ((-0.5 * D * inv(K) + 0.5 * inv(K) @ Y @ Y.T @ inv(K)) @ X)"),
    ("σ(z₁) + h₁ ⊙ (1 − σ(z₁))", "sigmoid(z1) + h1 * (1 - sigmoid(z1))"),
    ("∂L/∂h₁ ⊙ (σ(z₁) + h₁ ⊙ (1 − σ(z₁)))", "grad(h1) * (sigmoid(z1) + h1 * (1 - sigmoid(z1)))"),
    ("‖r‖²", "sumsq(r)"),
    ("½ ‖Wᵀ W x − x‖²", "0.5 * sumsq(W.T @ W @ x - x)"),
    ("log|K|", "logdet(K)"),
    ("−(D/2) log|K|", "-(D / 2) * logdet(K)"),
    ("tr(K⁻¹ Y Yᵀ)", "trace(inv(K) @ Y @ Y.T)"),
    ("[z₁ > 0]", "step(z1)"),
    ("∂L/∂z₁ ⊙ [z₁>0]", "grad(z1) * step(z1)"),
    ("Σ(x)", "sum(x)"),
    ("Σ_rows(S)", "sum(S, axis=0)"),
    ("Σ_axis1(S)", "sum(S, axis=1)"),
    ("Σ_axis-1(S)", "sum(S, axis=-1)"),
    ("Σ(S, axis=1)", "sum(S, axis=1)"),
    ("𝟙 ⊙ x", "ones_like(x) * x"),
    ("x ⊙ 𝟙", "x * ones_like(x)"),
    ("½ 𝟙 + x", "0.5 * ones_like(x) + x"),
    ("x − 𝟙ᵀ", "x - ones_like(x)"),
    ("𝟙(x)", "ones_like(x)"),
    ("K I", "K @ eye(3)"),
    ("I K", "eye(3) @ K"),
    ("2 I − K", "2 * eye(3) - K"),
    ("X I", "X @ eye(2)"),
    ("I₃ + K", "eye(3) + K"),
    ("W x", "W @ x"),
    ("2 W x", "2 * (W @ x)"),
    ("W x ⊙ r", "(W @ x) * r"),
    ("r ⊙ W x", "r * (W @ x)"),
    ("α D K⁻¹ X", "alpha * D * (inv(K) @ X)"),
    ("α Xᵀ (∂L/∂K)ᵀ", "alpha * (X.T @ grad(K).T)"),
    ("−K⁻¹ ∂L/∂K⁻¹ K⁻¹", "-(Kinv @ grad(Kinv) @ Kinv)"),
    ("W ⊙ W / 2", "(W * W) / 2"),
    ("W / 2 + W", "W / 2 + W"),
    ("W − r ⊙ W / 4", "W - (r * W) / 4"),
    ("(softmax(S) − onehot(S, y)) / 4", "(softmax(S) - onehot(S, y)) / 4"),
    ("softmax(z₂, axis=0) − onehot(z₂, y₁, axis=0)", "softmax(z2, axis=0) - onehot(z2, y1, axis=0)"),
    ("log softmax(S)", "log_softmax(S)"),
    ("CE(S, y)", "softmax_ce(S, y)"),
    ("x²", "x ** 2"),
    ("p³ − p⁰·⁵", "p ** 3 - p ** 0.5"),
    ("−x²", "-(x ** 2)"),
    ("(−x)²", "(-x) ** 2"),
    ("p⁻¹", "p ** -1"),
    ("p⁻²·⁵", "p ** -2.5"),
    ("β⁻¹ I + α X Xᵀ", "beta ** -1 * eye(3) + alpha * X @ X.T"),
    ("‖r‖²²", "sumsq(r) ** 2"),
    ("√(p) ⊙ |x| + exp(x) − log(p) ⊙ tanh(x)", "sqrt(p) * abs(x) + exp(x) - log(p) * tanh(x)"),
    ("ReLU(x) − relu(x)", "relu(x) - relu(x)"),
    ("||x| − 1|", "abs(abs(x) - 1)"),
    ("|x| ⊙ |r ⊙ |r||ᵀ", "abs(x) * abs(r * abs(r)).T"),
    ("|W |x||", "abs(W @ abs(x))"),
    ("W −x", "W @ (-x)"),
    ("r - W @ x", "r - W @ x"),
    ("x − −x", "x - -x"),
    ("α −2", "alpha * -2"),
    ("α − 2", "alpha - 2"),
    ("log|K| ‖x‖²", "logdet(K) * sumsq(x)"),
    ("λ W", "lam * W"),
    ("σ(s) α", "sigmoid(s) * alpha"),
    ("0.5 * sumsq(W.T @ W @ x - x)", "0.5 * sumsq(W.T @ W @ x - x)"),
    ("W.T @ W @ x * 2 / 4", "W.T @ W @ x * 2 / 4"),
    ("grad(z2) @ h1.T", "grad(z2) @ h1.T"),
    ("2 ** 3 * x ** 2", "2 ** 3 * x ** 2"),
    ("1e−08 x + 1.5e3 x", "1e-08 * x + 1500 * x"),
    ("mean(S, axis=1) + Σ_axis1(S) / 3", "mean(S, axis=1) + sum(S, axis=1) / 3"),
    ("outer(v, v) − solve(K, x) xᵀ", "outer(v, v) - solve(K, x) @ x.T"),
    ("expand(Σ_axis1(S), axis=1) ⊙ S", "expand(sum(S, axis=1), axis=1) * S"),
    ("matmul(W, x) + pow(r, p=3)", "W @ x + r ** 3"),
    ("sign(x) · swish(x)", "sign(x) * swish(x)"),
    ("eye(N) K", "eye(3) @ K"),
    ("−½ eye(N) + K", "-0.5 * eye(N) + K"),
    ("  W₂ᵀ∂L/∂z₂   ", "W2.T @ grad(z2)"),
    ("(∂L/∂r)ᵀ W", "grad(r).T @ W"),
    ("½", "0.5"),
    ("−½ D", "-0.5 * D"),
]


@pytest.mark.parametrize("printed, expression", TABLE)
def test_printed_formulas_mean_what_the_expression_language_says(printed, expression):
    for seed in (0, 1):
        names, grads = world(seed)
        assert_close(value_of(parse_notation(printed, names, grads)), value_of(parse(expression, names, grads)))


def test_greek_letters_are_names_and_sigma_the_sigmoid():
    names, grads = world()
    x = value_of(names["x"])
    assert_close(value_of(parse_notation("σ(x)", names)), 1 / (1 + np.exp(-x)))
    names["lambda_"] = names.pop("lam")
    assert_close(value_of(parse_notation("λ x", names)), value_of(names["lambda_"]) * x)


def test_every_call_the_notation_prints_is_read():
    table = spellings()
    for head in ("σ", "ReLU", "tr", "CE", "Σ", "Σ_rows", "Σ_axis1", "log softmax", "√", "exp", "log", "tanh"):
        assert head in table, head
    assert table["Σ_rows"][:2] == ("sum", {"axis": 0})
    assert table["onehot"][2] is True  # onehot(S, y): the logits are printed too
    assert all(name in table for name in OPS)


@pytest.mark.parametrize("text, message, column", [
    ("W ⊗ x", "unexpected character '⊗'", 3),
    ("W x)", "unmatched ')'", 4),
    ("(W x", "expected ')' to close the '(' of column 1, found the end", 5),
    ("foo(x)", "unknown function 'foo'", 1),
    ("Wq x", "unknown name 'Wq'; did you mean 'W'?", 1),
    ("W / s W", "ambiguous after a quotient", 7),
    ("x / 2 ⊙ x", "ambiguous after a quotient", 7),
    ("S − onehot(y)", "onehot takes 2 argument(s), got 1", 5),
    ("−½ I", "the shape of I cannot be told here: write eye(n)", 1),
    ("𝟙", "the shape of 𝟙 cannot be told here: write ones_like(x)", 1),
    ("x + W W", "do not fit for @", 5),
    ("∂L/∂q", "no gradient at 'q'", 5),
    ("∂K/∂x", "a gradient is written ∂L/∂NAME", 1),
    ("[x + 1]", "a mask is written [a > b]", 7),
    ("(x at y, else 0)", "written (g at x[index], else 0)", 7),
    ("x[1:2", "expected ']' to close the index", 2),
    ("x[1.5]", "an index is written with integers", 2),
    ("√x", "√ takes brackets", 1),
    ("x ** W", "the exponent of ** must be a number", 6),
    ("x ** 2000", "exponent larger than 1000", 1),
    ("log x", "log is a function: call it", 1),
    ("x.__class__", "unexpected character '.'", 2),
    ("sum(x, axis=0.5)", "parameters axis=0.5 do not fit", 1),
    ("eye(0)", "eye takes one integer", 1),
    ("‖x‖", "‖…‖ is written ‖…‖²", 1),
    ("|x", "expected '|' to close the '|' of column 1", 3),
    ("x ⁻", "malformed exponent '⁻'", 3),
    ("1 / 0 x", "cannot compute this number", 1),
    ("I ⊙ v", "I meets shape (3,), not a square matrix", 1),
    ("1.5.3 x", "malformed number '1.5.3'", 1),
    ("I₃x + I₀", "unknown name 'I₃x'", 1),
    ("sumsq(𝟙)", "the shape of 𝟙 cannot be told here", 1),
    ("W (x ⊙ I)", "I meets shape (3, 1)", 1),
    ("W₂ ⊗ W₂", "unexpected character '⊗'", 4),
])
def test_what_is_not_understood_is_named_with_its_column(text, message, column):
    names, grads = world()
    with pytest.raises(ExpressionError) as err:
        parse_notation(text, names, grads)
    said = str(err.value)
    assert message in said and f"at column {column}:" in said and "\n" not in said, said
    assert said.count(" at column ") == 1, said


@pytest.mark.parametrize("text, message", [
    ("", "empty expression"), ("2 ½", "the expression is a plain number"),
    ("∂L/∂x", "only available in claims"), ("(" * 3000 + "x" + ")" * 3000, "nested too deeply"),
    ("x" + " + x" * 3000, "longer than 10000 characters"),
])
def test_limits_and_claims_only_forms(text, message):
    names, _ = world()
    with pytest.raises(ExpressionError, match=message):
        parse_notation(text, names)


# ---------------------------------------------------------------- printed forms that lose something


def _region(t, facts):
    """For a term printed as 𝟙 or I inside elementwise ops (ᵀ and ⁻¹ too), which the
    parser sizes by the arrays among them: (kind, their broadcast shape or None)."""
    if isinstance(t, Apply) and t.op in (IDENTITY, "ones_like"):
        return ("I" if t.op == IDENTITY else "𝟙"), None
    if not isinstance(t, Apply) or not (OPS[t.op].elementwise or t.op in ("transpose", "inv")):
        return None
    parts = [_region(a, facts) for a in t.args]
    if not any(parts):
        return None
    shapes = [p[1] if p else shape_of(a, facts) for p, a in zip(parts, t.args)]
    kind = "I" if any(p and p[0] == "I" for p in parts) else "𝟙"
    try:
        return kind, tuple(OPS[t.op].shape(*(s or () for s in shapes))) if any(shapes) else None
    except ValueError:  # ShapeError: not what the term says
        return kind, ()


def _misshaped(t, region, facts) -> str | None:
    kind, shape = region
    if shape is None:
        return f"bare {kind}: no operand tells its shape"
    return f"{kind} sized by the arrays beside it" if shape != shape_of(t, facts) else None


def lossy(t, facts) -> str | None:
    """Why the text of ``t`` cannot be read back as ``t``, or None. Each reason is a
    printed form that loses something; the report proposes the printer's fix of each."""
    region = _region(t, facts)
    return (region and _misshaped(t, region, facts)) or _lost(t, facts)


def _notation(t, facts):
    notation = OPS[t.op].notation if isinstance(t, Apply) and t.op in OPS else None
    scaled = notation is not None and notation.scaled is not None and is_scalar(t.args[0], facts)
    return notation.scaled if scaled else notation


def _level(t, facts) -> float:
    if isinstance(t, (Num, Grad)):
        return 4 if isinstance(t, Grad) else 3 if t.value < 0 else 5
    notation = _notation(t, facts)
    return notation.level if notation is not None else 5


def _open(t, facts, limit: float) -> bool:
    """Whether the text of ``t`` ends in a negation or a scalar product that reads on into
    a factor written after it: −a ⊙ b c, α a ⊙ b c, X α v B. At the top, only one whose
    operand binds looser than ``limit``."""
    notation = _notation(t, facts)
    if notation is None or not t.args or len(notation.wrap) < len(t.args) \
            or _level(t.args[-1], facts) < notation.wrap[-1]:
        return False  # closed, or its last operand bracketed
    if t.op == "neg" or notation is OPS["mul"].notation.scaled:
        if _level(t.args[-1], facts) < limit:
            return True
    return _open(t.args[-1], facts, 9)


def _lost(t, facts) -> str | None:
    if not isinstance(t, Apply) or t.op == IDENTITY:
        return None
    notation, left = _notation(t, facts), t.args[0] if t.args else None
    if t.op in ("matmul", "mul") and notation is not OPS["mul"].notation.scaled \
            and _level(left, facts) >= notation.wrap[0] and _open(left, facts, 2.4 if t.op == "matmul" else 0):
        return "a negation or scalar product on the left of a juxtaposition or ⊙ reads on past it"
    text = to_text(t, None, facts.scalars)
    if t.op != "ones_like" and not all(to_text(a, None, facts.scalars) in text for a in t.args):
        return f"{t.op}: the printed form leaves out an argument"
    for a in t.args if not _region(t, facts) else ():
        region = _region(a, facts)  # made here: as wide as the arrays inside, or I beside A
        if region and not (t.op == "matmul" and region == ("I", None)) and _misshaped(a, region, facts):
            return _misshaped(a, region, facts)
    shape = shape_of(t, facts)
    if t.op == "pow" and t.param("p") == Num(-1.0) and len(shape) == 2 and shape[0] == shape[1]:
        return "a⁻¹ of a square matrix reads as its inverse, not the elementwise power −1"
    return next((r for r in (_lost(a, facts) for a in t.args if t.op != "ones_like") if r), None)


# The printed forms that cannot be read back, each with what it loses (see the report).
LOSSY = [
    (Apply("mul", (Name("v"), Apply("ones_like", (Name("S"),)))), "v ⊙ 𝟙", None),
    (Apply("pow", (Name("K"),), (("p", Num(-1.0)),)), "K⁻¹", None),
    (Apply("matmul", (Apply("neg", (Apply("mul", (Name("S"), Name("S"))),)), Name("K"))), "−S ⊙ S K", None),
]


@pytest.mark.parametrize("term, printed, refusal", LOSSY)
def test_each_lossy_printed_form_is_really_misread(term, printed, refusal):
    names, grads = world()
    facts = Facts(scalars=frozenset(n for n, s in SHAPES.items() if not s),
                  shapes={**SHAPES, "K": (3, 3), "y": (4,)})
    assert to_text(term, None, facts.scalars) == printed and lossy(term, facts)
    want = value_of(parse(to_expr(term), names, grads))
    if refusal:
        with pytest.raises(ExpressionError, match=re.escape(refusal)):
            parse_notation(printed, names, grads)
    else:
        got = value_of(parse_notation(printed, names, grads))
        assert np.shape(got) != np.shape(want) or not np.allclose(got, want)


def test_a_node_named_sigma_keeps_its_name_and_sigma_stays_the_sigmoid():
    names, _ = world()
    names["sigma"] = const("sigma", 3.0)
    assert (to_text(Apply("sigmoid", (Name("x"),))), to_text(Name("sigma"))) == ("σ(x)", "sigma")
    x = value_of(names["x"])
    assert_close(value_of(parse_notation("σ(x)", names)), 1 / (1 + np.exp(-x)))
    assert_close(value_of(parse_notation("sigma x", names)), 3.0 * x)


def test_the_identity_is_printed_with_its_size_and_read_back():
    names, grads = world()
    names["N"] = const("N", 3.0)
    for term, printed in [(Apply(IDENTITY, (), (("n", 3),)), "I₃"),
                          (Apply(IDENTITY, (), (("n", 3), ("size", "N"))), "I_N")]:
        t = Apply("mul", (Num(-0.5), term))
        assert to_text(t) == f"−½ {printed}"
        assert_close(value_of(parse_notation(to_text(t), names, grads)), -0.5 * np.eye(3))


# ---------------------------------------------------------------- every formula of every built-in


def graph_world(g):
    """Names (the loss's sizes, then its nodes) and gradients, as claims.py's _judge builds them."""
    names = {k: const(k, v) for k, v in g.nx.graph.get("sizes", {}).items()}
    names.update({n: const(n, a["value"]) for n, a in g.nx.nodes(data=True)})
    grads = {n: const(f"grad_{n}", a["grad"], label=f"∇{n}") for n, a in g.nx.nodes(data=True)
             if a["grad"] is not None}
    return names, grads


#: Everything lossy() finds: the printed forms the report asks the printer to change.
KNOWN = {"onehot: the printed form leaves out an argument", "bare I: no operand tells its shape",
         "bare 𝟙: no operand tells its shape", "I sized by the arrays beside it", "𝟙 sized by the arrays beside it",
         "a⁻¹ of a square matrix reads as its inverse, not the elementwise power −1",
         "a negation or scalar product on the left of a juxtaposition or ⊙ reads on past it"}


def read_back_every_formula(g):
    """Every term of derive(g), printed and read back, against the expression language
    (which parse_notation reads too)."""
    deriv = derive(g)
    names, grads = graph_world(g)
    checked, skipped = 0, set()
    for table in (deriv.edge_local, deriv.node_local, deriv.node_expanded):
        for key, term in table.items():
            if term is None:
                continue
            expression = printing.to_expr(term)
            want = value_of(parse(expression, names, grads))
            assert_close(value_of(parse_notation(expression, names, grads)), want, message=expression)
            reason = lossy(term, deriv.facts)
            if reason:
                skipped.add(reason)
                continue
            printed = printing.to_text(term, deriv.labels, deriv.facts.scalars)
            assert_close(value_of(parse_notation(printed, names, grads)), want, message=f"{key}: {printed}")
            checked += 1
    return checked, skipped


@pytest.mark.parametrize("name", sorted(losses.BUILTINS))
@pytest.mark.parametrize("seed", [0, 3])
def test_every_printed_formula_of_every_builtin_reads_back(name, seed):
    checked, skipped = read_back_every_formula(losses.BUILTINS[name](seed=seed))
    assert checked >= 8
    assert skipped <= {"onehot: the printed form leaves out an argument", "bare I: no operand tells its shape",
                       "bare 𝟙: no operand tells its shape", "𝟙 sized by the arrays beside it"}


@pytest.mark.parametrize("build_loss", [
    lambda: losses.autoencoder(m=3, n=7, seed=2),
    lambda: losses.gplvm(N=5, Q=3, D=4, alpha=0.7, beta=3.0, seed=1),
    lambda: losses.fcnet_swish(D=2, H=3, C=4, seed=4),
    lambda: losses.fc_net(hidden_dims=(3, 4, 2), N=5, D=3, C=4, seed=3),
])
def test_printed_formulas_read_back_at_other_sizes(build_loss):
    checked, skipped = read_back_every_formula(build_loss())
    assert checked >= 8 and skipped <= KNOWN


# ---------------------------------------------------------------- random terms


LEAVES = {"A": (2, 3), "B": (3, 2), "u": (3, 1), "v": (3,), "s": (), "alpha": (), "W2": (2, 3)}
UNARY = ["neg", "exp", "sigmoid", "tanh", "relu", "abs", "step", "sign", "swish", "transpose",
         "sum", "mean", "sumsq", "log", "sqrt", "pow", "softmax", "log_softmax"]
BINARY = ["add", "sub", "mul", "div", "matmul", "mul", "matmul", "outer"]


def random_term(rng, facts, depth):
    """A random term over LEAVES (and K, I, 𝟙, numbers, gradients) whose shapes fit."""
    for _ in range(50):
        pick = rng.integers(12) if depth else 0
        if pick == 0:
            choice = rng.integers(10)
            if choice < 6:
                return Name(str(rng.choice(list(LEAVES))))
            if choice < 8:
                return Num(float(rng.choice([2.0, 0.5, -0.5, -1.0, 3.0, 1.5, -2.0, 0.25])))
            return Grad(str(rng.choice(list(LEAVES))))
        if pick < 6:
            op = str(rng.choice(UNARY))
            a = random_term(rng, facts, depth - 1)
            params = ()
            if op in ("log", "sqrt", "pow"):
                a = Apply("exp", (Apply("tanh", (a,)),))  # positive
            if op == "pow":
                params = (("p", Num(float(rng.choice([2.0, 3.0, 0.5, -1.0, -2.0, 1.5])))),)
            if op in ("sum", "softmax", "log_softmax") and rng.integers(2):
                params = (("axis", int(rng.integers(-1, 2))),)
            t = Apply(op, (a,), params)
        elif pick < 11:
            op = str(rng.choice(BINARY))
            a, b = random_term(rng, facts, depth - 1), random_term(rng, facts, depth - 1)
            if op == "div":
                b = Apply("exp", (b,))
            t = Apply(op, (a, b))
        else:
            special = rng.integers(4)
            t = [Apply("inv", (Name("K"),)), Apply("logdet", (Name("K"),)),
                 Apply("mul", (Apply(IDENTITY, (), (("n", 3),)), Name("K"))),
                 Apply("mul", (Apply("ones_like", (Name("A"),)), Name("A")))][special]
        if isinstance(t, Apply) and t.op == "transpose" and isinstance(t.args[0], Num):
            continue  # (-2).T: the expression language refuses it
        if shape_of(t, facts) is not None and (not isinstance(t, Apply) or t.op not in ("softmax", "log_softmax")
                                               or shape_of(t, facts) != ()):
            return t
    return Name("A")


def test_random_terms_print_and_read_back():
    names, grads = world(2)
    for n, shape in LEAVES.items():
        names[n] = const(n, np.random.default_rng(len(n)).normal(size=shape) if shape else 0.8)
        grads[n] = const(f"grad_{n}", np.random.default_rng(len(n) + 9).normal(size=shape) if shape else -1.3)
    facts = Facts(scalars=frozenset(n for n, s in LEAVES.items() if not s), shapes={**LEAVES, "K": (3, 3)})
    rng = np.random.default_rng(7)
    checked, reasons = 0, set()
    for _ in range(400):
        raw = random_term(rng, facts, 3)
        for term in (raw, simplify(raw, Facts(facts.symmetric, facts.scalars, facts.shapes))):
            reason = lossy(term, facts)
            if reason:
                reasons.add(reason)
                continue
            printed = to_text(term, None, facts.scalars)
            want = value_of(parse(to_expr(term), names, grads))
            try:
                got = value_of(parse_notation(printed, names, grads))
            except ExpressionError as err:
                raise AssertionError(f"{printed!r} ({to_expr(term)}): {err}") from None
            assert_close(got, want, message=f"{printed} = {to_expr(term)}")
            checked += 1
    assert checked > 500 and reasons <= KNOWN, (checked, reasons)


@pytest.mark.parametrize("printed, expected", [
    ("[X ≥ 0.5]", lambda X: (X >= 0.5).astype(float)),
    ("[X > 0]", lambda X: (X > 0).astype(float)),
    ("[X ≠ X[:, 0:1]]", lambda X: (X != X[:, 0:1]).astype(float)),
    ("X <= 0.5", lambda X: (X <= 0.5).astype(float)),
    ("X[:, 1:3] ⊙ X[0:4, -1:]", lambda X: X[:, 1:3] * X[:, -1:]),
    ("X[..., None]ᵀ", lambda X: X[..., None].T),
    ("(X[:, 1:3] at X[:, 0:2], else 0)", lambda X: np.pad(X[:, 1:3], ((0, 0), (0, 1)))),
    ("Σ(X, axis=(0, 1), keepdims=True)", lambda X: X.sum(axis=(0, 1), keepdims=True)),
    ("max(X, axis=-1)", lambda X: X.max(axis=-1)),
])
def test_the_course_notation_reads_back(printed, expected):
    X = np.random.default_rng(3).normal(size=(4, 3))
    value = value_of(parse_notation(printed, {"X": const("X", X)}))
    np.testing.assert_allclose(value, expected(X), rtol=1e-15)
