"""Modal screens: each edits or shows one thing and returns a result to the app."""
