"""The command line as a user runs it: output, exit codes, one-line errors."""

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from graphviz_bp import losses
from graphviz_bp.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "graphviz_bp", *args], capture_output=True,
                          text=True, cwd=cwd or ROOT)


def test_list_names_every_builtin_with_a_description(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(losses.BUILTINS)
    assert all(len(line.split(maxsplit=1)[1]) > 20 for line in lines)


def test_render_with_sizes_and_seed(tmp_path):
    out = tmp_path / "fc.svg"
    result = run("render", "fc_net", "--set", "hidden_dims=3,3,3", "--set", "N=2",
                 "--seed", "2", "-o", str(out))
    assert result.returncode == 0, result.stderr
    ids = {g.get("id") for g in ET.parse(out).getroot().iter("{http://www.w3.org/2000/svg}g")}
    assert {"node-W4", "node-b4", "node-H3"} <= ids and "node-W5" not in ids


def test_render_to_stdout_as_dot():
    result = run("render", "autoencoder", "-o", "-", "--format", "dot", "--show", "structure")
    assert result.returncode == 0 and result.stdout.startswith("digraph backprop {")
    assert result.stdout == __import__("graphviz_bp").to_dot(losses.autoencoder(), show="structure")


@pytest.mark.parametrize("args, message", [
    (["render", "autoencodr"], "unknown loss 'autoencodr'; did you mean 'autoencoder'?"),
    (["render", "autoencoder", "--set", "q=3"], "autoencoder has no size 'q' (it takes m, n)"),
    (["render", "autoencoder", "--set", "m"], "--set takes NAME=VALUE"),
    (["render", "autoencoder", "--set", "m=two"], "not a number: 'two'"),
    (["render", "autoencoder", "--set", "m=0"], "m must be a positive integer, got 0"),
    (["render", "autoencoder", "-o", "missing/x.svg"], "folder 'missing' does not exist"),
    (["render", "autoencoder", "-o", "x.txt"], "cannot tell the format from 'x.txt'"),
])
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, args, message):
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr and list(tmp_path.iterdir()) == []


def test_argparse_errors_exit_with_2(tmp_path):
    result = run("render", "autoencoder", "--format", "gif", cwd=tmp_path)
    assert result.returncode == 2 and "invalid choice" in result.stderr
    result = run("render", "autoencoder", "--show", "everything", cwd=tmp_path)
    assert result.returncode == 2 and "unknown show: 'everything'" in result.stderr


def test_figures_into_a_folder(tmp_path):
    result = run("figures", "--out", str(tmp_path / "figs"))
    assert result.returncode == 0, result.stderr
    from graphviz_bp.figures import GALLERY

    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == sorted(
        [f"{n}{v}.{s}" for n in losses.BUILTINS for v in ("", "-formulas") for s in ("gv", "svg")]
        + [f"{stem}.{s}" for stem in GALLERY for s in ("gv", "svg")])


def test_every_command_has_complete_help():
    for command in ("list", "render", "inspect", "check", "figures"):
        result = run(command, "--help")
        assert result.returncode == 0 and "usage: graphviz-bp " + command in result.stdout


def test_readme_and_ci_run_the_same_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [line.split("#")[0].strip() for line in readme.split("```sh", 1)[1].split("```")[0]
                .strip().splitlines()]
    assert len(commands) == 2 and "figures" in commands[0] and "pytest" in commands[1]
    assert commands[1] in (ROOT / ".ci" / "run").read_text().splitlines()


# ---------------------------------------------------------------- sources, inspect and check

import json  # noqa: E402

import numpy as np  # noqa: E402

LOSS_FILE = '''
import numpy as np
import graphviz_bp as bp

def quadratic(n=3, seed=0):
    rng = np.random.default_rng(seed)
    A = bp.const("A", np.diag(np.arange(1.0, n + 1)))
    x = bp.param("x", rng.normal(size=(n, 1)))
    return bp.Graph((0.5 * (x.T @ A @ x)).named("L"))

def as_expr(n=2):
    return bp.sumsq(bp.param("w", np.ones(n)))

def not_a_graph():
    return 42

def broken():
    raise RuntimeError("boom")
'''


