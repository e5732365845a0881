"""Tests of sagas.ops."""
