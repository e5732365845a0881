"""Tests of sagas.admin."""
