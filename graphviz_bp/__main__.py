"""``python -m graphviz_bp`` runs the command line."""

import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the libraries load: main() cannot say it yet
    if sys.stderr is not None:
        print("graphviz-bp: interrupted", file=sys.stderr)
    raise SystemExit(130) from None

raise SystemExit(main())
