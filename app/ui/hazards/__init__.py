"""隐患排查: the hazard ledger, one hazard's detail and history, and the forms of each lifecycle step."""
