"""What de-identification looks for beyond the NER model, and what it must never touch.

Regex recognizers (street addresses, calendar dates, ages over 89, record / insurance / member
numbers) and an offline e-mail check plug into Presidio as ordinary recognizers. The protected side
is built from the homes of those facts: crisis numbers from :func:`studio.safety.resources.known_numbers`,
medicine and substance words from :mod:`studio.safety.guard_rules`, plus the ketamine-therapy and
clinical words that a small NER model tends to label PERSON.
"""

from __future__ import annotations

import re
from functools import lru_cache

from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.predefined_recognizers import EmailRecognizer

from studio.safety.guard_rules import DISORDERS, MEDS, SUBSTANCES
from studio.safety.resources import REGIONS, known_numbers

# Placeholder types, in the order reports list them.
TYPES = ("PERSON", "PHONE", "EMAIL", "ADDRESS", "DATE", "AGE", "ID", "URL")

# Presidio entity -> placeholder type. Entities not listed (LOCATION, ORGANIZATION, NRP, DATE_TIME...) are not replaced.
ENTITY_TYPES = {
    "PERSON": "PERSON", "PHONE_NUMBER": "PHONE", "EMAIL_ADDRESS": "EMAIL", "STREET_ADDRESS": "ADDRESS",
    "PERSONAL_DATE": "DATE", "AGE_OVER_89": "AGE", "RECORD_ID": "ID", "US_SSN": "ID", "URL": "URL",
}

PLACEHOLDER_RE = re.compile(r"<(?P<type>[A-Z]+)(?:_(?P<n>\d+))?>")

KETAMINE_VOCAB = (
    r"(?:ketamine|esketamine|arketamine|spravato|ketalar|ketaset|kap|k|special k|troches?|lozenges?|rdts?|infusions?|iv|im|"
    r"nasal|sprays?|dissociat\w*|k-?holes?|khole|psychedelic\w*|journey\w*|sessions?|integration|set|setting|sitter|"
    r"facilitator\w*|eyeshades?|eye-?masks?|playlist|booster|dose|dosing|mg)"
)
CLINICAL_WORDS = (
    r"(?:dr|doc|doctor|nurse|np|pa|therapist|psychiatrist|psychologist|clinician|counsel+or|prescriber|clinic|gp|"
    r"ptsd|cptsd|c-ptsd|adhd|ocd|emdr|ifs|cbt|dbt|act|tms|ect|ssri|snri|maoi|trd|mdd|gad|bpd|"
    r"grounding|mindfulness|meditation|breathwork|journaling|journal|somatic|insurance|medicare|medicaid|"
    r"lifeline|samaritans|refuge|fireside|respect|helpline|hotline|poison|crisis|text|call|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tonight|tomorrow|yesterday|"
    r"ok|okay|lol|hi|hey|hello|thanks|ugh|wow|felt|feeling|maybe|sorry|anyway|also|still|just)"
)
# Drug-name endings (ondansetron, clonazepam, nortriptyline...), for medicines the MEDS list does not name.
DRUG_SUFFIX = r"(?:[a-z]{3,}(?:etron|azepam|azolam|oxetine|pramine|triptyline|azine|apine|idone|olol|pril|sartan|statin|prazole|afil|amine|barbital|codone|morphine))"
_PROTECTED = re.compile(rf"(?:{KETAMINE_VOCAB}|{CLINICAL_WORDS}|{MEDS}|{SUBSTANCES}|{DISORDERS}|{DRUG_SUFFIX})", re.IGNORECASE)
_TOKEN_EDGE = re.compile(r"^[^\w<>]+|[^\w<>]+$")


def is_protected_word(word: str) -> bool:
    """A medicine, ketamine-therapy, clinical or resource word that is never a name."""
    bare = _TOKEN_EDGE.sub("", word)
    return bool(bare) and (_PROTECTED.fullmatch(bare) is not None or bare.lower() in _resource_words())


@lru_cache(maxsize=1)
def _resource_words() -> frozenset[str]:
    names = " ".join(r.name for reg in REGIONS.values() for r in reg.resources)
    return frozenset(w.lower() for w in re.findall(r"[A-Za-z][A-Za-z']{2,}", names))


@lru_cache(maxsize=1)
def crisis_digits() -> frozenset[str]:
    """Digits of every verified crisis / emergency / poison / abuse number (the allow list)."""
    return frozenset(re.sub(r"\D", "", n) for n in known_numbers())


@lru_cache(maxsize=1)
def allowed_domains() -> frozenset[str]:
    """Hosts of the verified resources (988lifeline.org, samaritans.org...): their URLs stay."""
    text = " ".join(f"{r.source} {r.how} {r.phrase}" for reg in REGIONS.values() for r in reg.resources)
    hosts = {h.lower().removeprefix("www.") for h in re.findall(r"(?:https?://)?([\w-]+(?:\.[\w-]+)+)", text)}
    return frozenset(h for h in hosts if not h[0].isdigit() or h.startswith("988"))


def url_allowed(url: str) -> bool:
    host = re.sub(r"^[a-z]+://", "", url.strip().lower()).split("/", 1)[0].split("?", 1)[0].removeprefix("www.")
    return any(host == d or host.endswith("." + d) for d in allowed_domains())


