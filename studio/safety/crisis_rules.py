"""The crisis gate's rules: what each category looks like, and which contexts silence it.

Written for the language of ketamine-assisted therapy: "I felt like I died" in a session, goodbye
letters to an old self, grief for someone who died by suicide and self-harm in the past are not
crises; burden, goodbye notes, "sleep and never wake up", plans and means are. Patterns run per
sentence on normalized text (see ``studio.safety.text.normalize``).
"""

from __future__ import annotations

from studio.safety.guard_rules import MEDS
from studio.safety.rules import Rule, context, rule

# --- contexts -------------------------------------------------------------------------------
# A present-tense signal anywhere in the message cancels "this was in the past".
_REACTIVATED = (
    r"\b(?:again|relaps\w*|right now|tonight|lately|these days|this week|urges?|still (?:happening|do|does|doing|"
    r"want|wants|feel|think|have))\b"
)
CONTEXTS = {
    "recovery": context(
        "recovery",
        r"\b(?:used to|years ago|months ago|a (?:long )?time ago|last year|as a (?:teen(?:ager)?|kid|child)|"
        r"when i was (?:younger|little|a (?:teen(?:ager)?|kid|child)|in (?:high )?school)|back then|in the past|"
        r"no longer|free of it|clean (?:for|from)|haven't\b[^.!?]{0,50}\b(?:in|for|since)\b|in recovery|"
        r"recovered|past (?:suicide )?attempts?|went (?:years|months)|survivor|healed|healing from|"
        r"in my (?:teens|twenties|thirties|forties|fifties|youth)|(?:but|and) not (?:since|anymore|for years)|at my (?:lowest|worst)|"
        r"(?:treatment|therapy|sessions?|ketamine|medication) (?:has |have )?helped me|i'm safe now|i moved (?:away|out)|"
        r"when we were (?:kids|children|young|little))",
        unless=_REACTIVATED,
    ),
    "third_party": context(
        "third_party",
        r"\b(?:his|her|their|[a-z]+'s) (?:suicide|overdose|death|suicide attempt)\b|"
        r"\b(?:died|dead|death|lost (?:\w+ ){0,2}?)(?:by|of|from|to) (?:suicide|an overdose|overdose)\b|"
        r"\btook (?:his|her|their) (?:own )?life\b|\bwho (?:killed (?:himself|herself|themselves)|died)\b",
    ),
    "grief_ritual": context(
        "grief_ritual",
        r"\b(?:late|passed|passed away|who died|deceased|in memory)\b|"
        r"\b(?:old|former|younger|past|anxious|addicted|sick) (?:self|me|life|version|habits?|patterns?)\b|"
        r"\bversion of me\b|\bthat drank\b|\bintegration\b|\bhomework\b|\b(?:to|for) my (?:addiction|drinking|depression|anxiety|fear|shame|"
        r"ocd|trauma|eating disorder|inner critic|perfectionism|pain|past|childhood|old \w+)\b",
    ),
    "resolved": context(
        "resolved",
        r"\b(?:it|they|that|then it|the feeling|the panic) (?:passed|lifted|went away|eased|settled|faded|released)\b|"
        r"\b(?:nurse|doctor|guide|staff|therapist) (?:said|told|checked|explained)\b|"
        r"\b(?:which|that|this) (?:is|was|'s) (?:normal|expected|common)\b|\bis (?:that|it|this) (?:normal|common)\b|"
        r"\bi'm (?:okay|ok|fine) now\b|\bduring the (?:session|infusion)\b",
    ),
    "meaningful": context(
        "meaningful",
        r"\b(?:peaceful|beautiful|tender|gentle|reborn|rebirth|blissful|awe|meaningful|in a good way|good cry|"
        r"vision|visuali[sz]ation|k-hole)\b",
    ),
    "warm_body": context("warm_body", r"\b(?:warm|warmth|open|opening|expanding|love|loving|glowing|with emotion)\b"),
    # Jokes about threats ("my kid says he'll kill me if I post his photo, haha").
    "joking": context("joking", r"\b(?:haha+|hehe+|lol|lmao|jk|just kidding|kidding)\b|😂|🤣"),
    "stated_safe": context(
        "stated_safe",
        r"\bi'm safe\b|\bi am safe\b|\b(?:not going to|won't|would never|wouldn't|never) (?:act on|do anything)\b|\bi'd never do anything\b|"
        r"\b(?:they|it|the thoughts?) (?:passed|went away|faded)\b|\bno plans?\b",
    ),
}

