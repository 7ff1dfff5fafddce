"""Verdicts a student can trust: real answers to the course problems, judged at draws that
vary every size, constant and value a formula could wrongly depend on.

Each row: the loss, the claimed gradient as a student wrote it, whether it is right, and
what it shows. A wrong answer must fail; a right one must hold at every draw.
"""

import numpy as np
import pytest

import graphviz_bp as bp
import graphviz_bp.claims
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


# ---------------------------------------------------------------- draws of files and graphs

def file_source_of(tmp_path, body):
    from graphviz_bp.sources import file_source

    path = tmp_path / "loss.py"
    path.write_text("import numpy as np\nimport graphviz_bp as bp\n" + body)
    return lambda name: file_source(f"{path}:{name}")


def judged(source, claim, trials=3):
    wrt, text = claim.split("=", 1)
    g = source.build(0)
    return bp.check_claim(g, wrt, text, trials=trials)  # the graph carries its redraws


def test_a_function_that_ignores_its_seed_is_still_redrawn(tmp_path):
    load = file_source_of(tmp_path, (
        "x = bp.param('x', np.ones(3))\n"
        "W = bp.param('W', np.arange(6.0).reshape(2, 3))\n"
        "def loss(seed=0):\n"
        "    return bp.sumsq(W @ x)\n"))
    result = judged(load("loss"), "x=2*W.T@W@x*x")  # right only where x is all ones
    assert not result.ok and {"W", "x"} <= set(result.varied)
    assert judged(load("loss"), "x=2*W.T@W@x").ok


def test_a_refused_size_is_put_back_and_the_others_still_vary(tmp_path):
    load = file_source_of(tmp_path, (
        "def net(N=4, D=3, C=3, layers=1, seed=0):\n"
        "    if layers != 1:\n"
        "        raise ValueError('only one layer')\n"
        "    rng = np.random.default_rng(seed)\n"
        "    X = bp.data('X', rng.normal(size=(N, D)))\n"
        "    W = bp.param('W', rng.normal(size=(D, C)))\n"
        "    y = bp.const('y', rng.integers(C, size=N))\n"
        "    return bp.softmax_ce((X @ W).named('S'), y)\n"))
    wrong = judged(load("net"), "W=X.T @ (softmax(S) - onehot(S, y)) / 4")
    right = judged(load("net"), "W=X.T @ (softmax(S) - onehot(S, y)) / N")
    assert not wrong.ok and right.ok and "N" in right.varied and "layers" not in right.varied


def test_a_constant_made_from_a_setting_is_varied_once(tmp_path):
    load = file_source_of(tmp_path, (
        "def scaled(n=3, alpha=1.0, seed=0):\n"
        "    x = bp.param('x', np.random.default_rng(seed).normal(size=n))\n"
        "    return bp.Graph(bp.const('a', alpha) * bp.sumsq(x))\n"))
    result = judged(load("scaled"), "x=2*alpha*x")
    assert result.ok and "alpha" in result.varied and "a" not in result.varied


@pytest.mark.parametrize("value, loss, right, wrong", [
    ([0.1, 0.2, -0.3], lambda x: bp.sum(bp.sqrt(1 - x * x)), "-x/sqrt(1-x*x)", "x/sqrt(1-x*x)"),
    ([0.2, 0.7, 0.9], lambda p: bp.sum(bp.sqrt(p * (1 - p))), "(1-2*p)/(2*sqrt(p*(1-p)))",
     "(1-2*p)/sqrt(p*(1-p))"),
])
def test_draws_stay_inside_the_losss_domain(value, loss, right, wrong):
    name = "x" if "x" in right else "p"
    g = bp.Graph(loss(bp.param(name, np.array(value))))
    ok = bp.check_claim(g, name, right)
    assert ok.ok and ok.trials == 3 and ok.varied == (name,)
    assert not bp.check_claim(g, name, wrong).ok


def test_the_python_api_knows_a_builtins_sizes():
    g = losses.two_layer_net()
    assert not bp.check_claim(g, "W2", "H1.T @ (softmax(S) - onehot(S, y)) / 4 + reg * W2").ok
    assert bp.check_claim(g, "W2", "H1.T @ (softmax(S) - onehot(S, y)) / N + reg * W2").ok
    assert not bp.check_claim(losses.autoencoder(), "x", "(W.T @ W - eye(3)) @ r").ok
    pinned = losses.gplvm_l1(alpha=1.0)  # given by the caller: kept
    result = bp.check_claim(pinned, "X", "-D * inv(K) @ X")
    assert result.ok and "alpha" not in result.varied


def test_every_formula_of_inspect_holds_at_other_sizes(tmp_path):
    from graphviz_bp.report import inspect_data

    for name in ("two-layer-net", "gplvm-l2", "fc-net"):
        g = builtin_source(name).build(0)
        doc = inspect_data(g, name)
        for node in doc["nodes"]:
            if node["grad"] is not None and node["kind"] != "const":
                result = bp.check_claim(g, node["id"], node["formula"], trials=3)
                assert result.ok, (name, node["id"], node["formula"], result)


