"""Safety layer: the crisis gate, the output guard, crisis resources by region and the disclosure.

No gradio here; the UI tabs call these functions. ``check_user_message`` runs on every user turn
(urgent: the model is not called), ``check_reply`` on every generated reply.
"""

from studio.safety.crisis import CrisisCheck, check_user_message
from studio.safety.guard import (
    GuardCheck,
    check_reply,
    defers_to_clinician,
    follows_crisis_protocol,
    is_medication_question,
)
from studio.safety.pipeline import SafeReply, finalize_reply, safe_reply
from studio.safety.resources import (
    DISCLOSURE,
    REGIONS,
    TemplateError,
    concern_text,
    crisis_template,
    first_message_notice,
    load_crisis_template,
    region_for,
    reset_crisis_template,
    save_crisis_template,
)

__all__ = [
    "DISCLOSURE",
    "REGIONS",
    "CrisisCheck",
    "SafeReply",
    "GuardCheck",
    "TemplateError",
    "check_reply",
    "check_user_message",
    "concern_text",
    "crisis_template",
    "defers_to_clinician",
    "finalize_reply",
    "first_message_notice",
    "follows_crisis_protocol",
    "is_medication_question",
    "load_crisis_template",
    "region_for",
    "reset_crisis_template",
    "safe_reply",
    "save_crisis_template",
]
