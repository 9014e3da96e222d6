"""Test doubles shared by unit and app tests (fake NVML, ...)."""
