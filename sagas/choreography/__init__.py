"""Choreographed sagas: starting and acting on them, the monitor, event delivery and the sweep."""
