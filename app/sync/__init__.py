"""Sync between township PCs and the county: keys, signed and encrypted bundle files, change capture."""
