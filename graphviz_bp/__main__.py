"""``python -m graphviz_bp`` and the ``graphviz-bp`` script run the command line."""

import sys


def run() -> None:
    """Run the command line; Ctrl-C while its libraries load is one line and exit 130."""
    try:
        from .cli import main
    except KeyboardInterrupt:  # main() cannot say it yet
        if sys.stderr is not None:
            print("graphviz-bp: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    raise SystemExit(main())


if __name__ == "__main__":
    run()
