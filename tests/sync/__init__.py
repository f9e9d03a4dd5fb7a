"""Sync tests: keys, bundle files, township and county sync."""
