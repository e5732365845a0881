"""Tests of sagas.bench."""
