"""Event types as the model sees them: a small integer code per configured type."""

from __future__ import annotations


def event_type_codes(event_weights: dict[str, float]) -> dict[str, int]:
    """Event type -> code (1 + index in sorted order; 0 is padding)."""
    return {t: i + 1 for i, t in enumerate(sorted(event_weights))}
