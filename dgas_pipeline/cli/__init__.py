"""`dgas`, the command line: `main.py` parses and dispatches, one module per command group.

The top layer: commands call `operate/`, `cycle/` and the core packages; nothing below
imports this package (docs/architecture.md).
"""
