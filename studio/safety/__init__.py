"""Safety layer: the crisis gate, the output guard, crisis replies by region and the disclosure.

No gradio here; every surface (Chat, Compare, the arena, the CLI, the dataset lint) calls these:
``check_conversation`` on every user turn (urgent: the model is not called) and ``check_reply`` on
every generated reply. ``studio.safety.turn`` strings the two together for a streamed answer.
"""

from studio.safety.gate import DEGRADED_NOTICE, ConversationError, CrisisCheck, check_conversation, check_user_message
from studio.safety.guard import (
    GuardCheck,
    check_reply,
    defers_to_clinician,
    follows_crisis_protocol,
    is_medication_question,
)
from studio.safety.resources import (
    DISCLOSURE,
    REGIONS,
    concern_text,
    first_message_notice,
    header_line,
    region_for,
)
from studio.safety.responses import (
    KINDS,
    TemplateError,
    crisis_reply,
    crisis_template,
    load_crisis_template,
    reset_crisis_template,
    save_crisis_template,
)
from studio.safety.status import safety_status
from studio.safety.turn import TurnSafety, answer_safety, crisis_safety, describe_flags, finish_reply, gate_turn

__all__ = [
    "DEGRADED_NOTICE",
    "DISCLOSURE",
    "KINDS",
    "REGIONS",
    "ConversationError",
    "CrisisCheck",
    "GuardCheck",
    "TemplateError",
    "TurnSafety",
    "answer_safety",
    "check_conversation",
    "check_reply",
    "check_user_message",
    "concern_text",
    "crisis_reply",
    "crisis_safety",
    "crisis_template",
    "defers_to_clinician",
    "describe_flags",
    "finish_reply",
    "first_message_notice",
    "follows_crisis_protocol",
    "gate_turn",
    "header_line",
    "is_medication_question",
    "load_crisis_template",
    "region_for",
    "reset_crisis_template",
    "safety_status",
    "save_crisis_template",
]
