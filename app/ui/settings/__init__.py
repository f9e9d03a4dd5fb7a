"""The 设置 area."""
