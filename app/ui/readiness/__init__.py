"""七有/五有: the readiness overview, its detail and assessments, and the registers that prove it."""
