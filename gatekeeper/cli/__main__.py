"""`python -m gatekeeper.cli`: the same as the `gatekeeper` command."""

from . import main

raise SystemExit(main())
