"""Tests of sagas.api."""
