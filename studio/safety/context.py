"""Conversation awareness for the crisis gate: the last user turn read in the light of the turns before.

Two things a one-message gate cannot see:
1. **Short answers.** "yes" to "are you thinking of hurting yourself?", "no" to "are you safe right
   now?", "the whole bottle, 20 minutes ago" to "how much did you take?". The answer is read
   against the assistant's last question: an answer that confirms a risk question takes the
   question's category at level urgent, and the question and answer are also judged together.
2. **Stickiness.** Once a conversation has been urgent (an urgent user turn, or a crisis reply from
   the assistant), later turns stay at least ``concern`` until the person says they are safe.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from studio.safety.text import clip, normalize

HISTORY = 12  # turns looked back at; older ones do not keep a conversation urgent

_YES = re.compile(
    r"^(?:y|ya|yah|yea|yeah|yes|yep|yup|ye|yess+|uh huh|mhm+|kind of|kinda|sort of|sorta|maybe|i think so|i guess|"
    r"probably|a (?:little|bit)|sometimes|i do|i am|i have|i did|i was|true|right|correct|always|constantly|"
    r"every day|a lot|all the time|honestly,? yes|i think i (?:am|do|might)|not sure)\b"
)
_NO = re.compile(
    r"^(?:n|no|nope|nah|not really|not at all|never|no way|of course not|absolutely not|definitely not|god no|"
    r"hell no|no no)\b"
)
_NOT_SAFE = re.compile(
    r"\b(?:not|n't|never|no longer) (?:feel(?:ing)? )?safe\b|\bunsafe\b|"
    r"\bcan't keep (?:myself|me) safe\b|\bnot sure i(?:'m| am| can be) safe\b"
)
_SAFE = re.compile(
    r"\b(?:i'm|i am|i feel|feeling|i'm feeling) (?:(?!not\b)\w+ )?(?:safe|safer|okay now|ok now|alright now|better now)\b|"
    r"\bi (?:won't|will not|'m not going to|am not going to) (?:do anything|hurt myself|act on (?:it|them|this))\b|"
    r"\bi (?:called|texted|rang|phoned|reached|contacted) (?:988|911|999|000|111|112|1737|the lifeline|lifeline|samaritans|"
    r"the crisis line|a crisis line|my (?:clinic|therapist|doctor|sister|brother|mom|mum|dad|friend|partner))\b|"
    r"\b(?:help|the ambulance|paramedics|police) (?:is|are) (?:here|coming|on (?:the|their) way)\b|"
    r"\bi'm (?:with|at) (?:my|a) (?:\w+ )?(?:sister|brother|mom|mum|dad|friend|partner|husband|wife|neighbou?r|hospital|er)\b|"
    r"\bthe (?:urge|feeling|thoughts?|worst) (?:has |have )?(?:passed|gone|faded)\b"
)
_SAFETY_QUESTION = re.compile(r"\b(?:are|do) you (?:feel(?:ing)? )?safe\b|\bkeep yourself safe\b|\bsafe right now\b")
# A question about risk itself. Everyday words alone ("take", "plan", "voice", "cut") are not enough: a
# "yes" to "would you like to take a few minutes to breathe?" once got the full crisis reply.
_RISK_QUESTION = re.compile(
    r"\b(?:hurt(?:ing)?|harm(?:ing)?|kill(?:ing)?) (?:yourself|you|someone|somebody|anyone|others|them|him|her)\b|"
    r"\bend(?:ing)? (?:your|my) life\b|\bsuicid\w*|\b(?:want(?:ing)?|wish(?:ing)?) (?:to )?(?:die|be dead|disappear)\b|"
    r"\bwish (?:you|i) (?:were|was) dead\b|\b(?:have|had|made|got|make) (?:a|any) (?:plan|means|method)\b"
    r"(?! (?:for|to) (?:tomorrow|today|tonight|the|your (?:session|day|ride|week|evening|morning)))|"
    r"\b(?:a plan|any plans?) (?:to|for) (?:end|hurt|kill|die|how)\w*|\boverdos\w*|"
    r"\b(?:took|taken|take|taking|swallowed) (?:any |some |extra |more |all (?:the |your |of )?|the whole |too many |a lot of )?"
    r"(?:pills|tablets|troches|lozenges|doses?|more than|extra|too much|anything else|something else)\b|"
    r"\bhearing (?:voices|things)\b|\bthe voices\b|\bvoices? (?:telling|saying)\b|\bin danger\b|\bthreaten\w*|"
    r"\bweapons?\b|\bcutting\b|\bcut yourself\b|\bburning yourself\b|\bburn yourself\b"
)
_TAKING = re.compile(r"\b(?:took|taken|take|taking|swallow\w*|pills?|tablets?|troches?|doses?|drank|drink\w*)\b")
_AMOUNT_QUESTION = re.compile(r"\bhow (?:much|many)\b|\bwhat (?:did|have) you (?:take|taken|swallow)\b|\bwhen did you take\b")
_BENIGN_AMOUNT = re.compile(
    r"^(?:none|nothing|zero|0|just|only|my (?:normal|usual|prescribed)|the (?:normal|usual|prescribed)|as prescribed|what i was told)\b"
)
_MORE_THAN_PLANNED = re.compile(r"\b(?:whole|all|every|entire|bottle|pack|lot|many|more|extra|double|triple|\d+)\b")
_CHECK_IN = re.compile(r"\bgently check in\b")
_QUESTION = re.compile(r"[^.!?\n]*\?")
_OTHER_SUBSTANCE_QUESTION = re.compile(
    r"\b(?:anything else|anything with it|other (?:meds|medications?|medicines?|drugs|substances)|alcohol|drink|drinking|"
    r"mix(?:ed)?|combine[d]?|with it)\b"
)
_SEDATIVE = re.compile(
    r"\b(?:beers?|wine|vodka|whiske?y|gin|rum|tequila|shots?|drinks?|alcohol|booze|xanax|alprazolam|valium|diazepam|"
    r"ativan|lorazepam|klonopin|clonazepam|benzos?|oxy\w*|percocet|vicodin|opioids?|fentanyl|heroin|methadone|codeine|"
    r"morphine|tramadol|sleeping pills?|ambien|zolpidem|seroquel|gabapentin|pregabalin)\b"
)


def in_context(turns: list[dict], verdict, judge: Callable[[str], object], learned: bool) -> None:
    """Raise ``verdict`` (the last user turn judged alone) by what the conversation says."""
    history = turns[-HISTORY - 1 : -1]
    answer = normalize(turns[-1]["content"])
    question = _last_question(history)
    if question and len(answer.split()) <= 12:
        _short_answer(question, answer, verdict, lambda q: judge(f"{_user_before(history)} {q}".strip()), learned)
    _sticky(history, answer, verdict, judge)


def is_short_reply_to_question(turns: list[dict]) -> bool:
    """A bare yes or no to the assistant's question: its meaning is in the question, not in the words."""
    answer = normalize(turns[-1]["content"])
    return bool(_last_question(turns[:-1])) and len(answer.split()) <= 6 and bool(_YES.match(answer) or _NO.match(answer))


