"""`python -m console` runs the same command line as `rtic-console`."""

from console.cli import main

raise SystemExit(main())