# --- building blocks ------------------------------------------------------------------------
_SUBSTANCE = (
    r"(?:ketamine|k\b|spray|sprays|troches?|lozenges?|pills?|meds|medications?|tablets?|doses?|benzos?|xanax|"
    r"sleeping pills?|supply|prescription|bottle|it)"
)
_OTHER = (
    r"(?:him|her|them|someone|somebody|people|everyone|(?:my|the|our|his|her) (?:\w+ ){0,2}?"
    r"(?:ex|boss|brother|sister|wife|husband|partner|girlfriend|boyfriend|baby|kids?|child(?:ren)?|son|"
    r"daughter|(?:step|grand)?(?:mom|mother|dad|father|parents?)|roommate|neighbou?r|coworker|co-worker|landlord|family|teacher|dog|cat)(?:'s)?)"
)
_INTENT = (
    r"(?:want(?:ed)? to|wanna|going to|gonna|will|i'll|i'd|plan(?:ning)? to|urges? to|thought about|think(?:ing)? about|"
    r"thoughts of|could(?: really)?|ready to|about to|decided to|(?:scared|afraid|terrified) i(?:'ll| will| might| could)|"
    r"might|feel like)"
)
_HARM_VERB = r"(?:kill|hurt|stab|shoot|strangle|choke|poison|attack|beat|hit|punch|harm|murder|smother|suffocate|drown|shake)(?:ing)?"
_ABUSER = (
    r"(?:he|she|they|someone|somebody|(?:my|her|his) (?:\w+ )?(?:partner|husband|wife|boyfriend|girlfriend|dad|father|"
    r"mom|mother|step\w+|brother|sister|son|daughter|ex|boss|uncle|aunt|roommate|caregiver|carer|grand\w+|coach|"
    r"teacher|neighbou?r|cousin|family|parents?))"
)
_VOICE = r"(?:voices?|god|the devil|angels?|demons?|something in my head|a presence|spirits?)"
_COMMAND = r"(?:tell|tells|telling|told|order|orders|ordering|ordered|command|commands|commanding|commanded|say|says|saying|said|want|wants|urge|urges|urging)"
_ACT = r"(?:kill|hurt|harm|cut|jump|die|end|burn|stab|drown|shoot|starve|crash|drive into|set|poison|attack|hang|sacrifice)"

S, SH, MED, TO, FROM, CMD, HOPE = (
    "suicide",
    "self_harm",
    "overdose_medical",
    "harm_to_others",
    "harm_from_others",
    "command_hallucination",
    "hopelessness",
)
U, C = "urgent", "concern"
_PAST = ("recovery",)

