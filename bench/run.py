"""Benchmark graphviz-bp side by side with what a user would pick instead, in one run.

    python bench/run.py            # the full table (a few minutes)
    python bench/run.py --quick    # fewer repetitions
    python bench/run.py --only passes --only memory   # some sections only

Every time is a median of repeated runs after a warm-up; forward + backward times are
taken in turns, so that a shared machine's drift touches every column alike. Ratios are
against the fastest in the row's group. Peers that are not installed (PyTorch, JAX,
torchviz) are said to be missing, never required. Before timing, each peer's gradients
are checked to equal graphviz-bp's, so every row times the same computation.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from graphviz_bp import check as bp_check, check_gradients, losses  # noqa: E402
from graphviz_bp.ops import OPS  # noqa: E402
from graphviz_bp.dot import to_dot  # noqa: E402
from graphviz_bp.drawing import draw  # noqa: E402
from peers import NUMPY, jax_losses, torch_losses  # noqa: E402

SIZES = {
    "autoencoder": [dict(m=2, n=3), dict(m=256, n=1024)],
    "gplvm": [dict(N=3, Q=2, D=2), dict(N=500, Q=10, D=50)],
    "two-layer-net": [dict(N=4, D=3, H=5, C=3), dict(N=500, D=3072, H=100, C=10)],
    "fcnet-swish": [dict(D=3, H=4, C=7)],
}


def median_time(fn, repeat: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_medians(runs: dict, repeat: int, rounds: int = 5) -> dict:
    """Median time of each of ``runs`` (name -> function), measured in turns.

    Each round times every function ``repeat // rounds`` times in a row, after one call
    that is not timed (it brings the function's arrays back into cache). Taking turns
    spreads the drift of a shared machine over every column alike.
    """
    times = {name: [] for name in runs}
    batch = max(1, repeat // rounds)
    for _ in range(rounds):
        for name, fn in runs.items():
            fn()
            for _ in range(batch):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def same_gradients(g, run) -> None:
    _, grads = run()
    for name, value in grads.items():
        value = value.detach().numpy() if hasattr(value, "detach") else value
        np.testing.assert_allclose(value, g.grad(name), rtol=1e-7, atol=1e-10, err_msg=name)


def forward_backward(quick: bool) -> None:
    torch, jax = torch_losses(), jax_losses()
    columns = ["graphviz-bp", "numpy by hand", "PyTorch eager", "JAX grad", "JAX jit(grad)"]
    rows = []
    for name, sizes in SIZES.items():
        for size in sizes:
            g = losses.BUILTINS[name](**size)
            large = g.nx.nodes[g.leaves()[0]]["value"].size > 10_000
            repeat = (5 if quick else 15) if large else (200 if quick else 2000)
            peers = {"numpy by hand": NUMPY[name](g)}
            if name in torch:
                peers["PyTorch eager"] = torch[name](g)
            if name in jax:
                peers["JAX jit(grad)"] = jax[name](g, jit=True)
            for run in peers.values():
                same_gradients(g, run)
            timed = interleaved_medians({"graphviz-bp": g.evaluate, **peers}, repeat)
            if name in jax:  # tracing on every call: hundreds of times slower, timed apart
                unjitted = jax[name](g, jit=False)
                same_gradients(g, unjitted)
                timed["JAX grad"] = median_time(unjitted, max(3, repeat // 10))
            fastest = min(timed.values())
            cells = [f"{fmt(timed[c])} ({timed[c] / fastest:.2f}×)" if c in timed else "not installed"
                     for c in columns]
            label = ", ".join(f"{k}={v}" for k, v in size.items())
            rows.append([name, label, *cells])
    table("Forward + backward, every gradient the graph has (median; ratio to the fastest; "
          "PyTorch and JAX on the CPU in float64)", ["loss", "sizes", *columns], rows)


def memory(quick: bool) -> None:
    g = losses.two_layer_net(N=500, D=3072, H=100, C=10)
    by_hand = NUMPY["two-layer-net"](g)
    peaks = {}
    for label, fn in (("graphviz-bp", g.evaluate), ("numpy by hand", by_hand)):
        fn()
        tracemalloc.start()
        fn()
        peaks[label] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    rows = [[k, f"{v / 2**20:.1f} MiB", f"{v / peaks['numpy by hand']:.2f}×"] for k, v in peaks.items()]
    table("Peak memory of one forward + backward, two-layer net N=500 D=3072 H=100 C=10 "
          "(tracemalloc; the inputs themselves are not counted)", ["", "peak", "ratio"], rows)


def unfoldable_terms(n: int):
    """Σᵢ ‖tanh(wᵢ)‖² with wᵢ of 1 to 97 entries: no run of alike levels to fold."""
    from graphviz_bp import Graph, param, sumsq, tanh

    rng = np.random.default_rng(0)
    total = None
    for i in range(n):
        term = sumsq(tanh(param(f"w_{i:04d}_", rng.normal(size=i % 97 + 1))))
        total = term if total is None else total + term
    return Graph(total)


def figures(quick: bool) -> None:
    rows = []
    cases = [(n, f, {}) for n, f in losses.BUILTINS.items()]
    cases += [(f"fc-net, {k} hidden layers", losses.fc_net, {"hidden_dims": [4] * k})
              for k in (10, 50, 200)]
    cases += [("3,000 terms, nothing alike to fold", unfoldable_terms, {"n": 3000})]
    for label, build, size in cases:
        g = build(**size)
        repeat = 1 if g.nx.number_of_nodes() > 300 else (3 if quick else 5)
        source = to_dot(g)
        build_time = median_time(lambda: to_dot(g), repeat, warmup=1)
        layout = median_time(lambda: draw(source, "svg"), repeat, warmup=1)
        rows.append([label, str(g.nx.number_of_nodes()), fmt(build_time), fmt(layout),
                     fmt(build_time + layout)])
    table("Figures: building the DOT, and laying out and drawing the SVG (bundled Graphviz)",
          ["loss", "nodes", "DOT", "layout + SVG", "total"], rows)
    try:
        import torch
        from torchviz import make_dot
    except ImportError:
        print("\ntorchviz: not installed (pip install torchviz to compare make_dot).")
        return
    rows = []
    W = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    x = torch.randn(3, 1, dtype=torch.float64, requires_grad=True)
    r = W.T @ (W @ x) - x
    rows.append(["autoencoder", median_time(lambda: make_dot(0.5 * (r * r).sum()).pipe(format="svg"),
                                            3, warmup=1)])
    for depth in (10, 50, 200):
        X = torch.randn(4, 3, dtype=torch.float64)
        weights = [torch.randn(a, b, dtype=torch.float64, requires_grad=True)
                   for a, b in zip([3] + [4] * depth, [4] * depth + [3])]
        out = X
        for i, w in enumerate(weights):
            out = out @ w
            out = torch.relu(out) if i < depth else out
        loss = torch.nn.functional.cross_entropy(out, torch.tensor([0, 1, 2, 0])) + \
            0.05 * sum((w * w).sum() for w in weights)
        rows.append([f"fc-net, {depth} hidden layers", median_time(
            lambda: make_dot(loss).pipe(format="svg"), 1, warmup=0)])
    table("torchviz make_dot on the same networks in PyTorch, drawn by the system dot "
          "(its figure shows the ops, no values or gradients)",
          ["loss", "make_dot + dot"], [[name, fmt(t)] for name, t in rows])


def gradient_checks(quick: bool) -> None:
    rows = []
    for name, size in [("autoencoder", SIZES["autoencoder"][1]), ("gplvm", SIZES["gplvm"][1]),
                       ("two-layer-net", SIZES["two-layer-net"][1])]:
        g = losses.BUILTINS[name](**size)
        start = time.perf_counter()
        results = check_gradients(g)
        elapsed = time.perf_counter() - start
        worst = max(r.max_rel_error for r in results)
        rows.append([name, fmt(elapsed), f"{worst:.1e}", "all pass" if all(r.ok for r in results) else "FAIL"])
    table("Checking every leaf of the large sizes against finite differences",
          ["loss", "time", "worst relative error", "verdict"], rows)
    planted_wrong_vjp()
    torch_gradcheck()
    jax_check_grads()


def _forward_backward_time(g, repeat: int) -> float:
    return median_time(g.evaluate, repeat, warmup=2)


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def scaling(quick: bool) -> None:
    """Checks that scale with depth: bp.check (every op alone + the composition) against
    the leaf-by-leaf check of every entry, as multiples of one forward + backward."""
    depths = (10, 50, 100, 200, 400)
    rows, ratios = [], {}
    jax_fc_check(losses.fc_net(hidden_dims=[4]), 1.0)  # JAX's start-up is not a check's cost
    for depth in depths:
        g = losses.fc_net(hidden_dims=[4] * depth)
        once = _forward_backward_time(g, 5 if quick else 20)
        checked, t_ops = _timed(lambda: bp_check(g))
        assert checked.ok, f"fc-net {depth}: a right gradient failed"
        per_leaf = "not run (quadratic in depth)" if depth > 200 else "not run (--quick)"
        if not (quick and depth > 100) and depth <= 200:
            results, t_leaf = _timed(lambda: check_gradients(g))
            per_leaf = f"{fmt(t_leaf)} ({t_leaf / once:.0f}×)"
        ratios[depth] = t_ops / once
        rows.append([str(depth), str(len(checked.ops)), fmt(once), f"{fmt(t_ops)} ({t_ops / once:.0f}×)",
                     per_leaf, jax_fc_check(g, once)])
    table("Checking fc-net by depth: each op alone + the composition (bp.check), every leaf "
          "entry by entry against the whole loss (check_gradients), and JAX's check_grads "
          "(one random direction, compilation included); × one forward + backward of graphviz-bp",
          ["hidden layers", "ops checked", "forward + backward", "bp.check", "leaf by leaf",
           "jax check_grads"], rows)
    linear = ratios[400] / ratios[200]
    target("fc-net with 200 hidden layers checked in at most 150× one forward + backward",
           ratios[200] <= 150, f"{ratios[200]:.0f}×")
    target("400 layers scale linearly (ratio to one pass within 1.5× of 200 layers')",
           linear <= 1.5, f"{ratios[400]:.0f}× vs {ratios[200]:.0f}×")

    g = losses.two_layer_net(N=500, D=3072, H=100, C=10)
    once = _forward_backward_time(g, 5 if quick else 15)
    checked, t = _timed(lambda: bp_check(g))
    target("the CIFAR-size two-layer net's full check at most 50× one forward + backward",
           checked.ok and t / once <= 50, f"{fmt(t)} = {t / once:.0f}× of {fmt(once)}")
    caught = planted_relu_check()
    target("... still catching the planted × 2.001 ReLU VJP", caught[0], caught[1])

    failing = planted_layer_7()
    target("a planted wrong VJP in layer 7 of a 20-layer net of user ops is the only failing op",
           failing == ["h7"], f"failing ops: {failing}")


def jax_fc_check(g, once: float) -> str:
    """jax.test_util.check_grads on the same fc-net: what a JAX user would run instead."""
    try:
        import jax
        import jax.numpy as jnp
        from jax.test_util import check_grads
    except ImportError:
        return "not installed"
    jax.config.update("jax_enable_x64", True)
    layers = sum(1 for n in g.leaves("param") if n.startswith("W"))
    names = [f"{p}{i}" for i in range(1, layers + 1) for p in "Wb"]
    params = [jnp.asarray(g.value(n)) for n in names]
    X, y, reg = jnp.asarray(g.value("X")), np.asarray(g.value("y")), float(g.value("reg"))

    def loss(*flat):
        out = X
        for i in range(layers):
            out = out @ flat[2 * i] + flat[2 * i + 1]
            if i < layers - 1:
                out = jnp.maximum(out, 0)
        logp = jax.nn.log_softmax(out, axis=1)
        penalty = sum(jnp.sum(flat[2 * i] ** 2) for i in range(layers))
        return -jnp.mean(logp[np.arange(len(y)), y]) + 0.5 * reg * penalty

    start = time.perf_counter()
    try:
        check_grads(loss, params, order=1, modes=["rev"])
        verdict = "passed"
    except AssertionError:
        verdict = "failed a right gradient"
    t = time.perf_counter() - start
    return f"{fmt(t)} ({t / once:.0f}×), {verdict}"


def target(text: str, met: bool, measured: str) -> None:
    print(f"- {'met' if met else 'MISSED'}: {text}: {measured}")


def planted_relu_check() -> tuple[bool, str]:
    import dataclasses

    op = OPS["relu"]
    right = op.vjp[0]
    OPS["relu"] = dataclasses.replace(op, vjp=(lambda g, out, a: 2.001 * right(g, out, a),))
    try:
        g = losses.two_layer_net(N=500, D=3072, H=100, C=10)
    finally:
        OPS["relu"] = op
    checked = bp_check(g)
    first = checked.first_failure()
    named = first is not None and first[0].op == "relu"
    return (not checked.ok and named,
            f"first failing op {first[0].node} ({first[0].op}), error {first[1].max_rel_error:.1e}"
            if first else "not caught")


def planted_layer_7() -> list[str]:
    from graphviz_bp import custom_op, data, param, sumsq

    affine = custom_op("bench_affine", lambda x, W, b: x @ W + b,
                       lambda g, out, x, W, b: (g @ W.T, x.T @ g, g.sum(axis=0)))
    leaky = custom_op("bench_leaky", lambda x: np.where(x > 0, x, 0.1 * x),
                      lambda g, out, x: g * np.where(x > 0, 1.0, 0.1), kinks=lambda x: x > 0)
    wrong = custom_op("bench_leaky_wrong", lambda x: np.where(x > 0, x, 0.1 * x),
                      lambda g, out, x: g * np.where(x > 0, 1.0, 0.11), kinks=lambda x: x > 0)
    rng = np.random.default_rng(0)
    h = data("X", rng.normal(size=(8, 16)))
    for i in range(1, 21):
        W = param(f"W{i}", rng.normal(size=(16, 16)) / 4)
        b = param(f"b{i}", rng.normal(size=16) * 0.1)
        h = (wrong if i == 7 else leaky)(affine(h, W, b).named(f"z{i}")).named(f"h{i}")
    from graphviz_bp import Graph

    return [o.node for o in bp_check(Graph(sumsq(h))).failing_ops]


def planted_wrong_vjp() -> None:
    import dataclasses

    op = OPS["relu"]
    right = op.vjp[0]
    OPS["relu"] = dataclasses.replace(op, vjp=(lambda g, out, a: 2.001 * right(g, out, a),))
    try:
        g = losses.two_layer_net(N=500, D=3072, H=100, C=10)
        results = {r.wrt: r for r in check_gradients(g, ["W1", "b1"])}
    finally:
        OPS["relu"] = op
    print("\nA planted wrong ReLU VJP (× 2.001) at the large size: "
          + ", ".join(f"∇{k} {'caught' if not r.ok else 'MISSED'} (error {r.max_rel_error:.1e})"
                      for k, r in results.items()))


def torch_gradcheck() -> None:
    try:
        import torch
    except ImportError:
        print("\ntorch.autograd.gradcheck: PyTorch not installed.")
        return
    g = losses.two_layer_net(N=500, D=3072, H=100, C=10)
    names = ["W1", "b1", "W2", "b2"]
    tensors = [torch.tensor(np.array(g.value(n)), requires_grad=True) for n in names]
    X, y = torch.tensor(g.value("X")), torch.tensor(g.value("y"))

    def loss(W1, b1, W2, b2):
        S = torch.relu(X @ W1 + b1) @ W2 + b2
        return torch.nn.functional.cross_entropy(S, y) + 0.05 * ((W1 * W1).sum() + (W2 * W2).sum())

    start = time.perf_counter()
    ok = torch.autograd.gradcheck(loss, tensors, fast_mode=True, eps=1e-6, atol=1e-5, rtol=1e-3)
    print(f"\ntorch.autograd.gradcheck(fast_mode=True) on the large two-layer net's parameters: "
          f"{fmt(time.perf_counter() - start)}, passed={ok} (its full mode, one difference per "
          f"entry of 307,200 + … parameters, is out of reach)")


def jax_check_grads() -> None:
    try:
        import jax
        import jax.numpy as jnp
        from jax.test_util import check_grads
    except ImportError:
        print("\njax.test_util.check_grads: JAX not installed.")
        return
    jax.config.update("jax_enable_x64", True)
    g = losses.two_layer_net(N=500, D=3072, H=100, C=10)
    X, y = jnp.asarray(g.value("X")), np.asarray(g.value("y"))
    params = [jnp.asarray(g.value(n)) for n in ("W1", "b1", "W2", "b2")]

    def loss(W1, b1, W2, b2):
        S = jnp.maximum(X @ W1 + b1, 0) @ W2 + b2
        logp = jax.nn.log_softmax(S, axis=1)
        return -jnp.mean(logp[np.arange(len(y)), y]) + 0.05 * (jnp.sum(W1 * W1) + jnp.sum(W2 * W2))

    start = time.perf_counter()
    try:
        check_grads(loss, params, order=1, modes=["rev"])
        verdict = "passed"
    except AssertionError as err:  # its steps cross ReLU kinks: a right gradient fails
        detail = [line for line in str(err).splitlines() if "relative difference" in line]
        verdict = f"FAILED a right gradient ({detail[0].strip() if detail else 'mismatch'})"
    print(f"\njax.test_util.check_grads(order=1, modes=['rev']) on the same parameters: "
          f"{fmt(time.perf_counter() - start)}, {verdict}")


def whole_command(quick: bool) -> None:
    out = "/tmp/graphviz-bp-bench.svg"
    command = [sys.executable, "-m", "graphviz_bp", "render", "autoencoder", "-o", out]
    t = median_time(lambda: subprocess.run(command, check=True, capture_output=True,
                                           cwd=HERE.parent), 3 if quick else 7, warmup=1)
    imports = median_time(lambda: subprocess.run([sys.executable, "-c", "import numpy, networkx"],
                                                 check=True), 3 if quick else 7, warmup=1)
    rows = [["graphviz-bp render autoencoder -o x.svg", fmt(t)],
            ["python -c 'import numpy, networkx' (the floor of any command)", fmt(imports)]]
    try:
        import torch  # noqa: F401
        torch_import = median_time(lambda: subprocess.run([sys.executable, "-c", "import torch"],
                                                          check=True), 3, warmup=1)
        rows.append(["python -c 'import torch' (before a torchviz script draws anything)",
                     fmt(torch_import)])
    except ImportError:
        pass
    table("Whole commands as processes (start-up included)", ["command", "median"], rows)


SECTIONS = {"passes": forward_backward, "memory": memory, "figures": figures,
            "checks": gradient_checks, "scaling": scaling, "commands": whole_command}


def warm_allocator() -> None:
    """Let glibc's allocator settle before anything is timed.

    Until a block of some size has been freed, glibc maps every allocation above 128 KiB
    afresh and the first touch of each page faults: a 256×1024 array costs ~500 faults.
    Freeing one 16 MiB block raises that threshold, so that large arrays are reused from
    the heap for every implementation alike, whichever runs first.
    """
    block = np.ones(2**21)
    del block


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--only", choices=SECTIONS, action="append",
                        help="run this section only (may be repeated)")
    args = parser.parse_args()
    print(f"## graphviz-bp benchmark\n\n{platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}")
    warm_allocator()
    for name in args.only or SECTIONS:
        SECTIONS[name](args.quick)


if __name__ == "__main__":
    main()
