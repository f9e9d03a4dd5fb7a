"""Files the app reads and writes for people (Excel tables today): plain data in, plain data out, no Qt."""
