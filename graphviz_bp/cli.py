"""The ``graphviz-bp`` command: argument parsing and exit codes; the work is the library's.

Exit codes: 0 success, 1 a check failed, 2 bad input (one line on stderr, no traceback,
no output file), 3 an internal error (a bug: one line too), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from contextlib import suppress
from pathlib import Path

from . import limits, losses
from .dot import HIGHLIGHTS, INLINE_ENTRIES, INLINE_VECTOR, to_dot
from .heatmap import VALUE_MODES
from . import explorer, tikz  # noqa: F401  -o loss.html, -o fig.tex
from .drawing import (DEFAULT_DPI, ENGINES, FORMATS, PAGE_SIZES, SUFFIXES, WRITERS, check_writable, draw,
                      check_dpi, format_of, parse_size, scaled_note, write_atomically)
from .claims import MAX_TRIALS
from .errors import GraphvizBPError, SizeLimitError
from .folding import COMPACT_NODES, FOLD_NODES, compact_note
from .sources import Source, builtin_source, expression_source, file_source

# Each command imports the rest of what it needs itself: start-up is part of every command.
DERIVATION_FORMATS = ("text", "markdown", "latex")

__all__ = ["main"]

PROG = "graphviz-bp"
#: A written page (the explorer) larger than this gets a note on its size.
LARGE_PAGE = 50_000_000
#: Output paths that name our own standard output (1) or error (2): written through to
#: the stream, never replaced by a file.
STREAM_PATHS = {"-": 1, "/dev/stdout": 1, "/dev/fd/1": 1, "/proc/self/fd/1": 1,
                "/dev/stderr": 2, "/dev/fd/2": 2, "/proc/self/fd/2": 2}


class UsageError(GraphvizBPError, ValueError):
    """A command line that cannot be carried out."""


class _ReaderGone(Exception):
    """The reader of our standard output (or error) went away, as ``| head`` does."""

    def __init__(self, fd: int):
        super().__init__(fd)
        self.fd = fd


# ---------------------------------------------------------------- standard streams


def _stream(fd: int):
    """Standard output (1) or error (2); bad input when it was closed before we started."""
    stream = sys.stdout if fd == 1 else sys.stderr
    if stream is None:
        name = "output" if fd == 1 else "error"
        raise UsageError(f"cannot write to standard {name}: it is closed (redirect it to a file)")
    return stream


def _emit(data: str | bytes, fd: int = 1) -> None:
    """Write ``data`` to standard output (or error) now, all of it."""
    stream = _stream(fd)
    try:
        if isinstance(data, bytes):
            stream.flush()
            stream.buffer.write(data)
        else:
            try:
                stream.write(data)
            except UnicodeEncodeError:  # a terminal that cannot show ∇ or ①: escapes, not a crash
                encoding = stream.encoding or "ascii"
                stream.write(data.encode(encoding, "backslashreplace").decode(encoding))
        stream.flush()
    except BrokenPipeError:
        raise _ReaderGone(fd) from None


def _say(line: str) -> None:
    """A line on standard error; lost if it is closed (the exit code still tells)."""
    if sys.stderr is not None:  # else print() would write to standard output
        with suppress(OSError, ValueError):
            print(line, file=sys.stderr, flush=True)


def _stream_named(path: str) -> int | None:
    """1 or 2 when ``path`` is our standard output or error (``-``, ``/dev/stdout``, a link
    to it, or the very file it is redirected to), else None."""
    if path in STREAM_PATHS:
        return STREAM_PATHS[path]
    try:
        target = os.stat(path)
    except (OSError, ValueError):
        return None
    for fd, stream in ((1, sys.stdout), (2, sys.stderr)):
        if stream is None:  # closed at start: the null device put in its place is not it
            continue
        try:
            own = os.fstat(fd)
        except OSError:
            continue
        if (own.st_dev, own.st_ino) == (target.st_dev, target.st_ino):
            return fd
    return None


def _fill_closed_standard_fds() -> None:
    """Open the null device on file descriptors 0-2 that are closed: a file we open later
    would get such a number, and what a C library writes to stderr would land in it."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)


def _silence(fd: int) -> None:
    """Point ``fd`` at the null device, so that flushing at exit cannot fail again."""
    with suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)


def source_of(args) -> Source:
    """The loss named on the command line: built-in, ``--expr`` or ``file.py:function``."""
    if args.expr is not None:
        if args.source is not None:
            raise UsageError(f"give either a SOURCE or --expr, not both (got {args.source!r})")
        if args.set:
            raise UsageError("--set is for built-in losses and files; with --expr use --var and --const")
        return expression_source(args.expr, args.var, args.const, args.labels)
    if args.var or args.const or args.labels:
        raise UsageError("--var, --const and --labels go with --expr")
    if args.source is None:
        raise UsageError("no loss given: name a built-in (see `graphviz-bp list`), "
                         "a file.py:function, or use --expr")
    if ".py:" in args.source:
        return file_source(args.source, args.set)
    return builtin_source(args.source, args.set)