RULES: tuple[Rule, ...] = (
    # Suicidal ideation, direct.
    rule("suicide.kill_self", S, U, r"\b(?:kill|killing|killed|off|hang|hanging|drown|drowning|shoot|shooting|poison|poisoning|unalive)\s+myself\b|\bkms\b", "talks about killing themself", suppress=_PAST, downgrade=("stated_safe",)),
    rule("suicide.want_die", S, U, r"\b(?:want(?:ed)?|wanna|wish|wishing|ready|going|planning|plan|need|deserve|hope|trying)\s+(?:to\s+)?(?:just\s+)?(?:die|be dead)\b", "wants to die", suppress=_PAST, downgrade=("stated_safe",)),
    rule("suicide.wish_dead", S, U, r"\bhop(?:e|ing) (?:that )?(?:i'll|i will|i) (?:get hit|get killed|die|crash|don't make it|never wake)\b|\bwish(?:ed)? (?:that )?i (?:was|were|could be|had) (?:dead|never been born)\b|\b(?:rather|better off) (?:be )?dead\b", "wishes to be dead", suppress=_PAST),
    rule("suicide.end_life", S, U, r"\b(?:end|ending|take|taking|finish) (?:my|my own) life\b|\bend(?:ing)? it all\b|\b(?:want|going|ready|plan\w*|decided|about) to end (?:it|things|everything)\b(?! with)", "talks about ending their life", suppress=_PAST, downgrade=("stated_safe",)),
    rule("suicide.not_alive", S, U, r"\b(?:don't|do not|no longer) want to (?:be alive|live|exist|be here|keep living|wake up (?:again|ever|tomorrow|anymore))\b|\btired of (?:being alive|living)\b", "does not want to be alive", negatable=False, suppress=_PAST),
    rule("suicide.no_reason", S, U, r"\bno (?:reason|point) (?:for me )?(?:to|in) (?:keep )?(?:living|live|being alive|stay(?:ing)? alive|go(?:ing)? on)\b|\b(?:life|living) (?:isn't|is not|is no longer) worth\b|\bnot worth living\b|\bwhat(?:'s| is) the (?:point|use) (?:of|in) (?:me )?(?:staying alive|living|being alive|going on|being here|existing)\b", "sees no reason to live", suppress=_PAST),
    rule("suicide.word", S, U, r"\bsuicid(?:e|al)\b", "mentions suicide", suppress=("recovery", "third_party"), downgrade=("stated_safe",)),
    # Indirect signals.
    rule("suicide.never_wake", S, U, r"\b(?:sleep|asleep|slept|bed|pills?|take|took|overdose)\b[^.!?]{0,40}\b(?:never|not|n't)\s+(?:to\s+)?wake\b|\b(?:never|not) (?:to )?wake up (?:again|ever)\b|\bhope (?:that )?i (?:don't|do not|never|won't) wake\b", "sleep and never wake up", negatable=False, suppress=_PAST),
    rule("suicide.burden", S, U, r"\b(?:better off|better|happier|relieved|free|easier|lighter)\b[^.!?]{0,40}\bwithout me\b|\bbetter off if i (?:just )?(?:wasn't|weren't|was not|were not|didn't exist|wasn't around|disappeared|died)\b|\bif i (?:was|were|wasn't|weren't) (?:out of the picture|gone|dead|not here|not around)\b|\bif i (?:never existed|had never been born|didn't exist)\b|\b(?:i'm|i am|just|only) (?:just |only )?(?:a |such a )?(?:weight|drain|waste of space|waste of oxygen) (?:on|to|for)\b|\b(?:i'm|i am|i've become|being|just|such) (?:just |only |such )?(?:a|the) burden\b|\bfeel(?:ing)? like (?:a|such a|the|nothing but a) burden\b|\b(?:better off|relieved|happier) if i (?:was|were) (?:gone|dead|not here|never born)|\b(?:relieved|better off|happier) if i disappeared\b|\bif i (?:was|were) gone\b|\bfine without me\b|\bwon't be a (?:problem|burden) (?:for|to) (?:anyone|anybody|you)\b", "feels like a burden / others better off without them", suppress=_PAST, downgrade=("stated_safe",)),
    rule("suicide.nobody_notice", S, U, r"\bnobody would (?:even )?(?:notice|care|miss me) if i\b|\bno one would (?:even )?(?:notice|care|miss me) if i\b", "believes nobody would notice their death", suppress=_PAST),
    rule("suicide.goodbye", S, U, r"\bgoodbye (?:letters?|notes?|messages?)\b|\b(?:suicide|farewell) (?:note|letter)s?\b|\b(?:this is|this will be|this'll be) (?:my )?(?:goodbye|last (?:message|post|time you))\b|\bsaid my goodbyes\b|\bsaid goodbye to (?:my |everyone|everybody)\w*\b[^.!?]{0,60}\b(?:in my own way|don't know it|without (?:telling|them knowing))|\bletters?\b[^.!?]{0,40}\b(?:explaining why|after i'm gone|to find)\b", "goodbye letters or messages", suppress=("grief_ritual", "recovery")),
    rule("suicide.affairs", S, U, r"\b(?:after|when|once) i'm gone\b(?! (?:for|on|to)\b)|\b(?:put|putting|getting|got) my affairs in order\b|\bgave (?:away )?my (?:dog|cat|pets?) to\b|\b(?:made|making) (?:my )?peace with (?:dying|leaving|ending|death)\b|\bleaving this world\b", "putting affairs in order / after I'm gone", suppress=_PAST),
    rule("suicide.not_around", S, U, r"\b(?:won't|will not|don't see myself|not going to) be(?:ing)? (?:around|here)\b[^.!?]{0,20}\b(?:much longer|for long|anymore|tomorrow|next)\b|\bwon't be here (?:tomorrow|much longer)\b|\b(?:won't|will not|don't think i'll|doubt i'll|not going to) be (?:here|around|alive)\b[^.!?]{0,12}\b(?:next (?:week|month|year)|by (?:the weekend|next week|then|monday|friday)|after (?:tonight|today|this week))\b", "won't be around much longer", negatable=False, suppress=_PAST),
    rule("suicide.plan", S, U, r"\b(?:plan|planning|planned|decided|going|ready) to do it (?:tonight|tomorrow|this|soon|when|after|before)\b|\bpick (?:the|a) (?:night|day|date)\b|\b(?:tonight|today)(?:'s| is) the (?:night|day)\b|\bhave a plan (?:for how|to)\b|\b(?:have|got|made|set|picked) a (?:plan|date)\b[^.!?]{0,10}\band a (?:date|time|plan|way|place)\b|\bmy (?:suicide |goodbye |last )?note is (?:written|ready|finished|done)\b|\bdone with (?:it all|all of it|everything|life|living)\b[^.!?]{0,20}\b(?:for good|forever|permanently)\b", "has a plan or timing", suppress=_PAST),
    rule("suicide.means_pills", S, U, rf"\b(?:saving|saved|stockpil\w*|hoard\w*|collecting|collected|stash\w*) (?:up )?(?:my |all my |all of my )?(?:\w+ )?(?:{MEDS}|troches)\b|\b\d+ (?:of )?(?:my )?(?:old )?(?:\w+ )?{MEDS}\b[^.!?]{{0,30}}\b(?:saved|stashed|hidden|put away|hoarded)\b|\b(?:holding|counting) (?:the |my )?(?:bottle of )?pills\b|\bpills (?:are )?(?:lined up|counted out|laid out)\b", "stockpiling or holding pills", suppress=_PAST),
    rule("suicide.means_lethal", S, U, r"\bhow (?:many|much)\b[^.!?]{0,50}\b(?:to die|would kill|kill me|(?:is|are|be|would be) (?:fatal|lethal|deadly)|to not wake|not wake up|to overdose|to end it)\b|\b(?:googl\w*|look(?:ing|ed)? up|research\w*|search\w*)\b[^.!?]{0,40}\b(?:fatal|lethal|deadly|ways to die|how to die|painless)\b|\b(?:lethal|fatal|deadly) (?:dose|amount|combination|overdose)\b|\b(?:are|is) (?:lethal|fatal|deadly) (?:together|in large amounts|if)\b|\bways to kill\b|\bwhat (?:amount|dose) (?:of \w+ )?would be (?:fatal|lethal)\b|\b(?:least painful|painless|quickest|easiest|fastest|surest) ways? to (?:die|go|end it|kill myself|do it)\b|\bif i (?:jumped|jump off|hanged myself|overdosed|took them all)\b[^.!?]{0,30}\b(?:would it|would i|how long|hurt|die)\b|\bhow (?:quick|quickly|easy|easily|fast|simple|painless) it would be(?: to (?:die|end it|jump|step off|step forward|go|crash|let go))?\s*(?:[.!?]|$)", "asks about lethal means"),
    rule("suicide.means_place", S, U, r"\b(?:which|what) (?:bridge|building|cliff)\b[^.!?]{0,30}\b(?:jump|fall)\b|\b(?:bridge|building|cliff|balcony|roof|ledge)\b[^.!?]{0,20}\bi'd jump\b|\b(?:on|at|to) the (?:edge|roof|ledge|bridge|cliff)\b[^.!?]{0,60}\b(?:jump\w*|step(?:ping)? off|fall)\b|\b(?:jump|step|stepping|throw myself) (?:off|from|in front of)\b|\b(?:train|tracks|platform|bridge|ledge|rooftop|cliff)\b[^.!?]{0,60}\b(?:step(?:ping)? (?:forward|off|out)|throw myself|jump(?:ing)? (?:off|in|down))\b", "a place to jump from", suppress=_PAST),
    rule("suicide.means_other", S, U, r"\b(?:bought|got|have|holding|loaded|keep taking out|looked at|looking at|staring at|stared at)\b[^.!?]{0,20}\b(?:a |the |my )?(?:gun|rope|noose)\b|\ball (?:of )?my (?:\w+ )?(?:pills|meds|medications?|tablets)\b[^.!?]{0,40}\b(?:in front of me|on the (?:table|bed|counter)|lined up|ready|next to me)\b|\btied the (?:rope|noose)\b|\bnoose\b|\bgarage\b[^.!?]{0,40}\bengine (?:is )?running\b|\bengine running\b[^.!?]{0,40}\bgarage\b|\btake (?:all|every|the whole|the rest of)\b[^.!?]{0,40}\b(?:pills|meds|medication|ketamine|bottle|supply|at once)\b", "has means at hand", suppress=_PAST),
    rule("suicide.overdose_intent", S, U, r"\boverdos\w*\b[^.!?]{0,20}\bon purpose\b|\b(?:thinking about|want to|going to|plan to) (?:overdose|od)\b", "thinks about overdosing on purpose", suppress=_PAST),
    rule("suicide.third_person", S, C, r"\b(?:wants?|going|trying|plans?|threatening) to (?:kill (?:himself|herself|themselves)|end (?:his|her|their) life)\b", "someone else may be at risk"),
    rule("suicide.high_place", S, U, r"\b(?:bridge|ledge|roof|rooftop|cliff|balcony|overpass|platform|tracks)\b[^!?]{0,80}\b(?:looking down|look down|staring down|stare down|thinking about jumping|can't stop looking)\b", "at a high place, looking down", suppress=_PAST, scope="message"),
    # Means + intent in one sentence: "the pills are ready and I'm going to take them all tonight".
    rule("suicide.take_them_all", S, U, r"\b(?:pills?|meds|medications?|tablets?|bottle|supply|troches?)\b[^.!?]{0,80}\btak(?:e|ing) (?:them|these|those|it) all\b(?!\s+(?:in|to|with|into)\b)|\b(?:pills?|meds|medications?|tablets?|bottle|supply|troches?)\b[^.!?]{0,80}\btak(?:e|ing) all (?:of )?(?:them|those|these|it)\b(?!\s+(?:in|to|with|into)\b)", "has pills at hand and talks of taking them all", suppress=_PAST),
    rule("suicide.pills_just_in_case", S, U, rf"\b(?:bought|buying|got|stocked up on)\b[^.!?]{{0,20}}\b(?:extra|a (?:bunch|lot|ton) of|lots of|bottles of)\b[^.!?]{{0,15}}\b{MEDS}\b[^!?]{{0,30}}\bjust in case\b", "buying extra pills 'just in case'", suppress=_PAST, scope="message"),
    rule("suicide.giving_away", S, U, r"\bg(?:ave|iving|ive) (?:away )?(?:my|all my)\b[^!?]{0,80}\bwon't (?:be )?need(?:ing)? (?:them|it|these|those|any of)\b", "giving things away, won't need them", suppress=_PAST, scope="message"),
    # Self-harm.
    rule("self_harm.act", SH, U, r"\b(?:cut|cutting|cuts|carv(?:e|ed|ing)(?: into)?|burn(?:ed|t|ing)?|scratch(?:ed|ing)?|hit(?:ting)?|hurt(?:ing)?|harm(?:ed|ing)?|stab(?:bed|bing)?|punch(?:ed|ing)?|starv(?:e|ed|ing)|bruis(?:e|ed|ing)|punish(?:ed|ing)?)\s+(?:myself|my (?:arms?|wrists?|legs?|thighs?|skin|stomach|body))\b|\b(?:hit|bang\w*|slam\w*) my head\b", "hurting themself", suppress=_PAST, downgrade=("stated_safe",)),
    rule("self_harm.word", SH, U, r"\bself[- ]?harm\w*\b", "mentions self-harm", suppress=_PAST, downgrade=("stated_safe",)),
    rule("self_harm.urge", SH, U, r"\b(?:want|urge|need|going) to cut\b(?! (?:back|down|out|ties|my hair|costs|corners|carbs|sugar|the)\b)|\bdeserve to (?:hurt|suffer|feel pain|be punished)\b|\bdoing it to myself\b|\bfresh cuts\b|\bcutting again\b|\b(?:slammed|hit|burned|cut|hurt|scratched|bruised|punched|banged|smashed)\b[^.!?]{0,40}\bon purpose\b|\bbecause i deserved? (?:it|the pain|to hurt)\b|\bwant to (?:feel|cause myself) (?:pain|physical pain)\b|\blooking at (?:the )?(?:kitchen )?(?:knives|razors?|blades?)\b", "urge to self-harm", suppress=_PAST, downgrade=("stated_safe",)),
    rule("self_harm.blade", SH, U, r"\b(?:razor|blade)\b[^.!?]{0,20}\bin my hand\b|\b(?:holding|have|got) a (?:razor|blade)\b", "has a blade at hand"),
    # Overdose and medical emergencies.
    rule("medical.too_much", MED, U, r"\b(?:took|taken|had|used|did|snorted|swallowed|sprayed)\s+(?:way |far )?(?:too much|too many)\b(?!\s+(?:time|notes|food|coffee|photos|pictures|money|work|naps?|days?|hours?|sessions?|breaks?|steps)\b)|\bmore (?:of (?:my|the) \w+(?: \w+)? )?than (?:i was|i'm|i am|i was ever) (?:supposed|meant|told|prescribed)|\bmore than (?:prescribed|my prescription|i should)\b|\bdouble[- ]dos\w*\b|\baccidentally (?:took|taken|used|double)\b|\b(?:two|three|extra) doses\b|\btook my (?:whole|entire|week's|month's)\b|\btook (?:my |the |a )?(?:dose|doses|medication|meds|pills?|ketamine|spray|troche)\b[^.!?]{0,20}\b(?:twice|two times|double)\b|\bforgot (?:that )?i (?:already )?(?:had|took|taken) (?:one|it|my dose|a dose)\b|\b(?:two|three|four|five|several|many|a few) (?:extra|more) (?:times|doses|sprays|pills)\b|\b(?:took|taken|had|swallowed|used|snorted|did)\b[^.!?]{0,10}\b(?:a lot|a ton|tons|loads|a bunch|a handful|lots) of\b", "took too much", suppress=("third_party", "recovery")),
    rule("medical.overdosed", MED, U, r"\b(?:i|he|she|they|we|friend|partner)\b[^.!?]{0,10}\b(?:overdosed|od'd|oded)\b|\b(?:swallowed|took) a (?:handful|bottle|whole bottle)\b", "overdose", suppress=("third_party", "recovery")),
    rule("medical.mixed", MED, U, r"\b(?:mixed|combined|took it with|had it with|drank)\b[^.!?]{0,40}\b(?:alcohol|vodka|wine|beer|drinks|booze|benzos?|xanax|opioids?|pills|sleeping pills?|ketamine)\b[^.!?]{0,60}\b(?:now|can't|cannot|throwing up|vomit\w*|sick|dizzy|collapse|pass out|breath\w*|stand|awful|scared)\b", "mixed substances and now feels unwell"),
    rule("medical.breathing", MED, U, r"\b(?:can't|cannot|can not|couldn't|hard to|hard time|trouble|struggling to|difficulty|unable to)\s+(?:catch my |get (?:enough )?)?(?:breath|breathe|breathing|air)\b|\b(?:not|isn't|stopped|stop) breathing\b|\bbreathing (?:feels |is |seems )?(?:really |very |so )?(?:slow|slowly|shallow|weird|strange|labou?red)\b|\blips (?:look |are |turning |turned )?(?:blue|purple|grey|gray)\b|\bturning blue\b|\bbarely breath(?:ing|e)\b", "trouble breathing", suppress=("resolved", "meaningful")),
    rule("medical.allergic", MED, U, r"\b(?:throat|tongue|lips|face) (?:is |are |keeps )?(?:closing|swelling|swollen)\b|\ballergic reaction\b|\banaphyla\w*", "allergic reaction or swelling", suppress=("resolved",)),
    rule("medical.chest", MED, U, r"\bchest\b[^.!?]{0,30}\b(?:pain|painful|hurts?|hurting|tight|tightness|crushing|pressure)\b|\b(?:left )?arm (?:tingles|is tingling|keeps tingling|feels numb|went numb)\b|\b(?:pain|crushing|tightness)\b[^.!?]{0,20}\bchest\b|\bheart attack\b|\barm (?:is |has )?(?:gone |went )?numb\b", "chest pain", suppress=("resolved", "warm_body")),
    rule("medical.unresponsive", MED, U, r"\b(?:he|she|they|he's|she's|they're|friend|boyfriend|girlfriend|partner|husband|wife|son|daughter|roommate|someone|somebody|mom|dad|brother|sister|baby)\b[^.!?]{0,30}\b(?:won't|will not|isn't|is not|doesn't|can't|not) (?:wake up|waking up|waking|respond|responding|breathing|be woken)\b|\bcan'?t wake (?:him|her|them)\b|\b(?:unconscious|unresponsive|seizure|convuls\w*)\b|\b(?:about to|going to|gonna) (?:pass out|faint|collapse|black out)\b|\bfainted\b|\bblacking out\b|\bfoaming at the mouth\b|\bshaking uncontrollably\b|\bheart\b[^.!?]{0,30}\b(?:irregular|skipping beats|won't slow down)\b", "unresponsive, seizure or collapse", suppress=("resolved",)),
    rule("medical.bleeding", MED, U, r"\b(?:a lot of|lots of|so much) blood\b|\bbleeding (?:a lot|badly|won't stop|heavily)\b|\bwon't stop bleeding\b", "heavy bleeding"),
    rule("medical.vomiting", MED, U, r"\b(?:keep|can't stop|won't stop)\b[^.!?]{0,10}\b(?:throwing up|vomiting)\b", "persistent vomiting", suppress=("resolved",)),
    # Harm to others.
    rule("harm_to_others.intent", TO, U, rf"\b{_INTENT}\s+(?:really\s+)?{_HARM_VERB}\s+{_OTHER}\b", "intends to hurt someone", suppress=("joking",)),
    rule("harm_to_others.weapon", TO, U, r"\b(?:knife|gun|weapon|bat)\b[^.!?]{0,60}\b(?:use it on|on (?:him|her|them|my \w+))\b|\b(?:shoot|stab|kill) (?:him|her|them)\b[^.!?]{0,20}\bi mean it\b|\bi'll (?:shoot|stab|kill) (?:him|her|them)\b", "weapon and a target"),
    # Harm from others.
    rule("harm_from_others.violence", FROM, U, rf"\b{_ABUSER}\s+(?:\w+\s+)?(?:hit|hits|beat|beats|choked|chokes|strangled|raped|rapes|assaulted|abused|abuses|molested|kicked|kicks|punched|punches|slapped|slaps|hurts|threatened|threatens|grabbed|shoved|pushed|dragged)\s+me\b|\b(?:being|been|was|got) (?:abused|raped|assaulted|molested|beaten|attacked)\b(?! (?:down|up) by)", "being hurt by someone", suppress=_PAST),
    rule("harm_from_others.threat", FROM, U, r"\bthreat(?:ened|ens|ening)? to (?:kill|hurt|stab|shoot) me\b|\bby the (?:throat|neck)\b|\bif i\b[^.!?]{0,50}\b(?:he|she|they)(?:'ll| will|'d| would)(?: \w+)? (?:kill|hurt|beat|hit) (?:me|my \w+)\b|\b(?:said|says|told me|screaming|yelling|shouting)\b[^.!?]{0,50}\b(?:he|she|they)(?:'ll| will| would|'d| is going to| are going to) (?:kill|hurt|stab|shoot) me\b|\bafraid (?:he|she|they|my \w+)(?:'ll| will| might| is going to) (?:hurt|kill) me\b", "threatened by someone", suppress=("recovery", "joking")),
    rule("harm_from_others.control", FROM, U, rf"\b{_ABUSER}\b[^.!?]{{0,50}}\b(?:touch(?:es|ed|ing)|grop(?:es|ed|ing)) me\b|\b(?:won't|doesn't|does not|will not) let me (?:leave|go out|out|see anyone|call)\b|\blocked (?:me )?in (?:my|the|a)\b|\bscared to go home\b|\btouched me\b[^.!?]{{0,40}}\b(?:couldn't|without|against|inappropriate\w*|didn't want)\b", "controlled, trapped or touched against their will"),
    # Commands from voices.
    rule("command_hallucination.voice", CMD, U, rf"\b{_VOICE}\b[^.!?]{{0,40}}\b{_COMMAND}\b[^.!?]{{0,12}}\b(?:me )?(?:to |i (?:have|need|must|should|ought) (?:to )?)(?:\w+ )?{_ACT}\b(?! (?:back|down|out|go)\b)", "voices commanding harm"),
    rule("command_hallucination.hearing", CMD, U, rf"\bhearing (?:voices|commands)\b[^.!?]{{0,30}}\b{_ACT}\b|\b(?:{_VOICE}|messages? from \w+)\b[^.!?]{{0,30}}\b(?:that )?i (?:have|need|must|ought) to (?:\w+ )?{_ACT}\b", "hears commands to harm"),
    # Concern: hopelessness and passive signals (the model answers; a check-in is appended).
    rule("concern.hopeless", HOPE, C, r"\bhopeless\w*\b|\bwhat'?s (?:even )?the (?:point|use)\b|\bno point (?:in|to) (?:anything|trying|going on)\b|\bpointless\b|\bno way out\b|\btrapped\b|\bwhy (?:do )?i (?:even )?bother\b|\bnothing (?:feels|is|seems) worth (?:it|anything)\b|\bnot worth it any ?more\b|\bno hope for me\b|\bnobody (?:even )?(?:notices|cares)\b|\bnothing (?:brings me joy|makes me happy|matters) any ?more\b|\bso empty\b", "hopelessness"),
    rule("concern.cannot_go_on", HOPE, C, r"\bcan'?t (?:do|take|handle) (?:this|it) any ?more\b|\bhow (?:much )?longer i can (?:keep going|go on|hold on|take)\b|\bcan'?t (?:keep going|go on)\b|\b(?:exhausted|tired) (?:with|of) (?:life|everything)\b|\bgiving up\b|\bgive up on (?:life|everything)\b", "cannot go on"),
    rule("concern.disappear", HOPE, C, r"\b(?:wish|want) (?:i could|to) (?:just )?(?:disappear|vanish)\b|\bif anyone would (?:even )?miss me\b|\bwould (?:anyone|anybody) (?:even )?miss me\b|\bmy (?:own )?funeral\b", "wishes to disappear", suppress=("recovery", "meaningful")),
    rule("concern.dark", HOPE, C, r"\bdark thoughts\b|\bthoughts (?:have been |are )?(?:really |so )?dark\b|\bthink(?:ing)? about death\b|\bthoughts of (?:hurting|harming) myself\b|\bscary thoughts\b", "dark thoughts", suppress=("recovery", "meaningful")),
    rule("concern.withdrawn", HOPE, C, r"\bdon'?t (?:really )?care what happens to me\b|\bhaven'?t left (?:my )?bed\b|\bcan(?:'t| barely| hardly) get out of bed\b|\bhaven'?t (?:eaten|showered|slept|washed|left the house)\b[^.!?]{0,30}\bin (?:days|a week|weeks)\b|\b(?:don't|can't) see (?:a|any) future\b|\bstopped eating\b|\bdrinking (?:every night|a lot|more)\b[^.!?]{0,40}\b(?:cope|numb|forget|get through)\b|\bnot okay\b|\bi'm (?:so )?worthless\b", "withdrawal or self-neglect", negatable=False),
)

