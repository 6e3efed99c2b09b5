"""The lesson's stories as captioned, replayable scenarios: files, loader, headless player, export."""

from atm_tui.scenarios.loader import Action, Scenario, ScenarioError, Step, builtin_names, load, load_all

__all__ = ["Action", "Scenario", "ScenarioError", "Step", "builtin_names", "load", "load_all"]
