"""Prefetch templates of CDS Hooks 2.0 ("Prefetch tokens"), resolved against a hook context.

A CDS service names, in its discovery document, FHIR queries the client should run before the
call: ``{"patient": "Patient/{{context.patientId}}"}``. The tokens are:

- ``{{context.NAME}}``: the hook context field ``NAME`` at the root of the context, whose value
  must be a primitive (string, number or boolean). A deeper path
  (``{{context.draftOrders.entry}}``) or a field holding an object or array makes the template
  invalid; a field absent from the context (or JSON ``null``, which the spec does not allow
  and is read as absent) means the key cannot be prefetched: :data:`OMIT_KEY`.
- ``{{userPractitionerId}}``, ``{{userPractitionerRoleId}}``, ``{{userPatientId}}``,
  ``{{userRelatedPersonId}}``: the id part of the context's ``userId`` (``"Type/id"``) when its
  type is Practitioner, PractitionerRole, Patient or RelatedPerson respectively. Another type,
  or no ``userId``, leaves the token absent: :data:`OMIT_KEY`.

Anything else between ``{{`` and ``}}``, or a ``{{`` or ``}}`` left unpaired, makes the whole
template :data:`INVALID_TEMPLATE`; an invalid token wins over an absent one (a template error is
the service's bug and should be reported, not hidden by an omitted key). Decisions where the
spec is silent: whitespace just inside the braces is ignored (``{{ context.patientId }}`` is
``{{context.patientId}}``); numbers are written as JSON writes them and booleans as ``true`` /
``false``; values are substituted literally, without URL encoding (FHIR ids and the context's
primitive values need none). Parsing only: nothing is queried.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

#: Result of a template that cannot be resolved because a token's value is absent.
OMIT_KEY = "OMIT_KEY"
#: Result of a template with a token the spec does not allow.
INVALID_TEMPLATE = "INVALID_TEMPLATE"

#: User tokens -> the FHIR resource type of ``userId`` they stand for.
USER_TOKENS: Mapping[str, str] = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}

_TOKEN = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_CONTEXT_FIELD = re.compile(r"context\.([A-Za-z_][A-Za-z0-9_\-]*)")
#: A relative reference ``Type/id`` (FHIR R4 id: 1-64 of ``[A-Za-z0-9\-.]``).
_REFERENCE = re.compile(r"([A-Z][A-Za-z]*)/([A-Za-z0-9\-.]{1,64})")

_INVALID = object()
_ABSENT = object()


def _primitive(value: Any) -> object:
    """The text of a primitive context value, :data:`_ABSENT` or :data:`_INVALID`."""
    if value is None:
        return _ABSENT
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return json.dumps(value) if value == value and abs(value) != float("inf") else _INVALID
    return _INVALID  # object, array or anything else


def _user_ids(context: Mapping[str, Any], user_id: str | None) -> dict[str, str]:
    """User token -> value, from ``user_id`` or else the context's ``userId``."""
    ref = user_id if user_id is not None else context.get("userId")
    match = _REFERENCE.fullmatch(ref.strip()) if isinstance(ref, str) else None
    if match is None:
        return {}
    kind, ident = match.groups()
    return {token: ident for token, rtype in USER_TOKENS.items() if rtype == kind}


def _value(token: str, context: Mapping[str, Any], users: Mapping[str, str]) -> object:
    name = token.strip()
    if name in USER_TOKENS:
        return users.get(name, _ABSENT)
    field = _CONTEXT_FIELD.fullmatch(name)
    if field is None:  # unknown token, or a nested path such as context.draftOrders.entry
        return _INVALID
    key = field.group(1)
    return _primitive(context[key]) if key in context else _ABSENT


def resolve_prefetch(
    template: str, context: Mapping[str, Any], *, user_id: str | None = None
) -> str:
    """``template`` with its tokens replaced from ``context``, or :data:`OMIT_KEY`, or
    :data:`INVALID_TEMPLATE` (see the module docs). ``user_id`` overrides the context's
    ``userId`` for the user tokens.

    >>> resolve_prefetch("Patient/{{context.patientId}}", {"patientId": "1288992"})
    'Patient/1288992'
    >>> resolve_prefetch("PractitionerRole?_id={{userPractitionerRoleId}}",
    ...                  {"userId": "Practitioner/abc"})
    'OMIT_KEY'
    >>> resolve_prefetch("Bundle?x={{context.draftOrders.entry}}", {"draftOrders": {}})
    'INVALID_TEMPLATE'
    """
    if not isinstance(template, str) or not isinstance(context, Mapping):
        return INVALID_TEMPLATE
    users = _user_ids(context, user_id)
    values = [_value(m.group(1), context, users) for m in _TOKEN.finditer(template)]
    rest = _TOKEN.sub("", template)
    if "{{" in rest or "}}" in rest or any(v is _INVALID for v in values):
        return INVALID_TEMPLATE
    if any(v is _ABSENT for v in values):
        return OMIT_KEY
    texts = iter(values)
    return _TOKEN.sub(lambda _m: str(next(texts)), template)


def resolve_prefetch_map(
    templates: Mapping[str, str], context: Mapping[str, Any], *, user_id: str | None = None
) -> dict[str, str]:
    """Each key's resolved query, in the order given; keys resolving to :data:`OMIT_KEY` are
    left out, :data:`INVALID_TEMPLATE` is kept as the value so that the caller can report it."""
    out: dict[str, str] = {}
    for key, template in templates.items():
        resolved = resolve_prefetch(template, context, user_id=user_id)
        if resolved != OMIT_KEY:
            out[key] = resolved
    return out
