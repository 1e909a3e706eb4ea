# Keep pytest's doctest collection away from the entry point (importing it runs the CLI).
collect_ignore = ["edgeseg/__main__.py", "setup.py", "build", ".venv"]