def is_crisis_number(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    # "800-222-1222" and "+1 800 222 1222" are the same line as "1-800-222-1222".
    return bool(digits) and bool({digits, "1" + digits, digits.removeprefix("1")} & crisis_digits())


_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
          r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d\d"
_STREET = (r"(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|crescent|"
           r"close|parkway|pkwy|highway|hwy|circle|cir|square|sq|row|grove|gardens)")
_CAP = r"[A-Z][a-zA-Z'-]+"
_KIN = (r"(?:aunt|auntie|uncle|mum|mom|mother|father|dad|grandmother|grandfather|grandma|grandpa|gran|granny|nan|nana|"
        r"husband|wife|partner|neighbou?r|friend|sister|brother|son|daughter|cousin|housemate|roommate|boss|coworker|"
        r"therapist|sitter|ex|fianc[eé]e?|girlfriend|boyfriend)")

# (entity, regex, group holding the span, case-insensitive?)
RULES: tuple[tuple[str, str, int, bool], ...] = (
    ("STREET_ADDRESS",
     rf"\b(?:(?:flat|apt\.?|apartment|unit|suite)\s*#?\s*\w+,?\s+)?\d{{1,6}}[A-Za-z]?\s+(?:{_CAP}\s+){{0,3}}{_CAP}\s+(?i:{_STREET})\b\.?"
     rf"(?:,?\s+(?i:apt\.?|apartment|unit|suite|flat|#)\s*#?\s*\w+)?"
     rf"(?:,\s*{_CAP}(?:\s{_CAP})?)?(?:,?\s+[A-Z]{{2}})?(?:,?\s+\d{{5}}(?:-\d{{4}})?)?"
     rf"(?:,?\s+[A-Z]{{1,2}}\d[A-Z\d]?\s*\d[A-Z]{{2}})?", 0, False),
    ("PERSONAL_DATE",
     rf"\b(?:{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?|{_DAY}\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR})?|{_MONTH}\s+{_YEAR}"
     rf"|(?:0?[1-9]|1[0-2])/(?:0?[1-9]|[12]\d|3[01])(?:/(?:{_YEAR}|\d\d))?|(?:0?[1-9]|[12]\d|3[01])\.(?:0?[1-9]|1[0-2])\.{_YEAR}"
     rf"|{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01]))\b", 0, True),
    ("AGE_OVER_89", r"\b(9\d|1[01]\d)(?=\s*(?:-|\s)?(?:years?|yrs?)[\s-]*old\b|\s*(?:yo|y/o|y\.o\.)\b|(?:st|nd|rd|th)\s+birthday\b)", 1, True),
    ("AGE_OVER_89",
     rf"\b(?:aged?|turn(?:ed|ing|s)?|(?:she|he|i|they|who|{_KIN})(?:'s|'m|'re| is| am| are| was))\s+"
     r"(?:now\s+|almost\s+|nearly\s+|just\s+)?(9\d|1[01]\d)\b(?!\s*(?:mg|%|minutes?|mins?|percent|pounds|lbs|kg|miles|days|times|dollars))", 1, True),
    # Names right after "my neighbour", "my sister"...: the small NER model misses some of these.
    ("PERSON", rf"\b(?i:my|our|her|his) (?i:{_KIN}),? ({_CAP}(?: {_CAP})?)\b", 1, False),
    # Phone numbers libphonenumber rejects (fictional ranges, typos): 9 to 13 digits in phone-like groups.
    ("PHONE_NUMBER", r"(?<![\w/.-])((?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,5}\)\s?|\d{2,5}[\s.-])\d{3,4}[\s.-]?\d{3,4})(?![\w/-])", 1, False),
    ("RECORD_ID",
     r"\b(?:mrn|medical record(?: number| no\.?| #)?|record (?:number|no\.?|#)|chart (?:number|#)|patient (?:id|number|#)|"
     r"member(?:ship)? (?:id|number|no\.?|#)|policy (?:number|no\.?|#|id)|insurance (?:id|number|#)|subscriber (?:id|number|#)|"
     r"group (?:number|#)|claim (?:number|#)|id (?:number|#)|ssn|social security number|nhs number|medicaid (?:id|number))"
     r"(?:\s*(?:is|was|:|=|-))?\s*#?\s*((?=[a-z0-9-]*\d[a-z0-9 -]*\d[a-z0-9 -]*\d)[a-z0-9](?:[a-z0-9-]|\s(?=\d))*[a-z0-9])", 1, True),
)


class RegexGroupRecognizer(LocalRecognizer):
    """One regex, one entity; the span is a capture group (so "MRN 448192" replaces only the number)."""

    def __init__(self, entity: str, pattern: str, group: int = 0, ignore_case: bool = False, score: float = 0.85):
        self.regex = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
        self.group, self.score = group, score
        super().__init__(supported_entities=[entity], name=f"{entity.lower()}_{id(self) % 10_000}")

    def load(self) -> None:  # nothing to load
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts=None) -> list[RecognizerResult]:
        entity = self.supported_entities[0]
        return [RecognizerResult(entity, m.start(self.group), m.end(self.group), self.score)
                for m in self.regex.finditer(text) if m.group(self.group)]


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recognizer, validating domains with tldextract's bundled suffix list (no network)."""

    def validate_result(self, pattern_text: str) -> bool:
        return _offline_tld()(pattern_text).fqdn != ""


@lru_cache(maxsize=1)
def _offline_tld():
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


def rule_recognizers() -> list[LocalRecognizer]:
    return [RegexGroupRecognizer(entity, pattern, group, ic) for entity, pattern, group, ic in RULES]
