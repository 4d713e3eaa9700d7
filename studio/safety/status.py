"""Is the safety layer whole? What the header (for admins) and Chat show when it is degraded."""

from __future__ import annotations

from studio.safety.classifier import ClassifierUnavailable, get_classifier


def safety_status(load: bool = True) -> dict:
    """``{"ok", "message"}``; ``load=True`` loads the classifier now if it has not loaded yet."""
    from studio.safety.classifier import _CLASSIFIER, load_error
    from studio.safety.gate import DEGRADED_NOTICE

    if _CLASSIFIER is not None:
        return {"ok": True, "message": "Safety checks: classifier and rules active."}
    if load:
        try:
            get_classifier()
            return {"ok": True, "message": "Safety checks: classifier and rules active."}
        except ClassifierUnavailable:
            pass
    error = load_error()
    if error is None and not load:
        return {"ok": True, "message": "Safety checks: the classifier loads with the first message."}
    return {"ok": False, "message": f"{DEGRADED_NOTICE} Every answer carries a check-in until this is fixed. Cause: {error}"}