def test_counts_that_no_one_size_is_are_written_as_counts(tmp_path):
    load = file_source_of(tmp_path, (
        "def m6(N=2, C=3, K=6, seed=0):\n"
        "    rng = np.random.default_rng(seed)\n"
        "    Z = bp.param('Z', rng.normal(size=(N, C)))\n"
        "    V = bp.param('V', rng.normal(size=K))\n"
        "    return bp.mean(Z * Z) + bp.sum(V)\n"))
    source = load("m6")
    g = source.build(0)
    deriv = derive(g)
    text = deriv.expr(deriv.node_expanded["Z"])
    assert "K" not in text and "size(" in text  # N·C = 6 = K by chance: not K
    assert bp.check_claim(g, "Z", text).ok


@pytest.mark.parametrize("name", sorted(losses.BUILTINS))
def test_every_result_of_derive_pasted_as_printed_holds_and_without_a_term_fails(name):
    from graphviz_bp.derivation import write
    from graphviz_bp.printing import to_text

    source = builtin_source(name)
    g = source.build(0)
    text = write(g, name, sizes=source.sizes)
    results = text.split("Result, written out\n")[1].strip().splitlines()
    assert len(results) == len(g.leaves())
    deriv = derive(g, sizes=source.sizes)
    for line in results:  # "∇W₂ = (softmax(z₂, axis=0) − onehot(z₂, y, axis=0)) h₁ᵀ"
        wrt, claim = bp.claims.parse_claim(line)
        assert bp.check_claim(g, wrt, claim, trials=4).ok, line
        for dropped in _without_one_summand(deriv.node_expanded[bp.claims.target(g, wrt)]):
            printed = to_text(dropped, deriv.labels, deriv.facts.scalars)
            assert not bp.check_claim(g, wrt, printed).ok, (line, printed)


def test_a_pinned_size_does_not_freeze_a_constant_of_the_same_value(tmp_path):
    file_source_of(tmp_path, (  # writes loss.py
        "def f(n=3, seed=0):\n"
        "    x = bp.param('x', np.random.default_rng(seed).normal(size=(n, 1)))\n"
        "    return bp.const('c', 3.0) * bp.sumsq(x)\n"))
    from graphviz_bp.sources import file_source

    source = file_source(str(tmp_path / "loss.py") + ":f", ["n=3"])
    assert not judged(source, "x=6*x", trials=6).ok
    assert not judged(source, "x=2*n*x", trials=6).ok
    assert judged(source, "x=2*c*x", trials=6).ok


def test_integer_constants_vary_but_labels_do_not():
    x = bp.param("x", np.array([1.0, 2.0]))
    g = bp.Graph(bp.const("k", 3) * bp.sumsq(x))
    assert not bp.check_claim(g, "x", "6 * x").ok and bp.check_claim(g, "x", "2 * k * x").ok
    g = losses.fcnet_swish()
    result = bp.check_claim(g, "b2", "softmax(z2, axis=0) - onehot(z2, y, axis=0)")
    assert result.ok and "y" not in result.varied


def test_a_gradient_that_is_zero_but_for_rounding_can_be_claimed():
    source = expression_source("log(sum(exp(z + t))) - t", ["z=4", "t=scalar"])
    g = source.build(0)
    assert bp.check_claim(g, "t", "0*t", redraw=source.draw).ok
    assert not bp.check_claim(g, "t", "1 + 0*t", redraw=source.draw).ok


@pytest.mark.parametrize("claim, ok", [
    ("Y=2 A (B ⊙ E)", True), ("Y=A (2 B ⊙ E)", True), ("Y=(2 A B) ⊙ E", False),
    ("Y=A 2 B ⊙ E", False),  # ambiguous: refused, never guessed
])
def test_a_number_inside_a_printed_product_is_never_guessed(claim, ok):
    source = expression_source("2*sum(Y*(A@(B*E)))", ["Y=3x3", "A=3x3", "B=3x3", "E=3x3"])
    assert judged(source, claim).ok == ok


def test_ascii_results_written_by_juxtaposition_paste_back():
    source = expression_source("c*sumsq(x)", ["x=3"], ["c=2"])
    assert judged(source, "x=2 c x").ok and not judged(source, "x=2 x").ok


def test_targets_as_derive_prints_them():
    g = losses.gplvm()
    result = bp.check_claim(g, "K⁻¹", "−½ Y Yᵀ")
    assert result.ok and result.wrt == "Kinv"
    assert not bp.check_claim(g, "K⁻¹", "−Y Yᵀ").ok
    flagged = bp.check_claim(losses.autoencoder(), "W", "∂L/∂W")
    assert flagged.ok and "holds by definition" in flagged.warning
