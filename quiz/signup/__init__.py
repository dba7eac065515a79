"""Signup: the public form, the pending participant and its confirmation."""
