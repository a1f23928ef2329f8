"""``python -m ferry.runner``: the runner process (started by the CLI, see :mod:`ferry.runner`)."""

from ferry.runner.server import main

raise SystemExit(main())
