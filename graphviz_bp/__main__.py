"""``python -m graphviz_bp`` runs the command line."""

from .cli import main

raise SystemExit(main())
