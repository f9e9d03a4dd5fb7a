"""The 组织机构 area."""
