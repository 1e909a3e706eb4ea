"""Small shared helpers (atomic files, progress display)."""
