"""Tests of sagas.workers."""
