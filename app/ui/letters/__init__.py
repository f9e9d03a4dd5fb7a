"""安全生产目标责任书 and 事故信息 screens."""
