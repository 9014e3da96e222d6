"""Widgets: each renders state and posts messages; none touches the engine or the store."""
