"""Tests of sagas.engine."""
