"""乡安 (XiangAn): township emergency-management desktop application."""

__version__ = "0.1.0"
APP_NAME = "乡安"
APP_ID = "XiangAn"