def _default_output(source: Source, fmt: str | None) -> str:
    stem = source.name if source.name.replace("-", "").isalnum() else "loss"
    return f"{stem}.{fmt or 'svg'}"


# ---------------------------------------------------------------- commands


def cmd_list(args) -> int:
    width = max(map(len, losses.BUILTINS))
    lines = [f"{name:<{width}}  {(build.__doc__ or '').strip().splitlines()[0]}"
             for name, build in losses.BUILTINS.items()]
    _emit("".join(line + "\n" for line in lines))
    return 0


def cmd_render(args) -> int:
    if args.output == "":
        raise UsageError("-o needs a path (or - for standard output), got an empty one")
    stream = _stream_named(args.output) if args.output else None
    if stream is not None:
        _stream(stream)  # a closed stream is refused before the work, not after
    if args.size is not None:
        parse_size(args.size)  # refused before the work
    check_dpi(args.dpi)
    source = source_of(args)
    out = args.output or _default_output(source, args.format)
    if args.format:
        fmt = args.format
    elif out.lower().endswith(".json"):
        fmt = "json"
    elif stream is not None and Path(out).suffix.lower() not in SUFFIXES:
        fmt = "svg"
    else:
        fmt = format_of(out)
    g = source.build(args.seed)
    if fmt == "json":
        from .report import inspect_data, to_json

        data = to_json(inspect_data(g, source.name)).encode()
    elif fmt in WRITERS:
        data = WRITERS[fmt](g, title=source.name, show=args.show, compact=args.compact,
                            values=args.values, highlight=args.highlight,
                            engine=args.engine).encode()
        if len(data) > LARGE_PAGE:
            _say(f"{PROG}: note: the page is {len(data) / 1e6:.0f} MB: it holds every number "
                 "at full precision (inspect --json's document); browsers open it slowly")
    else:
        data = draw(to_dot(g, show=args.show, compact=args.compact, values=args.values,
                           highlight=args.highlight), fmt, args.engine, dpi=args.dpi, size=args.size)
        note = compact_note(g, args.compact, args.show)
        if note:
            hint = "inspect shows every number" if "tooltips" in note else \
                "--no-compact draws every layer"
            _say(f"{PROG}: note: {note}; {hint}")
        note = scaled_note(data, fmt)
        if note:
            _say(f"{PROG}: note: {note}")
    if stream is not None:
        _emit(data, stream)
    else:
        write_atomically(out, data)
        _say(out)
    return 0


def cmd_inspect(args) -> int:
    from .report import inspect_data, inspect_text, to_json

    _stream(1)
    source = source_of(args)
    g = source.build(args.seed)
    if args.json:
        _emit(to_json(inspect_data(g, source.name)) + "\n")
    else:
        _emit(inspect_text(g, source.name) + "\n")
    return 0


def cmd_check(args) -> int:
    from .checking import check, mark
    from .claims import check_claim
    from .report import check_data, check_text, to_json

    if args.trials is not None and args.trials < 1:
        raise UsageError(f"--trials must be at least 1, got {args.trials}")
    if args.trials is not None and args.trials > MAX_TRIALS:
        raise UsageError(f"--trials must be at most {MAX_TRIALS:,}, got {args.trials:,} "
                         "(each trial builds and evaluates the graph again)")
    if args.render == "":
        raise UsageError("--render needs a path, got an empty one")
    figure_format = None
    if args.render:  # refused before the work, so the verdict is not lost after it
        try:
            figure_format = format_of(args.render)
            check_writable(args.render)
        except GraphvizBPError as err:
            raise UsageError(f"--render: {str(err).replace(' or give the format', '')}") from None
    _stream(1)
    source = source_of(args)
    claims = [_claim(text) for text in args.claim]
    g = source.build(args.seed)
    checked = check(g, seed=args.seed, per_leaf=args.per_leaf)
    verdicts = [check_claim(g, wrt, text, trials=args.trials, seed=args.seed)
                for wrt, text in claims]  # g carries how to draw it again (Source.build)
    data = check_data(source.name, checked, verdicts, g)
    _emit((to_json(data) if args.json else check_text(data)) + "\n")
    if args.render:
        from .drawing import render

        mark(g, checked)
        render(g, args.render, compact=args.compact, format=figure_format)
        _say(args.render)
    return 0 if data["ok"] else 1


def _claim(text: str) -> tuple[str, str]:
    from .claims import parse_claim

    try:
        return parse_claim(text)
    except GraphvizBPError as err:
        raise UsageError(f"--claim: {err}") from None