@pytest.fixture
def loss_file(tmp_path):
    path = tmp_path / "my_losses.py"
    path.write_text(LOSS_FILE)
    return path


def inspect_json(*args, cwd=None):
    result = run("inspect", *args, "--json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


NODE_KEYS = {"id": str, "label": str, "kind": str, "op": (str, type(None)), "shape": list,
             "value": (list, float, int), "grad": (list, float, int, type(None)),
             "out_degree": int, "multipath": bool}
EDGE_KEYS = {"source": str, "target": str, "slot": int, "value": (list, float, int),
             "grad": (list, float, int, type(None)), "path": (int, type(None))}


def assert_inspect_schema(doc):
    assert set(doc) == {"source", "loss", "nodes", "edges", "nonfinite"}
    assert doc["nonfinite"] == {"forward": None, "backward": None}
    assert isinstance(doc["source"], str) and isinstance(doc["loss"], float)
    for node in doc["nodes"]:
        assert set(node) - {"formula"} == set(NODE_KEYS)
        assert ("formula" in node) == (node["grad"] is not None)
        for key, kinds in NODE_KEYS.items():
            assert isinstance(node[key], kinds), (key, node[key])
        assert node["kind"] in ("param", "input", "const", "op")
        assert np.shape(node["value"]) == tuple(node["shape"])
    for edge in doc["edges"]:
        assert set(edge) - {"formula"} == set(EDGE_KEYS)
        assert ("formula" in edge) == (edge["grad"] is not None)
        for key, kinds in EDGE_KEYS.items():
            assert isinstance(edge[key], kinds), (key, edge[key])


def test_inspect_json_of_the_autoencoder_matches_the_closed_form():
    doc = inspect_json("autoencoder", "--set", "m=3", "--set", "n=5", "--seed", "4")
    assert_inspect_schema(doc)
    nodes = {n["id"]: n for n in doc["nodes"]}
    W, x = np.array(nodes["W"]["value"]), np.array(nodes["x"]["value"])
    r = W.T @ W @ x - x
    np.testing.assert_allclose(nodes["W"]["grad"], W @ r @ x.T + W @ x @ r.T, rtol=1e-12)
    assert doc["loss"] == pytest.approx(0.5 * float(np.sum(r * r)), rel=1e-14)
    assert nodes["W"]["multipath"] and nodes["W"]["out_degree"] == 2
    contributions = [e["grad"] for e in doc["edges"] if e["source"] == "W"]
    np.testing.assert_allclose(sorted(np.ravel(sum(map(np.array, contributions)))),
                               sorted(np.ravel(nodes["W"]["grad"])), rtol=1e-14)
    assert {n["id"] for n in doc["nodes"]} >= {"W", "x", "r", "L"}


def test_inspect_json_of_the_gplvm_matches_the_closed_form():
    doc = inspect_json("gplvm")
    assert_inspect_schema(doc)
    nodes = {n["id"]: n for n in doc["nodes"]}
    X, Y, K = (np.array(nodes[k]["value"]) for k in "XYK")
    Kinv = np.linalg.inv(K)
    alpha, D = nodes["alpha"]["value"], nodes["D"]["value"]
    np.testing.assert_allclose(nodes["X"]["grad"], alpha * (Kinv @ Y @ Y.T @ Kinv - D * Kinv) @ X,
                               rtol=1e-10)
    assert nodes["y" if "y" in nodes else "D"]["grad"] is None


def test_inspect_json_keeps_full_precision_and_integer_labels():
    doc = inspect_json("two-layer-net")
    nodes = {n["id"]: n for n in doc["nodes"]}
    assert all(isinstance(v, int) for v in nodes["y"]["value"])
    g = losses.two_layer_net()
    assert np.array_equal(np.array(nodes["W1"]["grad"]), g.grad("W1"))  # bit for bit


def test_inspect_text_lists_nodes_and_multipath_contributions():
    result = run("inspect", "autoencoder")
    assert result.returncode == 0
    out = result.stdout
    assert "W reaches the loss along 2 edges: ∇W = ① + ②" in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("id "))
    assert [line.split()[0] for line in lines[header + 2:header + 11]] == list(losses.autoencoder().nx)


CHECK_KEYS = {"source", "ok", "checked", "per_leaf", "gradients", "ops", "composition",
              "first_failure", "claims", "nonfinite"}


