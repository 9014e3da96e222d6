"""Shared builders for the test suite."""
