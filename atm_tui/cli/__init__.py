"""The command line: the parser, one module per headless subcommand, and `main`, which runs them."""
