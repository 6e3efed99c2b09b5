"""The app's themes: a calm default and a high-contrast theme for projectors.

Built from the one palette's plain colours (ui/models/colours.py), which the Textual-free models
read too, so a colour has one source.
"""

from __future__ import annotations

from textual.theme import Theme

from atm_tui.ui.models import colours

DEFAULT = Theme(**colours.DEFAULT)
PROJECTOR = Theme(**colours.PROJECTOR)

THEMES = (DEFAULT, PROJECTOR)
