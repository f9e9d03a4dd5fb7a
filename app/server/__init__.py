"""The county server: the township sync API (/api/v1) and the county staff's web pages, on FastAPI."""
