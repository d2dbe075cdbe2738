"""Checks of a CDS Hooks 2.0 service response (``{"cards": [...], "systemActions": [...]}``).

:func:`validate_cds_response` returns one message per problem, each starting with the JSON path
(``cards[0].summary: 141 characters (must be < 140)``); an empty list means the response
follows the rules below. Sections refer to the CDS Hooks 2.0 specification
(cds-hooks.hl7.org/2.0, "CDS Service Response").

- **Response**: a JSON object; ``cards`` required, an array of Cards; ``systemActions``
  optional, an array of Actions.
- **No null, no empty object** anywhere in the response, resources inside actions included
  (the spec's JSON rule: attributes MUST NOT be ``null`` and objects MUST NOT be empty). An
  empty array is allowed (``"cards": []`` is the spec's own example).
- **Card** ("Card Attributes"): ``summary`` required string, fewer than 140 characters
  (Unicode code points); ``indicator`` required, ``info`` | ``warning`` | ``critical``;
  ``source`` required (below); ``uuid`` and ``detail`` optional strings; ``suggestions``
  optional array, and when present ``selectionBehavior`` is required, ``at-most-one`` | ``any``
  (the value is checked whenever present); ``overrideReasons`` optional array of Codings, each
  with ``code``, ``system`` and ``display``; ``links`` optional array.
- **Source** ("Source"): ``label`` required string; ``url`` and ``icon`` optional strings;
  ``topic`` optional Coding (``code`` and ``system`` required, ``display`` optional).
- **Suggestion** ("Suggestion"): ``label`` required string; ``uuid`` optional string;
  ``isRecommended`` optional boolean; ``actions`` optional array of Actions.
- **Action** ("Action", "System Action"): ``type`` required, ``create`` | ``update`` |
  ``delete``; ``description`` a string, required in a suggestion's actions and optional in
  ``systemActions`` (decision: the spec's system-action examples carry none, and nobody reads a
  system action before it applies); ``resource`` required for create and update, a FHIR
  resource (an object with ``resourceType``); ``resourceId`` required for delete, a relative
  reference string or an array of them (both forms appear in 2.0 builds).
- **Link** ("Link"): ``label``, ``url`` and ``type`` required strings, ``type`` ``absolute`` |
  ``smart``; ``appContext`` optional string, valid for smart links only; ``autolaunchable``
  optional boolean.

Members the spec does not define are allowed (``extension`` and other additions).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

#: Card ``summary`` length limit: the summary must be shorter than this (code points).
SUMMARY_LIMIT = 140
INDICATORS = ("info", "warning", "critical")
SELECTION_BEHAVIORS = ("at-most-one", "any")
ACTION_TYPES = ("create", "update", "delete")
LINK_TYPES = ("absolute", "smart")


def _kind(value: Any) -> str:
    """The JSON type of ``value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _at(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _shown(path: str) -> str:
    return path or "(response)"


class _Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{_shown(path)}: {message}")

    # -- the JSON rule: no null, no empty object ------------------------------------------------
    def nulls(self, value: Any, path: str) -> None:
        """Every null and empty object under ``value``, in document order (an explicit stack:
        no recursion limit on deeply nested resources)."""
        stack: list[tuple[Any, str]] = [(value, path)]
        while stack:
            item, where = stack.pop()
            if item is None:
                self.error(where, "null is not allowed (omit the member instead)")
            elif isinstance(item, Mapping):
                if not item:
                    self.error(where, "empty object is not allowed (omit it instead)")
                children = [(v, _at(where, str(k))) for k, v in item.items()]
                stack.extend(reversed(children))
            elif isinstance(item, list):
                stack.extend(reversed([(v, _at(where, i)) for i, v in enumerate(item)]))

    # -- typed members ------------------------------------------------------------------------
    def member(
        self,
        obj: Mapping[str, Any],
        path: str,
        key: str,
        kind: str,
        *,
        required: bool = False,
        allowed: tuple[str, ...] = (),
    ) -> Any:
        """``obj[key]`` when it has JSON type ``kind`` (and is one of ``allowed``), else None
        after recording the problem. A null is reported once, by :meth:`nulls`."""
        where = _at(path, key)
        if key not in obj:
            if required:
                self.error(where, "required")
            return None
        value = obj[key]
        if value is None:
            return None
        if _kind(value) != kind:
            self.error(
                where, f"must be {'an' if kind[0] in 'aeio' else 'a'} {kind}, got {_kind(value)}"
            )
            return None
        if allowed and value not in allowed:
            self.error(where, f"{value!r} is not one of {', '.join(allowed)}")
            return None
        return value

    def items(
        self,
        obj: Mapping[str, Any],
        path: str,
        key: str,
        check: Callable[[Mapping[str, Any], str], None],
        *,
        required: bool = False,
    ) -> list[Any] | None:
        """Run ``check`` on each object of the array ``obj[key]``."""
        values = self.member(obj, path, key, "array", required=required)
        if values is None:
            return None
        for i, item in enumerate(values):
            where = _at(_at(path, key), i)
            if isinstance(item, Mapping):
                check(item, where)
            elif item is not None:
                self.error(where, f"must be an object, got {_kind(item)}")
        return list(values)

    # -- the response's parts -----------------------------------------------------------------
    def response(self, doc: Any) -> None:
        if not isinstance(doc, Mapping):
            self.error("", f"must be a JSON object with a cards array, got {_kind(doc)}")
            return
        self.nulls(doc, "")
        self.items(doc, "", "cards", self.card, required=True)
        self.items(doc, "", "systemActions", self.system_action)

    def card(self, card: Mapping[str, Any], path: str) -> None:
        summary = self.member(card, path, "summary", "string", required=True)
        if summary is not None and len(summary) >= SUMMARY_LIMIT:
            self.error(
                _at(path, "summary"), f"{len(summary)} characters (must be < {SUMMARY_LIMIT})"
            )
        self.member(card, path, "indicator", "string", required=True, allowed=INDICATORS)
        source = self.member(card, path, "source", "object", required=True)
        if source is not None:
            self.source(source, _at(path, "source"))
        self.member(card, path, "uuid", "string")
        self.member(card, path, "detail", "string")
        suggestions = self.items(card, path, "suggestions", self.suggestion)
        self.member(card, path, "selectionBehavior", "string", allowed=SELECTION_BEHAVIORS)
        if suggestions is not None and "selectionBehavior" not in card:
            self.error(
                _at(path, "selectionBehavior"),
                "required when the card has suggestions (at-most-one or any)",
            )
        self.items(card, path, "overrideReasons", self.override_reason)
        self.items(card, path, "links", self.link)

    def source(self, source: Mapping[str, Any], path: str) -> None:
        self.member(source, path, "label", "string", required=True)
        self.member(source, path, "url", "string")
        self.member(source, path, "icon", "string")
        topic = self.member(source, path, "topic", "object")
        if topic is not None:
            self.coding(topic, _at(path, "topic"), display=False)

    def coding(self, coding: Mapping[str, Any], path: str, *, display: bool) -> None:
        self.member(coding, path, "code", "string", required=True)
        self.member(coding, path, "system", "string", required=True)
        self.member(coding, path, "display", "string", required=display)

    def override_reason(self, coding: Mapping[str, Any], path: str) -> None:
        self.coding(coding, path, display=True)

    def suggestion(self, suggestion: Mapping[str, Any], path: str) -> None:
        self.member(suggestion, path, "label", "string", required=True)
        self.member(suggestion, path, "uuid", "string")
        self.member(suggestion, path, "isRecommended", "boolean")
        self.items(suggestion, path, "actions", self.suggested_action)

    def suggested_action(self, action: Mapping[str, Any], path: str) -> None:
        self.action(action, path, description=True)

    def system_action(self, action: Mapping[str, Any], path: str) -> None:
        self.action(action, path, description=False)

    def action(self, action: Mapping[str, Any], path: str, *, description: bool) -> None:
        kind = self.member(action, path, "type", "string", required=True, allowed=ACTION_TYPES)
        self.member(action, path, "description", "string", required=description)
        if kind in ("create", "update"):
            resource = self.member(action, path, "resource", "object", required=True)
            if resource is not None:
                self.member(
                    resource, _at(path, "resource"), "resourceType", "string", required=True
                )
        elif "resource" in action:
            self.member(action, path, "resource", "object")
        if "resourceId" in action or kind == "delete":
            self.resource_id(action, path, required=kind == "delete")

    def resource_id(self, action: Mapping[str, Any], path: str, *, required: bool) -> None:
        where = _at(path, "resourceId")
        if "resourceId" not in action:
            if required:
                self.error(where, "required for a delete action")
            return
        value = action["resourceId"]
        if value is None:
            return
        if isinstance(value, list):
            if not value and required:
                self.error(where, "must name at least one resource")
            for i, item in enumerate(value):
                if item is not None and (not isinstance(item, str) or not item):
                    self.error(_at(where, i), f"must be a non-empty string, got {_kind(item)}")
        elif not isinstance(value, str) or not value:
            self.error(where, f"must be a string or an array of strings, got {_kind(value)}")

    def link(self, link: Mapping[str, Any], path: str) -> None:
        self.member(link, path, "label", "string", required=True)
        self.member(link, path, "url", "string", required=True)
        kind = self.member(link, path, "type", "string", required=True, allowed=LINK_TYPES)
        context = self.member(link, path, "appContext", "string")
        if context is not None and kind == "absolute":
            self.error(_at(path, "appContext"), "only valid for smart links")
        self.member(link, path, "autolaunchable", "boolean")


def validate_cds_response(doc: Any) -> list[str]:
    """The problems of a CDS Hooks 2.0 response document (parsed JSON), each naming its JSON
    path; ``[]`` when it is valid. See the module docs for the rules.

    >>> validate_cds_response({"cards": []})
    []
    >>> validate_cds_response({"cards": [{"summary": "x", "indicator": "urgent",
    ...                                   "source": {"label": "s"}}]})
    ["cards[0].indicator: 'urgent' is not one of info, warning, critical"]
    """
    checker = _Checker()
    checker.response(doc)
    return checker.errors
