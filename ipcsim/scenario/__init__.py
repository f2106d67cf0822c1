"""Describe: the validated scenario (pydantic only; imports nothing above the shared vocabulary)."""
