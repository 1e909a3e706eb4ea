"""Small shared helpers: atomic files, file hashes, progress with ETA, stop signals."""
