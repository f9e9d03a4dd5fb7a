"""The 同步 area."""
