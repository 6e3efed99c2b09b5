"""`python -m atm_tui` runs the same entry point as the `atm-tui` script."""

from atm_tui.cli.main import main

raise SystemExit(main())
