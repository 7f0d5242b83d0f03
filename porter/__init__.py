"""porter: port Linux kernel patches across trees by C structure, lint invariants, verify by booting."""

__version__ = "0.1.0"
