"""Pre-flight of Genesys Response Management templates, once per batch.

A response carries no approval status to trust, so before a batch sends through one, the
response is fetched and its substitutions compared with the variables given: a response that
is gone, is not a WhatsApp messaging template, or lacks a value for a substitution halts that
template's sends (they are held and re-queued, never sent broken) and is counted for the alarm.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gcnotify.core.errors import GcnotifyError

if TYPE_CHECKING:
    from gcnotify.genesys.client import GenesysClient
    from gcnotify.genesys.responses import ResponseTemplate
    from gcnotify.messaging.settings import TemplateSettings

__all__ = ["Preflight"]


@dataclass
class Preflight:
    """One batch's checks: each response fetched at most once, its failure remembered."""

    genesys: GenesysClient
    _responses: dict[str, ResponseTemplate | str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # template id → why, for the alarm

    def problem(self, template: TemplateSettings, variables: Mapping[str, object]) -> str | None:
        """Why this template must not be sent now, or None."""
        from gcnotify.genesys.responses import fetch_response, substitution_problems

        response_id = template.genesys_response
        if response_id is None:
            return None
        if response_id not in self._responses:
            try:
                self._responses[response_id] = fetch_response(self.genesys, response_id)
            except GcnotifyError as exc:
                self._responses[response_id] = f"the response could not be read: {exc}"
        found = self._responses[response_id]
        if isinstance(found, str):
            problems = [found]
        else:
            problems = substitution_problems(found, variables.keys())
        if not problems:
            return None
        why = (
            f"template {template.id!r} (Genesys response {response_id}) failed its pre-flight: "
            + "; ".join(problems)
            + ". Its messages are held until the response is fixed in Response Management."
        )
        self.failed[template.id] = why
        return why
