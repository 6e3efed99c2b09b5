"""The lesson's stories as captioned, replayable scenarios: files, loader, headless player, export."""

from atm_tui.scenarios.loader import builtin_names, load, load_all
from atm_tui.scenarios.scenario import Action, Scenario, ScenarioError, Step

__all__ = ["Action", "Scenario", "ScenarioError", "Step", "builtin_names", "load", "load_all"]
