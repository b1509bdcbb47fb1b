"""Command-line values every command reads the same way."""

from __future__ import annotations

__all__ = ["split_systems"]


def split_systems(value: str | None) -> list[str] | None:
    """``--systems ICD10CM, HPO`` as ``["ICD10CM", "HPO"]``; ``None`` when not given or empty (all systems)."""
    return [s.strip() for s in value.split(",") if s.strip()] if value else None
