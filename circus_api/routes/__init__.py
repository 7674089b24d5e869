"""Thin HTTP handlers. Each module ends with a ROUTES list; `app.py` concatenates them in spec order."""
