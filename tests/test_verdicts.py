"""Verdicts a student can trust: real answers to the course problems, judged at draws that
vary every size, constant and value a formula could wrongly depend on.

Each row: the loss, the claimed gradient as a student wrote it, whether it is right, and
what it shows. A wrong answer must fail; a right one must hold at every draw.
"""

import numpy as np
import pytest

import graphviz_bp as bp
from graphviz_bp import losses
from graphviz_bp.claims import check_claim
from graphviz_bp.sources import builtin_source, expression_source
from graphviz_bp.symbolic import derive
from graphviz_bp.terms import Apply

ANSWERS = [
    # autoencoder, r = WᵀWx − x
    ("autoencoder", "W=W @ r @ x.T + W @ x @ r.T", True, "both paths"),
    ("autoencoder", "W=W @ (W.T @ W @ x - x) @ x.T + W @ x @ (W.T @ W @ x - x).T", True, "r written out"),
    ("autoencoder", "W=W @ r @ x.T", False, "the path through W x alone"),
    ("autoencoder", "W=W @ x @ r.T", False, "the path through Wᵀ alone"),
    ("autoencoder", "W=2 * (W @ r @ x.T + W @ x @ r.T)", False, "a factor 2 from ‖·‖²"),
    ("autoencoder", "W=W @ x.T @ r", False, "transposes in the wrong place (shapes)"),
    ("autoencoder", "x=W.T @ W @ r - r", True, "both paths of x"),
    ("autoencoder", "x=(W.T @ W - eye(n)) @ r", True, "the identity sized by name"),
    ("autoencoder", "x=(W.T @ W - eye(3)) @ r", False, "right only when n = 3"),
    ("autoencoder", "x=W.T @ W @ r", False, "the direct path of x forgotten"),
    # GP-LVM, K = α X Xᵀ + β⁻¹ I
    ("gplvm-l1", "X=-alpha * D * inv(K) @ X", True, "−αD K⁻¹X"),
    ("gplvm-l1", "X=-D * inv(K) @ X", False, "α dropped: holds while α = 1"),
    ("gplvm-l1", "X=-2 * alpha * inv(K) @ X", False, "2 written for D: holds while D = 2"),
    ("gplvm-l1", "X=-Q * alpha * inv(K) @ X", False, "Q written for D: holds while Q = D"),
    ("gplvm-l1", "X=-alpha * D / 2 * inv(K) @ X", False, "the 2 of X Xᵀ forgotten"),
    ("gplvm-l1", "X=-(D / 2) * inv(K) @ X", False, "α and the 2 of X Xᵀ forgotten"),
    ("gplvm-l1", "X=-alpha * D * inv(K) @ X + beta / 2 * X", False, "a β term added"),
    ("gplvm-l2", "X=alpha * inv(K) @ Y @ Y.T @ inv(K) @ X", True, "α K⁻¹YYᵀK⁻¹X"),
    ("gplvm-l2", "X=0.5 * alpha * inv(K) @ Y @ Y.T @ inv(K) @ X", False, "½ kept"),
    ("gplvm-l2", "X=inv(K) @ Y @ Y.T @ inv(K) @ X", False, "α dropped"),
    ("gplvm-l2", "Y=-inv(K) @ Y", True, "−K⁻¹Y"),
    ("gplvm-l2", "Y=-inv(K).T @ Y", True, "K⁻ᵀ: the same, K is symmetric"),
    ("gplvm-l2", "Y=-0.5 * inv(K) @ Y", False, "½ kept: tr(K⁻¹YYᵀ) has Y twice"),
    ("gplvm", "X=alpha * (inv(K) @ Y @ Y.T @ inv(K) - D * inv(K)) @ X", True, "both terms"),
    ("gplvm", "X=alpha * inv(K) @ Y @ Y.T @ inv(K) @ X", False, "the log-determinant term forgotten"),
    # two-layer net with a Swish layer, one example as a column
    ("fcnet-swish", "W2=grad(z2) @ h1.T", True, "∂L/∂z₂ h₁ᵀ"),
    ("fcnet-swish", "z2=softmax(z2, axis=0) - onehot(z2, y, axis=0)", True, "softmax − onehot"),
    ("fcnet-swish", "z2=softmax(z2) - onehot(z2, y)", False, "softmax along the wrong axis"),
    ("fcnet-swish", "z1=grad(h1) * (sigmoid(z1) + h1 * (1 - sigmoid(z1)))", True, "swish′"),
    ("fcnet-swish", "z1=grad(h1) * (sigmoid(z1) + z1 * sigmoid(z1) * (1 - sigmoid(z1)))", True,
     "swish′ written with z₁"),
    ("fcnet-swish", "z1=grad(h1) * sigmoid(z1)", False, "σ′ taken for swish′"),
    ("fcnet-swish", "W2=h1 @ grad(z2).T", False, "the transpose (shapes)"),
    # batched two-layer ReLU net with an L2 penalty
    ("two-layer-net", "W2=H1.T @ grad(S) + reg * W2", True, "with the penalty"),
    ("two-layer-net", "W2=H1.T @ grad(S)", False, "the penalty forgotten"),
    ("two-layer-net", "W2=H1.T @ grad(S) + 0.1 * W2", False, "reg written as its default 0.1"),
    ("two-layer-net", "W2=H1.T @ grad(S) + 2 * reg * W2", False, "½ of the penalty forgotten"),
    ("two-layer-net", "b2=sum(grad(S), axis=0)", True, "summed over the batch"),
    ("two-layer-net", "b2=mean(grad(S), axis=0)", False, "averaged instead of summed"),
    ("two-layer-net", "W1=X.T @ (grad(H1) * step(Z1)) + reg * W1", True, "the ReLU mask"),
    ("two-layer-net", "W1=X.T @ grad(H1) + reg * W1", False, "the ReLU mask forgotten"),
    ("two-layer-net", "S=(softmax(S) - onehot(S, y)) / 4", False, "N written as its default 4"),
    ("two-layer-net", "S=(softmax(S) - onehot(S, y)) / N", True, "the batch size by name"),
]


