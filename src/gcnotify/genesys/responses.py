"""Response Management responses: the WhatsApp templates agentless messages name.

A response carries no approval status to trust, so a template is checked before its sends: it
exists, it is a ``MessagingTemplate`` with a WhatsApp definition, and its substitutions match
the variables a request gives (``GET /api/v2/responsemanagement/responses/{responseId}``, the
SDK's ``Response`` and ``ResponseSubstitution``). The check itself is pure.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from gcnotify.core.errors import GenesysRequestError

if TYPE_CHECKING:
    from gcnotify.genesys.client import GenesysClient

__all__ = [
    "RESPONSES_PATH",
    "RESPONSE_PERMISSION",
    "ResponseTemplate",
    "Substitution",
    "fetch_response",
    "substitution_problems",
]

RESPONSES_PATH = "/api/v2/responsemanagement/responses"
RESPONSE_PERMISSION = "responses:response:view"
MESSAGING_TEMPLATE = "MessagingTemplate"


@dataclass(frozen=True)
class Substitution:
    """One placeholder of a response: its id (what ``bodyParameters[].id`` names) and default."""

    id: str
    default: str | None


@dataclass(frozen=True)
class ResponseTemplate:
    """What a send needs to know about a response: its kind, placeholders and WhatsApp name."""

    id: str
    name: str
    response_type: str | None
    substitutions: tuple[Substitution, ...]
    whatsapp_name: str | None
    language: str | None


def fetch_response(client: GenesysClient, response_id: str) -> ResponseTemplate:
    """The response ``response_id`` of this org, with its substitutions.

    A 404 is a ``GenesysRequestError`` saying the id does not exist here (a response made in
    another org, or deleted), so the template's sends halt with that reason.
    """
    if not response_id.strip():
        raise ValueError("the response id is empty")
    path = f"{RESPONSES_PATH}/{quote(response_id, safe='')}"
    try:
        answer = client.get_json(
            path, {"expand": "substitutionsSchema"}, permission=RESPONSE_PERMISSION
        )
    except GenesysRequestError as exc:
        if exc.status != 404:
            raise
        raise GenesysRequestError(
            f"the Response Management response {response_id!r} does not exist in this Genesys "
            "Cloud org (GET answered 404). Check the template's genesys_response in "
            "gcnotify.yaml: copy the id of the approved WhatsApp template's response from "
            "Admin > Contact Center > Canned Responses of this org.",
            status=404,
            code=exc.code,
        ) from exc
    return _template(answer, response_id)


def _template(answer: Mapping[str, Any], response_id: str) -> ResponseTemplate:
    found_id, name = answer.get("id"), answer.get("name")
    if not isinstance(found_id, str) or not isinstance(name, str):
        raise GenesysRequestError(
            f"GET {RESPONSES_PATH}/{response_id} answered without a response id and name; check "
            "that the API URL (GCNOTIFY_GENESYS_API_URL or genesys.environment) points at "
            "Genesys Cloud."
        )
    substitutions: list[Substitution] = []
    listed = answer.get("substitutions")
    for item in listed if isinstance(listed, list) else ():
        if isinstance(item, Mapping) and isinstance(item.get("id"), str) and item["id"]:
            default = item.get("defaultValue")
            substitutions.append(
                Substitution(item["id"], default if isinstance(default, str) else None)
            )
    response_type = answer.get("responseType")
    template = answer.get("messagingTemplate")
    whatsapp = template.get("whatsApp") if isinstance(template, Mapping) else None
    whatsapp = whatsapp if isinstance(whatsapp, Mapping) else {}
    wa_name, language = whatsapp.get("name"), whatsapp.get("language")
    return ResponseTemplate(
        id=found_id,
        name=name,
        response_type=response_type if isinstance(response_type, str) else None,
        substitutions=tuple(substitutions),
        whatsapp_name=wa_name if isinstance(wa_name, str) and wa_name else None,
        language=language if isinstance(language, str) and language else None,
    )


def substitution_problems(template: ResponseTemplate, given: Collection[str]) -> list[str]:
    """Why sending ``template`` with the variables ``given`` would go wrong; empty when it fits.

    Listed together: a response that is not a ``MessagingTemplate`` with a WhatsApp definition,
    each substitution with neither a value nor a default, each variable the response has no
    substitution for (it would be dropped silently).
    """
    problems: list[str] = []
    label = f"response {template.id!r} ({template.name})"
    if template.response_type != MESSAGING_TEMPLATE or template.whatsapp_name is None:
        kind = template.response_type or "a response without a type"
        problems.append(
            f"{label} is {kind}, not a {MESSAGING_TEMPLATE} with a WhatsApp definition; point "
            "the template at the response created for the approved WhatsApp template"
        )
    known = {s.id for s in template.substitutions}
    for substitution in template.substitutions:
        if substitution.id not in given and substitution.default is None:
            problems.append(
                f"substitution {substitution.id!r} of {label} has no value and no default; give "
                f"the variable {substitution.id!r}"
            )
    for name in sorted(set(given) - known):
        listed = ", ".join(repr(s.id) for s in template.substitutions) or "none"
        problems.append(
            f"variable {name!r} is not a substitution of {label} (its substitutions: {listed}); "
            "remove it or fix its name"
        )
    return problems
