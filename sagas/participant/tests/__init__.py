"""Tests of sagas.participant."""
