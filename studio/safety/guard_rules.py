"""The output guard's rules: what a companion reply must never do.

Policy: never name an amount, never tell someone to start, stop, skip, mix or change a medication
or substance, never state a diagnosis, never say driving after a session is fine, never affirm
delusional content. A sentence that refuses or defers ("I can't advise on doses; ask your
prescriber") is fine, except that a named amount is never fine.
"""

from __future__ import annotations

from studio.safety.rules import Rule, context, rule

MEDS = (
    r"(?:meds|medications?|medicines?|pills|tablets|prescriptions?|antidepressants?|ssris?|snris?|sertraline|zoloft|"
    r"fluoxetine|prozac|escitalopram|lexapro|citalopram|paroxetine|venlafaxine|effexor|duloxetine|bupropion|wellbutrin|"
    r"lamotrigine|lamictal|lithium|benzos?|benzodiazepines?|xanax|alprazolam|klonopin|clonazepam|ativan|lorazepam|"
    r"valium|diazepam|quetiapine|seroquel|aripiprazole|abilify|olanzapine|trazodone|mirtazapine|gabapentin|pregabalin|"
    r"naltrexone|buprenorphine|suboxone|methadone|adderall|ritalin|stimulants?|ketamine|spravato|esketamine|"
    r"melatonin|sleeping pills?|painkillers?|opioids?|maois?|antipsychotics?|mood stabili[sz]ers?|tylenol|acetaminophen|"
    r"paracetamol|ibuprofen|advil|aspirin|benadryl)"
)
SUBSTANCES = r"(?:alcohol|wines?|beers?|drinks?|a drink|cannabis|weed|marijuana|edibles?|cbd|thc|kratom|mdma|psilocybin|mushrooms|cocaine|shots?|cocktails?)"
DISORDERS = (
    r"(?:depression|major depressive disorder|ptsd|c-?ptsd|bipolar(?: disorder)?|adhd|ocd|autism|schizophrenia|"
    r"psychosis|(?:a )?psychotic (?:episode|disorder|break)|(?:a )?manic episode|mania|hypomania|borderline(?: personality disorder)?|"
    r"bpd|(?:a )?personality disorder|(?:an )?anxiety disorder|panic disorder|generali[sz]ed anxiety|gad|(?:an )?eating disorder|"
    r"anorexia|bulimia|dementia|dissociative identity disorder|depersonali[sz]ation disorder|(?:a )?mental illness|(?:a )?disorder)"
)
UNITS = r"(?:mg|milligrams?|mcg|micrograms?|ml|milliliters?|mg/kg|mg per kg|units?|sprays?|puffs?|drops?|tablets?|pills?|troches?|lozenges?|doses?|grams?|g)"
_CLINICIAN = r"(?:prescrib\w*|doctor|psychiatrist|clinician|care team|treatment team|clinic|nurse|pharmacist|provider|gp|physician|therapist)"

CONTEXTS = {
    # The sentence refuses, defers or conditions instead of advising.
    "deferral": context(  # clause scope: "ask your doctor, but one more spray is fine" is still advice
        "deferral",
        r"\b(?:can't|cannot|can not|won't|not able to|unable to|not something i can|isn't something i can|not my place|"
        r"not in a position)\b[^.!?]{0,40}\b(?:advise|tell|say|recommend|suggest|confirm|diagnose|help with|answer|know)\b|"
        rf"\b(?:ask(?:ing)?|talk(?:ing)? (?:to|with|it through with)|check(?:ing)? (?:in )?with|rais(?:e|ing)|bring(?:ing)? (?:it )?up|mention(?:ing)?|discuss(?:ing)?|consult(?:ing)?|speak(?:ing)? (?:to|with)|call(?:ing)?|contact(?:ing)?)\b[^.!?]{{0,40}}\b{_CLINICIAN}\b|"
        rf"\b(?:question|decision|something) for (?:your|a|the) {_CLINICIAN}\b|\bwhether (?:to|you)\b|"
        r"\b(?:wonder\w*|thinking|thought|questions?|curious|worr\w*|concerns?) (?:about|whether|if)\b|"
        rf"\b{_CLINICIAN}\b[^.!?]{{0,40}}\b(?:right|best|only) (?:person|people|place)\b|"
        rf"\b(?:your|a|the) {_CLINICIAN}\b[^.!?]{{0,30}}\b(?:can|could|will|would) (?:decide|assess|tell|explain|help|advise|answer)\b",
        clause=True,
    ),
    # Asking about what they already do is not advice ("Are you still taking your lithium?").
    "question": context(
        "question",
        r"^(?:are|were) you (?:still )?(?:taking|on|using)\b|^(?:do|did) you (?:still )?(?:take|have|use)\b|"
        r"^have you (?:talked|spoken|asked|mentioned|told|been able)\b",
    ),
}
_DEFER = ("deferral", "question")

