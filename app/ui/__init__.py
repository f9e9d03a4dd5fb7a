"""Qt widgets only: every screen calls into app.services and never touches SQL."""
