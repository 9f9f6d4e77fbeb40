"""Helpers for building service settings in tests."""


def settings_from(env: dict[str, str], cls, **overrides):
    """A service's settings object built from an env-style dict (keys are case-insensitive)."""
    values = {k.lower(): v for k, v in env.items()}
    values.update(overrides)
    return cls(**values)
