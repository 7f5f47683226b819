"""The `aft` commands behind `aft_tui.cli`: each module imports what its commands need only when
one runs, so `aft --help` loads none of it."""
