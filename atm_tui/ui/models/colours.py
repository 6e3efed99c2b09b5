"""The one palette's colours, as plain data: each theme's name and colours.

No Textual here, so the models can name a colour without a theme at hand (a headless render, a
test). `ui/themes.py` builds the app's Textual themes from these and nothing else; a colour on
screen is a role (outcomes.ROLE_VARIABLES) painted with one of these variables.
"""

from __future__ import annotations

from typing import Any

DEFAULT: dict[str, Any] = {
    "name": "atm",
    "primary": "#4FA3E0",
    "secondary": "#C678DD",
    "accent": "#E5C07B",
    "warning": "#E5A50A",
    "error": "#FF5555",
    "success": "#4EC26B",
    "foreground": "#E6E6E6",
    "background": "#15181E",
    "surface": "#1E232B",
    "panel": "#262C36",
    "dark": True,
}

PROJECTOR: dict[str, Any] = {
    "name": "atm-projector",
    "primary": "#FFFF00",
    "secondary": "#00FFFF",
    "accent": "#FFFF00",
    "warning": "#FFB000",
    "error": "#FF3030",
    "success": "#00FF66",
    "foreground": "#FFFFFF",
    "background": "#000000",
    "surface": "#000000",
    "panel": "#101010",
    "dark": True,
    "variables": {"footer-key-foreground": "#FFFF00", "border": "#FFFFFF", "border-blurred": "#FFFFFF"},
}

THEMES = (DEFAULT, PROJECTOR)
