"""The Textual app's panes, one widget per module."""
