"""-o fig.tex writes TikZ that compiles alone and inside a paper."""

import shutil
import subprocess

import pytest

from graphviz_bp import losses
from graphviz_bp.cli import main
from graphviz_bp.tikz import _math, to_tikz

LATEX = shutil.which("pdflatex") and subprocess.run(
    ["kpsewhich", "tikz.sty", "standalone.cls", "standalone.sty"], capture_output=True,
    text=True).stdout.count("\n") == 3


def compile_tex(folder, name: str) -> subprocess.CompletedProcess:
    return subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", name],
                          cwd=folder, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("text, latex", [
    ("(·)ᵀ", r"(\cdot)^{\top}"), ("‖·‖²", r"\|\cdot\|^{2}"), ("W₂", "W_{2}"),
    ("softmax-CE", r"\mathrm{softmax}-\mathrm{CE}"), ("log|·|", r"\log|\cdot|"),
    ("a_b", r"a\_b"), ("x{1}%", r"x\{1\}\%"),
])
def test_labels_are_latex_math(text, latex):
    assert _math(text).replace(" ", "") == latex.replace(" ", "")


def test_the_figure_names_every_node_and_edge():
    from graphviz_bp.captions import inlined

    g = losses.autoencoder()
    tex = to_tikz(g)
    inline = inlined(g.nx)
    for n in set(g.nx) - inline:  # TikZ names: letters, digits and hyphens
        assert f"(node-{n.replace('_', '-')})" in tex
    assert tex.count(r"\draw[") == sum(u not in inline for u, _ in g.nx.edges())
    assert "0.5 \\cdot" in tex  # ½ written inside the product that takes it
    assert r"\textcircled{1}" in tex and r"\textcircled{2}" in tex and "draw=multipathline" in tex


@pytest.mark.skipif(not LATEX, reason="pdflatex with TikZ and standalone is not installed")
@pytest.mark.parametrize("name", ["autoencoder", "gplvm", "two-layer-net", "conv-net"])
def test_it_compiles_alone_and_inside_a_paper(tmp_path, name):
    assert main(["render", name, "-o", str(tmp_path / "fig.tex")]) == 0
    done = compile_tex(tmp_path, "fig.tex")
    assert done.returncode == 0, done.stdout[-2000:]
    assert (tmp_path / "fig.pdf").read_bytes().startswith(b"%PDF")
    (tmp_path / "paper.tex").write_text(
        "\\documentclass{article}\n\\usepackage{tikz}\n\\usepackage{standalone}\n"
        "\\begin{document}\nA figure:\n\n\\input{fig.tex}\n\\end{document}\n")
    done = compile_tex(tmp_path, "paper.tex")
    assert done.returncode == 0, done.stdout[-2000:]