def cmd_derive(args) -> int:
    from .derivation import write as write_derivation

    _stream(1)
    source = source_of(args)
    _emit(write_derivation(source.build(args.seed), source.name, args.format, source.sizes))
    return 0


def cmd_figures(args) -> int:
    from .figures import write_figures

    if not args.out:
        raise UsageError("--out needs a folder, got an empty path")
    _stream(1)
    _emit("".join(f"{path}\n" for path in write_figures(args.out, engine=args.engine)))
    return 0


# ---------------------------------------------------------------- parser


def _source_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", nargs="?",
                   help="a built-in loss (see `graphviz-bp list`) or path/to/file.py:function")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="a size of a built-in or a keyword of a file's function, repeatable: "
                        "--set m=3 --set hidden_dims=10,10")
    p.add_argument("--seed", type=int, default=0, help="seed of the random values (default 0)")
    p.add_argument("--expr", metavar="EXPR",
                   help='the loss as an expression instead of a SOURCE: --expr "0.5 * sumsq(W.T @ W @ x - x)"')
    p.add_argument("--var", action="append", default=[], metavar="NAME=SHAPE[:DOMAIN]",
                   help="with --expr: a leaf with seeded random values and a gradient, as W=2x3, "
                        "x=3, s=scalar; DOMAIN positive or spd draws from that domain")
    p.add_argument("--const", action="append", default=[], metavar="NAME=VALUE",
                   help="with --expr: a number or array without a gradient, as alpha=0.5, "
                        "mask=[[1,0],[0,1]] or idx=@idx.npy (integers serve as indices)")
    p.add_argument("--labels", action="append", default=[], metavar="NAME=I[,J,...]",
                   help="with --expr: integer class labels for softmax_ce, as y=2 or y=0,2,1")
    p.add_argument("--max-entries", type=int, default=limits.MAX_ENTRIES, metavar="N",
                   help=f"most entries any array may have (default {limits.MAX_ENTRIES:,}); "
                        "larger ones are refused before anything is allocated")
    p.add_argument("--max-total-entries", type=int, default=limits.MAX_TOTAL_ENTRIES,
                   metavar="N", help=f"most entries all the arrays of one graph may have "
                                     f"(default {limits.MAX_TOTAL_ENTRIES:,})")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog=PROG,
        description="Backpropagation drawn as a graph and checked: forward values and "
                    "gradients on every edge, multi-path nodes highlighted.")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("list", help="the built-in losses, one line each",
                            description="List the built-in losses.")
    p.set_defaults(run=cmd_list)

    p = commands.add_parser("render", help="draw a loss's graph (SVG, PDF, PNG or DOT)",
                            description="Draw the computational graph of a loss with forward "
                                        "values and gradients on the edges.")
    _source_arguments(p)
    p.add_argument("-o", "--output", metavar="PATH",
                   help="output file; the format comes from its suffix; - writes to stdout "
                        "(default: SOURCE.svg)")
    p.add_argument("--format", choices=(*FORMATS, "json"),
                   help="output format (default: from the suffix); json is the document of "
                        "`inspect --json`")
    p.add_argument("--show", default="all", metavar="WHAT",
                   help="what the figure shows: all (values and gradients, the default), values, "
                        "gradients, formulas, structure, or a comma list such as values,formulas")
    p.add_argument("--engine", choices=ENGINES, default="bundled",
                   help="bundled: the Graphviz inside pygraphviz (default); system: `dot` on PATH")
    p.add_argument("--values", choices=VALUE_MODES, default="auto",
                   help="how arrays are written: auto (numbers when at most "
                        f"{INLINE_ENTRIES} entries, {INLINE_VECTOR} for a vector, else a heatmap; "
                        "the default), numbers (else "
                        "shape and range), heatmap (every array), summary (shape and range)")
    p.add_argument("--highlight", choices=HIGHLIGHTS, default="all",
                   help="which nodes reached along several paths are highlighted, their paths "
                        "numbered and coloured: all (the default) or params")
    p.add_argument("--dpi", type=int, default=None,
                   help=f"a PNG's pixels per inch (default {DEFAULT_DPI}; 192 for a HiDPI "
                        "screen, 300 for print)")
    p.add_argument("--size", default=None, metavar="WxH",
                   help="fit the figure to a box: 6x4 (inches), 16cmx9cm, or "
                        f"{', '.join(PAGE_SIZES)}")
    p.add_argument("--compact", action=argparse.BooleanOptionalAction, default=None,
                   help=f"numbers in tooltips instead of on the edges (default: past "
                        f"{COMPACT_NODES} nodes, where they would make the layout slow), and "
                        f"runs of alike layers folded into one box (default: past {FOLD_NODES} "
                        f"nodes); --no-compact draws everything")
    p.set_defaults(run=cmd_render)

    p = commands.add_parser("inspect", help="a table of every node: value, gradient, paths",
                            description="Print the nodes in topological order with their "
                                        "values, gradients and number of paths to the loss, "
                                        "then each multi-path node's path contributions.")
    _source_arguments(p)
    p.add_argument("--json", action="store_true", help="the full graph as JSON, in full precision")
    p.set_defaults(run=cmd_inspect)

    p = commands.add_parser("check", help="backprop against finite differences, and your claims",
                            description="Check backprop against finite differences for every "
                                        "leaf with a gradient, and judge claimed closed forms "
                                        "of gradients at several random draws. Exit code 0 when "
                                        "everything holds, 1 when something fails, 2 on bad input.")
    _source_arguments(p)
    p.add_argument("--claim", action="append", default=[], metavar="NAME=EXPR",
                   help='a claimed gradient ∇_NAME L, repeatable: --claim "W2=grad(z2) @ h1.T"; '
                        "names are the graph's nodes and sizes, grad(NODE) is backprop's gradient")
    p.add_argument("--trials", type=int, default=None,
                   help="independent random draws each claim must hold at (default 3, "
                        "and 30 for a loss with kinks such as ReLU, max or a comparison)")
    p.add_argument("--json", action="store_true", help="the report as JSON")
    p.add_argument("--per-leaf", action=argparse.BooleanOptionalAction, default=None,
                   help="check each leaf against finite differences of the whole loss (its "
                        "cost is leaves × depth), or judge leaves by their ops only; default: "
                        "leaf by leaf where that is cheap. Every op is always checked alone")
    p.add_argument("--render", metavar="PATH", default=None,
                   help="also draw the graph with the verdicts marked: failing ops and edges "
                        "red, checked ones green (format from the suffix: svg, png, pdf, …)")
    p.add_argument("--compact", action=argparse.BooleanOptionalAction, default=None,
                   help="with --render: fold alike layers and keep edges bare (default: for "
                        "large graphs)")
    p.set_defaults(run=cmd_check)

    p = commands.add_parser("derive", help="the derivation of the gradients, step by step",
                            description="Write the derivation a person would: forward "
                                        "definitions, each backward step with the rule applied, "
                                        "the sum at each multi-path node, and the gradient of "
                                        "every leaf written out.")
    _source_arguments(p)
    p.add_argument("--format", choices=DERIVATION_FORMATS, default="text",
                   help="text (default), markdown (with $…$ math) or latex (a whole document)")
    p.set_defaults(run=cmd_derive)

    p = commands.add_parser("figures", help="the figure of every built-in loss into a folder",
                            description="Write <loss>.svg and its DOT source <loss>.gv for "
                                        "every built-in loss.")
    p.add_argument("--out", default="figures", metavar="DIR", help="folder (default: figures)")
    p.add_argument("--engine", choices=ENGINES, default="bundled", help="Graphviz engine")
    p.set_defaults(run=cmd_figures)
    return top


