"""`python -m app` runs the same command line as the `xiangan` entry point."""

from app.cli import main

raise SystemExit(main())
