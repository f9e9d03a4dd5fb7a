"""The 工作台 area."""
