"""Test support: draining the queue inline, delivering choreography events, a real worker cluster."""
