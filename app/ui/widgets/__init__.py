"""Widgets shared by the areas of the main window."""
