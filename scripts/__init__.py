"""Developer scripts: load and soak runs (scripts/load.py)."""
