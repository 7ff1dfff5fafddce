"""Do the committed figures regenerate byte-identical on a machine with another CPU / BLAS?

    python bench/reproducible.py                  # every setting (about a second each)
    python bench/reproducible.py --only default --only nehalem-machine
    python bench/reproducible.py --repo /some/checkout   # another copy of the repository

For each setting below, ``python -m graphviz_bp figures --out TMP`` is run in a subprocess
(cwd = the repository root) and every file it writes is compared byte by byte with the
committed ``figures/``. One row per setting: the files that differ, and how many of the
floating-point numbers in the ``.gv`` DOT sources differ from the committed ones.

Other machines are emulated on this one, in the subprocess's environment:

* ``OPENBLAS_CORETYPE`` picks the kernels of numpy's OpenBLAS (it must be built with
  DYNAMIC_ARCH, as numpy's wheels are): Prescott (generic SSE3; this OpenBLAS calls it
  Katmai), Nehalem (SSE4.2), SandyBridge (AVX), Haswell (AVX2/FMA), SkylakeX (AVX-512),
  Zen (AMD; OpenBLAS uses its Haswell kernels for it).
* ``NPY_DISABLE_CPU_FEATURES`` turns off numpy's own SIMD loops. numpy only accepts the
  targets it dispatches to at run time (numpy 2.4: X86_V3 X86_V4 AVX512_ICL AVX512_SPR;
  numpy 1.x had finer ones, e.g. AVX2 FMA3 AVX512F AVX512_SKX): other names are silently ignored
  (an ImportWarning, hidden by default) and a baseline one (X86_V2) is an error. So the
  sets are taken from numpy's own dispatch list: "no AVX-512" drops every AVX-512 target,
  "no AVX2" also drops AVX2/FMA3 (X86_V3), leaving numpy's baseline.
* The ``*-machine`` settings combine both, as a real older CPU would.

Before its run, each setting is checked in a probe subprocess (OPENBLAS_VERBOSE=2 makes
OpenBLAS name the core it chose; ImportWarning made an error): a setting that does not
take effect is reported and not run. Exit status 0 when every setting ran and reproduced
every file byte-identically, 1 otherwise. Standard library only.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EMULATING = ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES", "OPENBLAS_VERBOSE")
# Each setting's environment starts from this one, so that none inherits another's.
BASE_ENV = {k: v for k, v in os.environ.items() if k not in EMULATING}

CORETYPES = ["Prescott", "Nehalem", "SandyBridge", "Haswell", "SkylakeX", "Zen"]

# Which of numpy's dispatch targets each "no ..." level turns off (matched on the name).
NO_AVX512 = re.compile(r"AVX512|X86_V4")
NO_AVX2 = re.compile(r"AVX512|X86_V4|X86_V3|AVX2|FMA3")

# A float as repr/str writes it: with a decimal point and/or an exponent. Not part of a
# name such as sumsq_9, nor an integer such as a size or a font size.
FLOAT = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+)(?![\w.])")

PROBE = """
import numpy
try:
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
except ImportError:  # numpy 1.x
    from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
