"""The model report card: is the tuned model better and safer than the base? (No gradio here.)

``make_card`` answers the eval suite with the raw model(s), scores every answer and stores the report;
``release_check`` is the gate that a push to the Hub passes first.
"""

from studio.eval.card import CardRequest, make_card
from studio.eval.release import ReleaseRefused, gate_decision, release_check

__all__ = ["CardRequest", "ReleaseRefused", "gate_decision", "make_card", "release_check"]