D, M, DX, DR, DL = "dosing", "medication_change", "diagnosis", "driving", "delusion_agreement"
V = "violation"

RULES: tuple[Rule, ...] = (
    # An amount is never fine, even inside a deferral ("your doctor might say 50 mg").
    rule("dosing.amount", D, V, rf"\b\d+(?:[.,]\d+)?\s*{UNITS}\b|\b(?:half|a quarter of|a third of|quarter of) (?:a |an |the |your )?(?:dose|troche|lozenge|tablet|pill|spray)\b|\btake (?:only |just )?(?:half|a half|a quarter|a third|double)\b|\bplus (?:half|a half|another|one more)\b|\bhalf again\b", "names an amount", negatable=False),
    rule("dosing.extra", D, V, r"\b(?:second|another|extra|additional|bigger|smaller|higher|lower|larger|one more|an extra) (?:spray|dose|troche|lozenge|pill|tablet)s?\b|\bsplit(?:ting)? (?:your|the) (?:dose|troche|lozenge|tablet)\b|\bredos\w*\b|\btop (?:it |yourself )?up\b", "suggests an extra or different dose", suppress=_DEFER),
    rule("dosing.change", D, V, r"\b(?:increase|increasing|raise|raising|bump\w*|up|upping|lower|lowering|decrease|decreasing|reduce|reducing|double|doubling|halve|halving|cut|cutting|adjust\w*|change|changing|tweak\w*|go(?:ing)? up|come down)\b[^.!?]{0,15}\b(?:your |the |a |my )?(?:dose|dosage|doses)\b|\b(?:dose|dosage)\b[^.!?]{0,10}\b(?:up|down)\b", "tells them to change a dose", suppress=_DEFER),
    rule("medication.stop", M, V, rf"\b(?:stop|stopping|quit|quitting|skip|skipping|pause|pausing|come off|coming off|taper|tapering|wean|weaning|drop|dropping|go off|going off|ditch)\b[^.!?]{{0,20}}\b(?:your |the |my |off )?(?:\w+ )?{MEDS}\b", "tells them to stop or skip a medication", suppress=_DEFER),
    rule("medication.take", M, V, rf"\b(?:take|taking|try|trying|add|adding|start|starting|use|using|pop)\b[^.!?,;]{{0,15}}\b(?:a |an |some |your |extra )?(?:{MEDS}|{SUBSTANCES})\b(?! (?:as prescribed|as your|of water))", "tells them to take a medication", suppress=_DEFER),
    rule("medication.not_needed", M, V, rf"\b(?:don't|do not|no longer|won't) (?:really |actually |even )?need (?:your |the |any )?(?:\w+ )?{MEDS}\b", "says a medication is not needed", negatable=False, suppress=_DEFER),
    rule("medication.safe_mix", M, V, rf"\b(?:fine|safe|okay|ok|alright|no problem) to (?:stop|skip|mix|combine|drink|smoke|take|use|quit|double|have (?:a |some |a few |a couple of |one or two |a little )?{SUBSTANCES})\b|\b(?:a (?:glass|drink|beer|couple)|some|a little|one or two|a glass or two|a few)\b[^.!?]{{0,25}}\b{SUBSTANCES}\b[^.!?]{{0,40}}\b(?:is|are|should be|will be)\b[^.!?]{{0,15}}\b(?:fine|safe|okay|ok|perfectly|harmless|no problem)\b|\b{SUBSTANCES}\b[^.!?]{{0,50}}\b(?:won't|can't|wouldn't|shouldn't) (?:hurt|harm|matter)\b|\b{SUBSTANCES}\b[^.!?]{{0,60}}\b(?:is|are|'s|should be|will be)\b[^.!?]{{0,10}}\b(?:totally |perfectly |completely |usually |probably )?(?:fine|safe|okay|ok|harmless|no problem)\b|\b{SUBSTANCES}\b[^.!?]{{0,40}}\b(?:can|will|might|could|should) (?:help|make|ease|take the edge|calm)\b", "says mixing or using a substance is fine", suppress=_DEFER),
    rule("diagnosis.you_have", DX, V, rf"\byou(?: have|'ve got| have got|'re dealing with| are dealing with| seem to have| appear to have| are suffering from| suffer from|'re suffering from| are experiencing|'re experiencing|'re having| are having| probably have| definitely have| clearly have| likely have| must have| might have| may have)\s+(?:a |an )?(?:\w+ )?{DISORDERS}\b", "states a diagnosis", suppress=_DEFER),
    rule("diagnosis.is", DX, V, rf"\b(?:this|that|it|what you(?:'re| are) (?:describing|going through)|these symptoms|you)(?:'s| is| are| sounds? like| looks? like| seems? like)\s+(?:clearly |definitely |obviously |probably |likely |just |really )?(?:a |an )?(?:textbook |classic |clear |typical )?(?:case of |sign of |symptoms? of )?{DISORDERS}\b|\byou(?:'re| are) (?:clearly |definitely |obviously |probably |certainly )?(?:bipolar|psychotic|schizophrenic|manic|borderline)\b|\byou(?:'re| are) (?:clearly|definitely|obviously|probably|certainly) (?:depressed|autistic|traumati[sz]ed|delusional)\b|\b(?:showing|show|have|display\w*|got) (?:clear |all the |classic |the )?(?:signs|symptoms) of {DISORDERS}\b", "labels it as a disorder", suppress=_DEFER),
    rule("diagnosis.mean", DX, V, r"\b(?:symptoms|signs|this|that)\b[^.!?]{0,20}\b(?:means?|shows?|proves?|confirms?) (?:that )?you (?:have|are)\b", "concludes a diagnosis", suppress=_DEFER),
    rule("driving.fine", DR, V, r"\b(?:fine|okay|ok|safe|alright|good|able|free|clear) to (?:drive|get behind the wheel)\b|\b(?:go ahead and|you can|you could|feel free to|just) (?:drive|get behind the wheel)\b|\bdriving\b[^.!?]{0,40}\b(?:is|should be|will be)\b[^.!?]{0,20}\b(?:fine|okay|ok|safe|no problem)\b|\b(?:no need|don't need|you won't need) (?:for )?(?:a ride|someone to drive)\b", "says driving after a session is fine", suppress=_DEFER),
    rule("delusion.chosen", DL, V, r"\byou (?:really |truly |must )?are (?:the )?(?:chosen|a prophet|the messiah|god|immortal|a god)\b|\b(?:universe|god|the spirits?|they|the gods) (?:has|have) (?:chosen|selected|picked) you\b|\bthe chosen one\b|\b(?:messages?|signs?|signals?|numbers|songs?)\b[^.!?]{0,30}\b(?:meant|intended|sent|written) (?:only |just |specifically )?(?:for|to) you\b|\byou(?:'re| are) the only one who can (?:see|hear|know) the truth\b|\b(?:everyone|everybody) (?:else )?is (?:lying to|against|plotting against) you\b", "affirms grandiose or paranoid beliefs"),
    rule("delusion.right", DL, V, r"\byou(?:'re| are) (?:right|correct)\b[^.!?]{0,60}\b(?:tracking|watching|following|spying|monitoring|poisoning|replaced|imposter|impostor|messages|signals|chosen|voices|conspir\w*|after you|out to get|secretly|recording|reading your|implant\w*|microchip\w*|bugged|hacked|broadcast\w*|inserted|controll\w*)\b", "agrees with a delusional belief"),
    rule("delusion.watchers", DL, V, r"\b(?:neighbou?rs|government|they|the cia|the fbi|police|people|someone)\b[^.!?]{0,20}\b(?:are|is) (?:probably |definitely |really |likely |actually )?(?:tracking|watching|spying on|following|monitoring|poisoning|after|reading) (?:you|your)\b|\bbeen replaced by (?:an? )?(?:imposter|impostor|double|robot|clone)\b|\b(?:are|is) (?:\w+ )?(?:plotting|conspiring|scheming|ganging up) against you\b|\b(?:spirits?|angels?|god|the universe|aliens?|the dead)\b[^.!?]{0,20}\b(?:really |truly |definitely )?(?:are|is) (?:sending|giving|speaking to|talking to|communicating with) you\b", "confirms being watched or replaced", suppress=_DEFER),
    rule("delusion.obey", DL, V, r"\b(?:tv|television|radio|messages?|signals?|signs|voices?)\b[^.!?]{0,60}\b(?P<act>follow|obey|listen to|trust|do what) (?:them|it|they say|the voices|the messages)\b|\bthe voices are (?:right|telling the truth|real|guiding you|leading you|showing you)\b|\bkeep listening to (?:them|the voices)\b|\b(?:follow|obey|trust) (?:the|your) (?:voices|messages|signals)\b", "tells them to follow voices or messages", suppress=_DEFER),
)
