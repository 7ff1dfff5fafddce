"""The package's layers: imports run one way, drawing stays optional, modules stay small."""

import ast
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "graphviz_bp"
DRAWING = {"graphviz_bp.quoting", "graphviz_bp.dot", "graphviz_bp.drawing", "graphviz_bp.folding",
           "graphviz_bp.figures", "graphviz_bp.cli", "graphviz_bp.heatmap", "graphviz_bp.tikz",
           "graphviz_bp.layered", "graphviz_bp.captions", "graphviz_bp.explorer"}
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> nx.DiGraph:
    """Module → the package's modules it imports, at the top or inside a function."""
    G = nx.DiGraph()
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        G.add_node(name, path=path, external=set())
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                G.nodes[name]["external"] |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                G.nodes[name]["external"].add(node.module.split(".")[0])
            elif isinstance(node, ast.ImportFrom):
                base = package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                target = f"{base}.{node.module}" if node.module else base
                for candidate in [target, *(f"{target}.{a.name}" for a in node.names)]:
                    relative = Path(*candidate.split("."))
                    if ((PACKAGE.parent / relative).with_suffix(".py").exists()
                            or (PACKAGE.parent / relative / "__init__.py").exists()):
                        if candidate != name:
                            G.add_edge(name, candidate)
    return G


def test_no_import_cycles():
    assert list(nx.simple_cycles(imports())) == []


@pytest.mark.parametrize("module", ["graphviz_bp.engine", "graphviz_bp.graph", "graphviz_bp.ops",
                                    "graphviz_bp.symbolic", "graphviz_bp.gradcheck",
                                    "graphviz_bp.claims", "graphviz_bp.report", "graphviz_bp.losses"])
def test_the_mathematics_imports_no_drawing(module):
    G = imports()
    below = nx.descendants(G, module) | {module}
    assert not below & DRAWING, below & DRAWING
    assert not any(G.nodes[m]["external"] & {"graphviz", "pygraphviz"} for m in below)


def test_only_the_drawing_modules_touch_graphviz():
    G = imports()
    touching = {m for m in G if G.nodes[m]["external"] & {"graphviz", "pygraphviz"}}
    assert touching <= {"graphviz_bp.quoting", "graphviz_bp.dot", "graphviz_bp.drawing"}, touching


def test_no_module_is_over_500_lines():
    lengths = {module_name(p): len(p.read_text(encoding="utf-8").splitlines())
               for p in PACKAGE.rglob("*.py")}
    assert {m: n for m, n in lengths.items() if n > MAX_LINES} == {}


def test_the_package_imports_and_computes_without_the_drawing_packages():
    # A finder that refuses graphviz and pygraphviz, as in an environment without them.
    script = """
import sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("graphviz", "pygraphviz"):
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, Refuse())
import numpy as np
import graphviz_bp as bp
from graphviz_bp import losses
x = bp.param("x", np.array([1.0, 2.0]))
g = bp.Graph(bp.sumsq(x))
assert g.grad("x").tolist() == [2.0, 4.0] and g._repr_svg_() is None
assert losses.autoencoder().nx.nodes["W"]["multipath"]
try:
    bp.render(g, "x.svg")
except bp.EngineNotFoundError as err:
    print("refused:", err)
assert "graphviz" not in sys.modules
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         cwd=PACKAGE.parent)
    assert run.returncode == 0, run.stderr
    assert "refused: drawing needs the graphviz package" in run.stdout