@pytest.mark.parametrize("name", sorted(losses.BUILTINS))
def test_check_passes_every_builtin(name):
    result = run("check", name, "--json")
    assert result.returncode == 0, result.stdout
    doc = json.loads(result.stdout)
    assert set(doc) == CHECK_KEYS and doc["ok"] and doc["source"] == name
    assert doc["checked"] == len(doc["gradients"]) > 0
    for r in doc["gradients"]:
        assert set(r) == {"wrt", "shape", "method", "max_rel_error", "noise", "ok", "note", "reaches"}
        assert r["ok"] and r["max_rel_error"] < 1e-6 and r["method"] == "entries"
    assert doc["per_leaf"] and doc["first_failure"] is None
    assert doc["composition"]["ok"] and doc["composition"]["max_rel_error"] < 1e-6
    graph = json.loads(run("inspect", name, "--json").stdout)
    with_gradient = {n["id"] for n in graph["nodes"] if n["kind"] == "op" and n["grad"] is not None}
    assert {o["node"] for o in doc["ops"]} == with_gradient
    for o in doc["ops"]:
        assert o["ok"] and o["max_rel_error"] < 1e-6 and o["edges"], o


def test_check_judges_the_readme_claim_and_a_wrong_one():
    right = "W=W @ (W.T@W@x - x) @ x.T + W @ x @ (W.T@W@x - x).T"
    result = run("check", "autoencoder", "--claim", right, "--json")
    assert result.returncode == 0
    (claim,) = json.loads(result.stdout)["claims"]
    assert set(claim) == {"wrt", "expr", "ok", "trials", "max_rel_error", "reason", "varied",
                          "warning"}
    assert claim["ok"] and claim["trials"] == 3 and claim["reason"] is None
    assert claim["varied"] == ["W", "x", "m", "n"] and claim["warning"] is None
    wrong = run("check", "autoencoder", "--claim", right, "--claim", "W=W @ (W.T@W@x - x) @ x.T",
                "--trials", "5", "--json")
    assert wrong.returncode == 1
    doc = json.loads(wrong.stdout)
    assert not doc["ok"] and [c["ok"] for c in doc["claims"]] == [True, False]
    assert doc["claims"][0]["trials"] == 5


def test_check_reports_a_claim_of_the_wrong_shape():
    result = run("check", "fcnet-swish", "--claim", "W2=h1 @ grad(z2).T", "--json")
    assert result.returncode == 1
    (claim,) = json.loads(result.stdout)["claims"]
    assert claim["reason"] == "the claim has shape (4, 7) but ∇W2 has shape (7, 4)"
    assert claim["max_rel_error"] is None


@pytest.mark.parametrize("claim, reason", [
    ("V=W", "no node named 'V' in this loss"),
    ("W3=W", "no node named 'W3' in this loss; did you mean 'W'?"),
    ("W=W @ r @ x.T + (W @ x @ r.T).T", "cannot evaluate the claim: W @ r @ x.T + (W @ x @ r.T).T: "
                                         "shapes (2, 3) and (3, 2) do not broadcast"),
    ("W=W @ q", "unknown name 'q'"),
    ("W=sigma(W)", "did you mean 'sigmoid'?"),
    ("W=0 * log(0 * W)", "NaN or Inf"),
])
def test_a_claim_that_cannot_be_evaluated_fails_and_the_rest_is_reported(claim, reason):
    result = run("check", "autoencoder", "--claim", claim, "--claim", "x=(W.T @ W - eye(n)) @ r",
                 "--json")
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    first, second = doc["claims"]
    assert not first["ok"] and reason in first["reason"], first["reason"]
    assert second["ok"] and all(r["ok"] for r in doc["gradients"])


def test_check_text_report():
    result = run("check", "fcnet-swish", "--claim", "W2=grad(z2) @ h1.T")
    assert result.returncode == 0
    assert "∇W2 = grad(z2) @ h1.T" in result.stdout and "holds" in result.stdout
    assert result.stdout.strip().endswith("all checks pass")