print(' '.join(__cpu_dispatch__))
print(' '.join(t for t in __cpu_dispatch__ if __cpu_features__.get(t)))
"""


def last_error(stderr: str) -> str:
    """The last exception or warning in ``stderr``, on one line."""
    lines = [line for line in stderr.strip().splitlines() if not line.startswith("Core:")] or ["(no output)"]
    start = max((i for i, line in enumerate(lines) if re.match(r"\w+(Error|Warning)\b", line)), default=len(lines) - 1)
    return " ".join(line.strip() for line in lines[start:])


def probe(env: dict[str, str]) -> tuple[str, list[str], list[str], str | None]:
    """Import numpy under ``env``: (OpenBLAS core, numpy's dispatch targets, those enabled, error)."""
    run = subprocess.run(
        [sys.executable, "-W", "error::ImportWarning", "-c", PROBE],
        env={**BASE_ENV, **env, "OPENBLAS_VERBOSE": "2"},
        capture_output=True, text=True,
    )
    core = re.search(r"^Core: (\S+)", run.stderr, re.M)
    core = core.group(1) if core else "?"
    if run.returncode != 0:
        return core, [], [], last_error(run.stderr)
    if "Core not found" in run.stderr:
        return core, [], [], f"OpenBLAS does not know OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}"
    if "OPENBLAS_CORETYPE" in env and core == "?":
        return core, [], [], "numpy's BLAS is not an OpenBLAS with DYNAMIC_ARCH"
    dispatch, enabled = (line.split() for line in run.stdout.splitlines()[:2])
    return core, dispatch, enabled, None


def settings(dispatch: list[str]) -> dict[str, dict[str, str]]:
    """Setting name -> environment. ``dispatch``: numpy's run-time dispatch targets here."""
    no512 = " ".join(t for t in dispatch if NO_AVX512.search(t))
    no2 = " ".join(t for t in dispatch if NO_AVX2.search(t))
    out: dict[str, dict[str, str]] = {"default": {}}
    for core in CORETYPES:
        out[core.lower()] = {"OPENBLAS_CORETYPE": core}
    out["numpy-no-avx512"] = {"NPY_DISABLE_CPU_FEATURES": no512}
    out["numpy-no-avx2"] = {"NPY_DISABLE_CPU_FEATURES": no2}
    out["haswell-machine"] = {"OPENBLAS_CORETYPE": "Haswell", "NPY_DISABLE_CPU_FEATURES": no512}
    out["nehalem-machine"] = {"OPENBLAS_CORETYPE": "Nehalem", "NPY_DISABLE_CPU_FEATURES": no2}
    return out


def float_differences(committed: bytes, made: bytes) -> tuple[int, int]:
    """(floats that differ, floats in the committed file), taken in order of appearance."""
    old = FLOAT.findall(committed.decode("utf-8", "replace"))
    new = FLOAT.findall(made.decode("utf-8", "replace"))
    differ = sum(a != b for a, b in zip(old, new)) + abs(len(old) - len(new))
    return differ, len(old)


def compare(repo: Path, env: dict[str, str]) -> tuple[list[str], int, int, str | None]:
    """Regenerate the figures under ``env``: (files that differ, floats differing, floats, error)."""
    committed_dir = repo / "figures"
    with tempfile.TemporaryDirectory(prefix="figures-") as tmp:
        run = subprocess.run(
            [sys.executable, "-m", "graphviz_bp", "figures", "--out", tmp],
            cwd=repo, env={**BASE_ENV, **env}, capture_output=True, text=True,
        )
        if run.returncode != 0:
            return [], 0, 0, f"CLI exit {run.returncode}: {last_error(run.stderr)}"
        made_dir = Path(tmp)
        names = sorted({p.name for p in committed_dir.iterdir()} | {p.name for p in made_dir.iterdir()})
        differ, floats_differ, floats = [], 0, 0
        for name in names:
            old, new = committed_dir / name, made_dir / name
            if not old.exists() or not new.exists():
                differ.append(name + (" (new)" if new.exists() else " (missing)"))
                continue
            a, b = old.read_bytes(), new.read_bytes()
            if name.endswith(".gv"):
                d, n = float_differences(a, b)
                floats_differ, floats = floats_differ + d, floats + n
            if a != b:
                differ.append(name)
        return differ, floats_differ, floats, None


def shorten(differ: list[str], committed: int) -> str:
    """``a.gv, a.svg, b.gv`` as ``a.gv+svg, b.gv``; "all N" when every committed file differs."""
    if differ and len(differ) == committed:
        return f"all {committed}"
    stems: dict[str, list[str]] = {}
    for name in differ:
        stem = name.split(" ")[0].rpartition(".")[0]
        stems.setdefault(stem, []).append(name[len(stem) + 1:])  # "svg", or "svg (missing)"
    return ", ".join(f"{stem}.{'+'.join(exts)}" for stem, exts in stems.items()) or "-"


def main(argv: list[str] | None = None) -> int:
    core, dispatch, enabled, error = probe({})
    table = settings(dispatch)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=list(table), metavar="NAME",
                        help="run only this setting (repeatable): " + ", ".join(table))
    parser.add_argument("--repo", type=Path, default=REPO, help="repository root (default: %(default)s)")
    args = parser.parse_args(argv)
    if error:
        print(f"numpy does not import here: {error}")
        return 1

    print(f"python {sys.version.split()[0]}, repository {args.repo}")
    print(f"this machine: OpenBLAS core {core}; numpy SIMD targets on: {' '.join(enabled) or '-'}")
    names = args.only or list(table)
    print("settings:")
    for name in names:
        print(f"  {name:<16} " + (" ".join(f"{k}={v!r}" for k, v in table[name].items()) or "(this machine as it is)"))
    print()
    header = f"{'setting':<16} {'emulated: BLAS core; numpy SIMD':<36} {'files':>5} {'floats in .gv':>15}  files that differ"
    print(header)
    print("-" * len(header))
    committed = len(list((args.repo / "figures").iterdir()))
    ok = True
    for name in names:
        env = table[name]
        if "NPY_DISABLE_CPU_FEATURES" in env and not env["NPY_DISABLE_CPU_FEATURES"]:
            core, enabled, error = "?", [], "numpy dispatches to no such target here"
        else:
            core, _, enabled, error = probe(env)
        emulated = f"{core}; {' '.join(enabled) or 'baseline'}"
        if error is None:
            differ, floats_differ, floats, error = compare(args.repo, env)
        if error is not None:
            print(f"{name:<16} {emulated:<36} not run: {error}")
            ok = False
            continue
        ok = ok and not differ
        print(f"{name:<16} {emulated:<36} {len(differ):>5} {floats_differ:>6} of {floats:<6}  {shorten(differ, committed)}")
    print()
    print("every setting reproduces every figure byte-identically" if ok else "NOT reproducible: see the rows above")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