@pytest.mark.parametrize("loss, claim, right, why", ANSWERS, ids=[f"{a[0]}: {a[3]}" for a in ANSWERS])
def test_student_answers(loss, claim, right, why):
    source = builtin_source(loss)
    wrt, text = claim.split("=", 1)
    result = check_claim(source.build(0), wrt, text, redraw=source.draw, sizes=source.sizes,
                         trials=4)
    assert result.ok == right, (why, result)
    if right:
        assert result.trials == 4 and result.max_rel_error < 1e-9


def test_pinned_settings_are_not_varied():
    # With α pinned to 1, dropping it is right: what the user fixed, the judge keeps.
    source = builtin_source("gplvm-l1", ["alpha=1.0"])
    result = check_claim(source.build(0), "X", "-D * inv(K) @ X", redraw=source.draw,
                         sizes=source.sizes, trials=4)
    assert result.ok and "alpha" not in result.varied and "D" in result.varied


def test_an_expressions_constants_vary():
    source = expression_source("alpha * sumsq(W)", ["W=2x2"], ["alpha=1"])
    wrong = check_claim(source.build(0), "W", "2 * W", redraw=source.draw, sizes=source.sizes)
    right = check_claim(source.build(0), "W", "2 * alpha * W", redraw=source.draw,
                        sizes=source.sizes)
    assert not wrong.ok and right.ok and "alpha" in right.varied


def test_the_python_api_varies_a_graphs_constants_and_puts_them_back():
    x = bp.param("x", np.array([1.0, 2.0]))
    g = bp.Graph(bp.const("beta", 1.0, label="β") * bp.sumsq(x))
    before = (g.value("x").copy(), g.value("beta"), g.loss)
    assert not bp.check_claim(g, "x", "2 * x").ok
    assert bp.check_claim(g, "x", "2 * beta * x").ok
    assert np.array_equal(g.value("x"), before[0]) and g.value("beta") == before[1]
    assert g.loss == before[2]


def test_a_claim_equal_to_its_own_gradient_is_flagged():
    g = losses.autoencoder()
    result = bp.check_claim(g, "W", "grad(W)")
    assert result.ok and "holds by definition" in result.warning
    assert bp.check_claim(g, "W", "W @ r @ x.T + W @ x @ r.T").warning is None


def test_nan_in_a_claim_is_a_failure():
    result = bp.check_claim(losses.autoencoder(), "W", "0 * log(0 * W)")
    assert not result.ok and "NaN or Inf" in result.error


@pytest.mark.parametrize("name", sorted(losses.BUILTINS))
def test_every_derived_result_holds_and_dropping_a_term_fails(name):
    source = builtin_source(name)
    g = source.build(0)
    deriv = derive(g, sizes=source.sizes)
    for leaf in g.leaves():
        term = deriv.node_expanded[leaf]
        result = check_claim(g, leaf, deriv.expr(term), redraw=source.draw, sizes=source.sizes)
        assert result.ok, (leaf, deriv.expr(term), result)
        for dropped in _without_one_summand(term):
            wrong = check_claim(g, leaf, deriv.expr(dropped), redraw=source.draw,
                                sizes=source.sizes)
            assert not wrong.ok, (leaf, deriv.expr(dropped))


def _without_one_summand(term):
    """The term with each top-level summand left out in turn (a + b − c → b − c, a − c, a + b)."""
    summands, signs = [], []

    def collect(t, sign):
        if isinstance(t, Apply) and t.op in ("add", "sub"):
            collect(t.args[0], sign)
            collect(t.args[1], sign if t.op == "add" else -sign)
        else:
            summands.append(t)
            signs.append(sign)

    collect(term, 1)
    if len(summands) < 2:
        return []
    variants = []
    for skip in range(len(summands)):
        kept = [(t, s) for i, (t, s) in enumerate(zip(summands, signs)) if i != skip]
        total = kept[0][0] if kept[0][1] > 0 else Apply("neg", (kept[0][0],))
        for t, s in kept[1:]:
            total = Apply("add" if s > 0 else "sub", (total, t))
        variants.append(total)
    return variants


def test_transposes_are_not_moved_onto_vectors():
    source = expression_source("sumsq(c * (a + B.T).T)", ["a=3", "B=3x3", "c=3x3"])
    g = source.build(0)
    deriv = derive(g)
    for leaf in ("a", "B", "c"):
        text = deriv.expr(deriv.node_expanded[leaf])
        assert check_claim(g, leaf, text, redraw=source.draw).ok, (leaf, text)