def test_expression_source_with_vars_consts_and_labels(tmp_path):
    doc = inspect_json("--expr", "softmax_ce(W @ x, y, axis=0) + lam * sumsq(W)",
                       "--var", "W=4x3", "--var", "x=3x1", "--const", "lam=0.1", "--labels", "y=2")
    assert_inspect_schema(doc)
    nodes = {n["id"]: n for n in doc["nodes"]}
    assert nodes["y"]["value"] == 2 and nodes["lam"]["value"] == 0.1 and nodes["W"]["multipath"]
    result = run("check", "--expr", "logdet(K) + sum(log(p))", "--var", "K=3x3:spd",
                 "--var", "p=4:positive", "--claim", "K=inv(K).T", "--claim", "p=1 / p")
    assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path / "expr.svg"
    assert run("render", "--expr", "0.5 * sumsq(W.T @ W @ x - x)", "--var", "W=2x3",
               "--var", "x=3x1", "-o", str(out)).returncode == 0
    assert 'class="node leaf param multipath"' in out.read_text()


def test_file_source(loss_file, tmp_path):
    spec = f"{loss_file}:quadratic"
    doc = inspect_json(spec, "--set", "n=4")
    nodes = {n["id"]: n for n in doc["nodes"]}
    A, x = np.array(nodes["A"]["value"]), np.array(nodes["x"]["value"])
    np.testing.assert_allclose(nodes["x"]["grad"], A @ x, rtol=1e-14)
    result = run("check", spec, "--claim", "x=A @ x", "--claim", "x=2 * A @ x", "--json")
    assert result.returncode == 1
    assert [c["ok"] for c in json.loads(result.stdout)["claims"]] == [True, False]
    assert run("render", f"{loss_file}:as_expr", "-o", str(tmp_path / "f.svg")).returncode == 0


@pytest.mark.parametrize("args, message", [
    (["inspect", "gplvm_l3"], "unknown loss 'gplvm_l3'; did you mean 'gplvm-l2'?"),
    (["check", "--expr", "0.5 * sumsq(W @ x"], "malformed expression"),
    (["check", "--expr", "sumsq(W @ q)", "--var", "W=2x3"], "unknown name 'q'"),
    (["inspect", "--expr", "sumsq(W @ x)", "--var", "W=2x3", "--var", "x=2x1"],
     "W @ x: shapes (2, 3) and (2, 1) do not fit"),
    (["inspect", "--expr", "sumsq(W)", "--var", "W=100000x100000"], "more than the limit"),
    (["inspect", "--expr", "sumsq(W)", "--var", "W=2y3"], "shape must look like 2x3"),
    (["inspect", "--expr", "sumsq(W)", "--var", "W=2x3", "--var", "W=3"], "'W' is declared twice"),
    (["inspect", "--expr", "W.__class__", "--var", "W=2"], "only .T is allowed"),
    (["inspect", "autoencoder", "--set", "m=2.5"], "m must be a positive integer"),
    (["inspect", "autoencoder", "--expr", "sumsq(W)"], "either a SOURCE or --expr"),
    (["inspect"], "no loss given"),
    (["check", "autoencoder", "--claim", "W"], "--claim: a claim is NAME=EXPR"),
    (["check", "autoencoder", "--trials", "0", "--claim", "W=W"], "--trials must be at least 1"),
    (["inspect", "missing.py:f"], "no such file: 'missing.py'"),
])
def test_bad_input_of_inspect_and_check(tmp_path, args, message):
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize("function, message", [
    ("not_a_graph", "returned a int, not a graph"),
    ("broken", "RuntimeError: boom"),
    ("missing", "has no function 'missing'"),
])
def test_bad_file_functions(loss_file, tmp_path, function, message):
    out = tmp_path / "out.svg"
    result = run("render", f"{loss_file}:{function}", "-o", str(out))
    assert result.returncode == 2 and message in result.stderr and result.stderr.count("\n") == 1
    assert not out.exists()


def test_render_json_is_the_inspect_document(tmp_path):
    out = tmp_path / "ae.json"
    assert run("render", "autoencoder", "-o", str(out)).returncode == 0
    assert json.loads(out.read_text()) == inspect_json("autoencoder")
    piped = run("render", "autoencoder", "--format", "json", "-o", "-")
    assert json.loads(piped.stdout) == inspect_json("autoencoder")
