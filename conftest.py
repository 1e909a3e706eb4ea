# Importing the entry point runs the CLI, so doctest collection must not import it; setup.py is
# not a module of the package.
collect_ignore = ["edgeseg/__main__.py", "setup.py"]
