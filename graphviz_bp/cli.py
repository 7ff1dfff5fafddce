"""The ``graphviz-bp`` command: argument parsing and exit codes; the work is the library's.

Exit codes: 0 success, 1 a check failed, 2 bad input (one line on stderr, no traceback,
no output file).
"""

from __future__ import annotations

import argparse
import inspect
import sys
import warnings

from . import losses
from .engine import did_you_mean
from .errors import GraphvizBPError, UnknownNameError
from .rendering import ENGINES, FORMATS, SHOWS, draw, format_of, to_dot, write_atomically

__all__ = ["main"]

PROG = "graphviz-bp"


class UsageError(GraphvizBPError, ValueError):
    """A command line that cannot be carried out."""


def _parse_number(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    raise UsageError(f"not a number: {text!r}")


def _parse_setting(text: str) -> tuple[str, object]:
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name or not raw.strip():
        raise UsageError(f"--set takes NAME=VALUE (e.g. --set m=3), got {text!r}")
    if "," in raw:
        return name, tuple(_parse_number(part.strip()) for part in raw.split(",") if part.strip())
    return name, _parse_number(raw.strip())


def builtin(name: str):
    """The builder of a built-in loss by its command-line name (underscores accepted)."""
    key = name.replace("_", "-")
    if key not in losses.BUILTINS:
        hint = did_you_mean(key, list(losses.BUILTINS))
        raise UnknownNameError(f"unknown loss {name!r}{hint} (see `{PROG} list`)")
    return losses.BUILTINS[key]


def load(args) -> "object":
    """The evaluated graph a command works on."""
    build = builtin(args.source)
    settings = dict(_parse_setting(s) for s in args.set)
    accepted = [p for p in inspect.signature(build).parameters if p != "seed"]
    for name in settings:
        if name not in accepted:
            raise UsageError(f"{args.source} has no size {name!r} (it takes {', '.join(accepted)})")
    return build(**settings, seed=args.seed)


# ---------------------------------------------------------------- commands


def cmd_list(args) -> int:
    width = max(map(len, losses.BUILTINS))
    for name, build in losses.BUILTINS.items():
        summary = (build.__doc__ or "").strip().splitlines()[0]
        print(f"{name:<{width}}  {summary}")
    return 0


def cmd_render(args) -> int:
    g = load(args)
    out = args.output or f"{args.source.replace('_', '-')}.{args.format or 'svg'}"
    fmt = format_of(out, args.format) if out != "-" else (args.format or "svg")
    data = draw(to_dot(g, show=args.show), fmt, args.engine)
    if out == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        write_atomically(out, data)
        print(out, file=sys.stderr)
    return 0


def cmd_figures(args) -> int:
    from .figures import write_figures

    for path in write_figures(args.out, engine=args.engine):
        print(path)
    return 0


# ---------------------------------------------------------------- parser


def _source_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", help="a built-in loss (see `graphviz-bp list`)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="a size of the loss, repeatable: --set m=3 --set hidden_dims=10,10")
    p.add_argument("--seed", type=int, default=0, help="seed of the random values (default 0)")


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
    p.add_argument("--format", choices=FORMATS, help="output format (default: from the suffix)")
    p.add_argument("--show", choices=SHOWS, default="all",
                   help="what the edges carry: all (default), values, gradients, or structure only")
    p.add_argument("--engine", choices=ENGINES, default="bundled",
                   help="bundled: the Graphviz inside pygraphviz (default); system: `dot` on PATH")
    p.set_defaults(run=cmd_render)

    p = commands.add_parser("figures", help="the figure of every built-in loss into a folder",
                            description="Write <loss>.svg and its DOT source <loss>.gv for "
                                        "every built-in loss.")
    p.add_argument("--out", default="figures", metavar="DIR", help="folder (default: figures)")
    p.add_argument("--engine", choices=ENGINES, default="bundled", help="Graphviz engine")
    p.set_defaults(run=cmd_figures)
    return top


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Graphviz layout chatter is not for the terminal
            return args.run(args)
    except GraphvizBPError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
