"""gan layer."""