# Basic non-English phrases ("I want to die", "I'm going to kill myself", "I don't want to live").
# The embedder is English-only, so these are rules; each names its language in the reason.
NON_ENGLISH: tuple[Rule, ...] = (
    rule("non_english.es", S, U, r"\b(?:quiero|quisiera|me quiero|voy a|pienso en|ganas de) (?:morir(?:me)?|matarme|suicidarme)\b|\bme (?:quiero|voy a) (?:matar|morir|suicidar)\b|\bno quiero (?:vivir|seguir viviendo)\b", "Spanish: wants to die / kill themself", negatable=False),
    rule("non_english.fr", S, U, r"\bje (?:veux|voudrais|vais) (?:mourir|me tuer|me suicider|en finir)\b|\benvie de (?:mourir|me tuer|me suicider|en finir)\b|\bje ne veux plus vivre\b", "French: wants to die / kill themself", negatable=False),
    rule("non_english.de", S, U, r"\bich (?:will|möchte|moechte|werde|wollte)\b[^.!?]{0,20}\b(?:sterben|mich umbringen|mich töten|nicht mehr leben)\b|\bich bringe mich um\b|\bich will nicht mehr\b", "German: wants to die / kill themself", negatable=False),
    rule("non_english.pt", S, U, r"\b(?:quero|vou) (?:morrer|me matar)\b|\bnão quero (?:mais )?viver\b", "Portuguese: wants to die / kill themself", negatable=False),
    rule("non_english.it", S, U, r"\bvoglio (?:morire|uccidermi)\b|\bmi voglio (?:uccidere|ammazzare)\b|\bnon voglio più vivere\b", "Italian: wants to die / kill themself", negatable=False),
)