def _user_before(history: list[dict]) -> str:
    """The user turn the assistant's question followed up on (it gives the question its topic)."""
    return next((t["content"] for t in reversed(history[:-1]) if t["role"] == "user"), "")


def _last_question(history: list[dict]) -> str:
    """The assistant's last question, when the assistant spoke just before the user."""
    if not history or history[-1]["role"] != "assistant":
        return ""
    found = _QUESTION.findall(normalize(history[-1]["content"]))
    return found[-1].strip() if found else ""


def _short_answer(question: str, answer: str, verdict, judge, learned: bool) -> None:
    yes, no = bool(_YES.match(answer)), bool(_NO.match(answer))
    said = f"answered '{clip(answer, 30)}' to '{clip(question, 60)}'"
    if _SAFETY_QUESTION.search(question) and (no or _NOT_SAFE.search(answer)):
        verdict.raise_to("urgent", [], said)
        return
    if _OTHER_SUBSTANCE_QUESTION.search(question) and _SEDATIVE.search(answer) and not no:
        # Ketamine with alcohol, benzodiazepines or opioids, revealed in a short reply: an overdose risk.
        verdict.raise_to("urgent", ["overdose"], said)
        return
    if _AMOUNT_QUESTION.search(question) and (_RISK_QUESTION.search(question) or _TAKING.search(question)):
        if not no and not _BENIGN_AMOUNT.match(answer) and _MORE_THAN_PLANNED.search(answer):
            verdict.raise_to("urgent", ["overdose"], said)
        return
    if no:
        return
    asked = judge(question)  # the question read as if the person had said it
    if yes and asked.level != "none":
        verdict.raise_to(asked.level, asked.categories, said)  # a yes takes the question's own level
    elif yes and _RISK_QUESTION.search(question):
        verdict.raise_to("urgent", ["suicide"], said)
    elif learned:
        together = judge(f"{question} {answer}")
        if together.level != "none" and asked.level == "none":
            verdict.raise_to(together.level, together.categories, f"read with the question before it: {together.reasons[-1]}")


def _sticky(history: list[dict], answer: str, verdict, judge) -> None:
    """Keep a conversation that has been urgent at concern or above until the person says they are safe."""
    since, categories = _last_urgent(history, judge)
    if since is None:
        return
    later_users = [normalize(t["content"]) for t in history[since + 1 :] if t["role"] == "user"] + [answer]
    if _NOT_SAFE.search(answer):
        verdict.raise_to("urgent", categories, "said they are not safe after an urgent turn in this conversation")
        return
    if any(_SAFE.search(text) and not _NOT_SAFE.search(text) for text in later_users):
        return
    verdict.raise_to("concern", categories, "this conversation was urgent earlier and the person has not said they are safe")


def _last_urgent(history: list[dict], judge) -> tuple[int | None, list[str]]:
    for index in range(len(history) - 1, -1, -1):
        turn = history[index]
        if turn["role"] == "assistant" and _is_crisis_reply(turn["content"]):
            categories = _categories_before(history, index, judge)
            return index, categories
        if turn["role"] == "user":
            judged = judge(turn["content"])
            if judged.level == "urgent":
                return index, judged.categories
    return None, []


def _categories_before(history: list[dict], index: int, judge) -> list[str]:
    for turn in reversed(history[:index]):
        if turn["role"] == "user":
            return judge(turn["content"]).categories
    return []


def _is_crisis_reply(text: str) -> bool:
    """An assistant turn that sent the person to crisis help (the concern check-in does not count)."""
    from studio.safety.guard import follows_crisis_protocol

    return follows_crisis_protocol(text) and not _CHECK_IN.search(normalize(text))