def main(argv=None) -> int:
    try:
        _fill_closed_standard_fds()
        try:
            args = parser().parse_args(argv)
        except BrokenPipeError:  # --help into a pipe whose reader left
            raise _ReaderGone(1) from None
        max_entries = getattr(args, "max_entries", limits.MAX_ENTRIES)
        max_total = getattr(args, "max_total_entries", limits.MAX_TOTAL_ENTRIES)
        for flag, value in (("--max-entries", max_entries), ("--max-total-entries", max_total)):
            if value < 1:
                raise UsageError(f"{flag} must be positive, got {value}")
        if getattr(args, "seed", 0) < 0:
            raise UsageError(f"--seed must be 0 or more, got {args.seed}")
        with warnings.catch_warnings(), limits.size_limit(max_entries, max_total):
            warnings.simplefilter("ignore")  # Graphviz layout chatter is not for the terminal
            return args.run(args)
    except _ReaderGone as gone:  # only a write of ours to stdout or stderr raises it
        _silence(gone.fd)
        return 0
    except KeyboardInterrupt:
        _say(f"{PROG}: interrupted")
        return 130
    except SizeLimitError as err:
        flag = "--max-total-entries" if err.total else "--max-entries"
        _say(f"{PROG}: error: {err} (raise it with {flag})")
        return 2
    except GraphvizBPError as err:
        _say(f"{PROG}: error: {err}")
        return 2
    except Exception as err:  # a bug of ours: one line, not a traceback (set GRAPHVIZ_BP_DEBUG=1)
        if os.environ.get("GRAPHVIZ_BP_DEBUG"):
            raise
        _say(f"{PROG}: internal error: {type(err).__name__}: {err} "
             "(rerun with GRAPHVIZ_BP_DEBUG=1 for the traceback)")
        return 3
