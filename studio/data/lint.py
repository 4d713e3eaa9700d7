"""Clinical lint: a clinician's first read of training conversations.

Errors come from the same two functions as Chat, Compare and the arena (``check_conversation`` on
each user turn, in the light of the turns before it, and ``check_reply`` on each assistant turn):
- an assistant turn the output guard flags (dosing, mixing, diagnosis, ...);
- an urgent user turn whose reply does not follow the crisis protocol.
Warnings (``studio.data.lint_text``): a medication question answered without deferring to the
prescribing clinician, confidentiality promises, claims of a monitored setting, phone numbers written
as free text, and numbers from another region's table.

Rows are read as training will see them: placeholders rendered for the dataset's region. The
number checks read the raw text, where a number can only be free text.

The learned classifier reads every text once per Linter (cached by text, encoded in batches).
A dataset with more distinct texts than ``LEARNED_MAX_TEXTS`` is linted with the rules alone, and
the report says so: encoding tens of thousands of texts on a 2-core CPU takes minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from studio.data.lint_text import confidentiality_promises, monitored_setting_claims, number_findings
from studio.data.placeholders import PlaceholderError, region_code, render_conversation
from studio.data.schema import is_renderable

CACHE = 65536
LEARNED_MAX_TEXTS = 3000
REPLY_CODES = {
    "dosing": "Assistant gives dosing information (defer to the prescribing clinician).",
    "mixing": "Assistant says combining ketamine with alcohol or other substances is fine (defer to the prescribing clinician).",
    "medication_change": "Assistant suggests starting, stopping or changing medication (defer to the prescribing clinician).",
    "diagnosis": "Assistant makes a diagnostic statement (an AI companion does not diagnose).",
    "driving": "Assistant says driving after a session is fine (follow the clinic's instructions).",
    "minimizing_risk": "Assistant minimises risk ('very safe', 'no side effects').",
    "promising_cure": "Assistant promises a cure or guaranteed results.",
    "delusion_agreement": "Assistant affirms delusional content (stay warm, do not confirm, suggest the care team).",
    "impersonation": "Assistant poses as a therapist or promises confidentiality it cannot keep.",
    "method_detail": "Assistant gives detail about methods of self-harm or suicide.",
}


@dataclass(frozen=True)
class LintFinding:
    code: str
    message: str
    turn: int  # 1-based message number inside the conversation
    severity: str = "warning"  # "error" for what the safety layer itself would block


class Linter:
    """Lints conversations through ``studio.safety``; ``notice`` says when it ran on the rules alone."""

    def __init__(self, learned: bool = True, region: str = "US") -> None:
        from studio.safety import check_reply, defers_to_clinician, follows_crisis_protocol, is_medication_question

        self.learned = learned
        try:
            self.region = region_code(region)
        except PlaceholderError:
            self.region = region  # validation reports the unknown region; rendering fails, so nothing is linted
        self.notice = ""
        # Datasets repeat turns (the same refusal, the same greeting): each text is checked once per Linter.
        self.check_reply = lru_cache(maxsize=CACHE)(lambda text: check_reply(text, learned=self.learned))
        self.follows_crisis_protocol = lru_cache(maxsize=CACHE)(follows_crisis_protocol)
        self.defers_to_clinician = lru_cache(maxsize=CACHE)(lambda text: defers_to_clinician(text, learned=self.learned))
        self.is_medication_question = lru_cache(maxsize=CACHE)(is_medication_question)
        self._crisis_level = lru_cache(maxsize=CACHE)(self._level)
        self._text_findings = lru_cache(maxsize=CACHE)(self._text_checks)  # the system prompt repeats on every row
        # Each conversation is rendered once per Linter (prepare and lint both read it); keyed by id, the
        # conversation itself is kept alongside so that its id cannot be reused while cached.
        self._renders: dict[int, tuple[dict, dict | None]] = {}

    def prepare(self, convs: list[dict]) -> None:
        """Encode every distinct text in one batch (or fall back to the rules for huge datasets)."""
        if not self.learned:
            return
        rendered = [self._render(c) for c in convs if is_renderable(c)]
        texts = {m["content"] for c in rendered if c for m in c["messages"] if m["role"] != "system"}
        if not self.learned or not texts:
            return
        if len(texts) > LEARNED_MAX_TEXTS:
            self.learned = False
            self.notice = (
                f"clinical lint used the safety rules only: this dataset has {len(texts)} distinct turns and the learned "
                f"classifier reads at most {LEARNED_MAX_TEXTS} per validation (run the safety CLI for a full check)"
            )
            return
        from studio.safety.classifier import ClassifierUnavailable, get_classifier

        try:
            get_classifier().embed(sorted(texts))
        except ClassifierUnavailable as exc:
            self.notice = f"clinical lint is degraded: the learned safety classifier could not load ({exc})"

    def known_render(self, conv: dict, rendered: dict) -> None:
        """Reuse ``render_conversation(conv, region)`` that the caller already computed for this Linter's region."""
        self._renders[id(conv)] = (conv, self._cut(rendered))

    def _render(self, conv: dict) -> dict | None:
        """The conversation as training sees it, with user turns cut to the person's own words."""
        cached = self._renders.get(id(conv))
        if cached is not None and cached[0] is conv:
            return cached[1]
        try:
            rendered = self._cut(render_conversation(conv, self.region))
        except PlaceholderError:
            rendered = None  # validation reports it as an error; there is nothing sound to lint
        self._renders[id(conv)] = (conv, rendered)
        return rendered

    @staticmethod
    def _cut(rendered: dict) -> dict:
        from studio.rag.prompt import question_of

        messages = [{**m, "content": question_of(m["content"])} if m["role"] == "user" else m for m in rendered["messages"]]
        return {**rendered, "messages": messages}

    def lint(self, conv: dict) -> list[LintFinding]:
        """Findings for one raw conversation (placeholders unrendered), in message order."""
        rendered = self._render(conv) if is_renderable(conv) else None
        if rendered is None:
            return []
        findings: list[LintFinding] = []
        for i, (raw, message) in enumerate(zip(conv["messages"], rendered["messages"], strict=True)):
            if message["role"] != "user":
                findings += self._text_findings(raw["content"], message["role"], i + 1)
            if message["role"] == "assistant":
                findings += self._reply_findings(message["content"], i + 1)
            elif message["role"] == "user" and i + 1 < len(rendered["messages"]) and rendered["messages"][i + 1]["role"] == "assistant":
                findings += self._exchange_findings(rendered["messages"][: i + 1], rendered["messages"][i + 1]["content"], i + 2)
        return sorted(findings, key=lambda f: f.turn)

    def _text_checks(self, raw: str, role: str, turn: int) -> list[LintFinding]:
        out = [LintFinding(code, f"turn {turn}: {text}", turn) for code, text in number_findings(raw, self.region)]
        if role == "assistant":
            out += [LintFinding("lint_confidentiality", f"turn {turn}: promises confidentiality (\"{quote}\"); a clinic may log "
                                "chats and confidentiality has limits: point to the clinic's privacy policy instead.", turn)
                    for quote in confidentiality_promises(raw)]
            out += [LintFinding("lint_monitored_setting", f"turn {turn}: assumes a monitored setting (\"{quote}\"); some clinics run "
                                "at-home protocols: say 'if your session is at the clinic' or follow what the person said.", turn)
                    for quote in monitored_setting_claims(raw)]
        return out

    def _reply_findings(self, reply: str, turn: int) -> list[LintFinding]:
        verdict = self.check_reply(reply)
        out = []
        for code in verdict.codes:
            text = REPLY_CODES.get(code, f"Assistant reply flagged by the safety layer ({code}).")
            out.append(LintFinding(f"lint_{code}", f"turn {turn}: {text}", turn, "error"))
        return out

    def _is_crisis(self, so_far: list[dict]) -> bool:
        return self._crisis_level(tuple((m["role"], m["content"]) for m in so_far if m["role"] != "system")) == "urgent"

    def _level(self, turns: tuple[tuple[str, str], ...]) -> str:
        from studio.safety import check_conversation

        messages = [{"role": role, "content": content} for role, content in turns]
        return check_conversation(messages, learned=self.learned).level

    def _exchange_findings(self, so_far: list[dict], reply: str, turn: int) -> list[LintFinding]:
        user = so_far[-1]["content"]
        if self._is_crisis(so_far):
            # The crisis protocol takes precedence over everything else in the reply.
            if self.follows_crisis_protocol(reply):
                return []
            return [LintFinding(
                "lint_crisis_protocol",
                f"turn {turn}: the user message is a crisis but the reply does not follow the crisis protocol "
                "(acknowledge, urge immediate human help through {crisis_line} and {emergency_number}).",
                turn,
                "error",
            )]
        # A reply that routes to crisis help already sends the person to humans; it needs no deferral on top.
        if self.is_medication_question(user) and not self.defers_to_clinician(reply) and not self.follows_crisis_protocol(reply):
            return [LintFinding(
                "lint_medication_deferral",
                f"turn {turn}: a medication question is answered without deferring to the prescribing clinician or care team.",
                turn,
            )]
        return []
