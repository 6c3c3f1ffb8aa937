"""Masking of personal data (account numbers, phone numbers, e-mail) before it leaves a device.

The hub keeps only what a hall manager needs to tell two customers apart on a report: the
last four characters. Everything else becomes `*`, so the length still hints at the kind
of value (an 11-digit phone, a 13-digit account) without revealing it.
"""

from __future__ import annotations

KEEP = 4


def mask(value: object, keep: int = KEEP) -> str:
    """`"3301234567890"` -> `"*********7890"`; values of `keep` chars or fewer are fully masked."""
    text = "" if value is None else str(value).strip()
    if not text:
        return ""
    if len(text) <= keep:
        return "*" * len(text)
    return "*" * (len(text) - keep) + text[-keep:]


def is_masked(value: str, keep: int = KEEP) -> bool:
    """True when at most the last `keep` characters are readable."""
    head = value[:-keep] if len(value) > keep else value
    return all(c == "*" for c in head)
