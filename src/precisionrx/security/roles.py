"""The roles a bearer token can carry (issue 15, item 3).

Kept apart from :mod:`precisionrx.security.tokens` so that the command line can declare
``--role`` without loading the JWT and cryptography libraries.
"""

from __future__ import annotations

from enum import StrEnum

from precisionrx.errors import InputError


class Role(StrEnum):
    """What a token's holder may do (issue 15, item 3)."""

    clinician = "clinician"  # patients of their organisation
    patient = "patient"  # their own record only
    researcher = "researcher"  # de-identified data, consent-gated
    admin = "admin"  # users and audit, no clinical content

    @classmethod
    def from_string(cls, text: str) -> Role:
        """The role named ``text`` (case-insensitive). :raises InputError: an unknown role."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise InputError(
                f"unknown role {text[:40]!r}: one of {', '.join(r.value for r in cls)}"
            ) from None
