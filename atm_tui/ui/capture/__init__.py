"""Pictures of the running app: export frames (SVG, ANSI), the PNG renderer, the README screenshots."""
