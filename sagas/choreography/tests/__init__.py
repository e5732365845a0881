"""Tests of sagas.choreography."""
