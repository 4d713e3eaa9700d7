"""Build examples/knowledge/treatment-journey-workbook.pdf (a multi-page seed document) with reportlab.

Run: python examples/knowledge-src/make_guide_pdf.py. The PDF is committed; this script is how it was
made, so it can be edited and rebuilt. Each section starts a new page so retrieval cites page numbers.
"""

from __future__ import annotations

from pathlib import Path

from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer

OUT = Path(__file__).resolve().parents[1] / "knowledge" / "treatment-journey-workbook.pdf"

PAGES = [
    ("Your treatment journey: a workbook", [
        "This workbook accompanies a course of ketamine-assisted therapy. It is general information written "
        "for this studio's knowledge base, not medical advice. Your clinic's own instructions come first.",
        "A typical course has three parts. First comes an assessment, where a prescribing clinician reviews your "
        "health, your medicines and your history, and decides with you whether the treatment is suitable. Next "
        "come preparation meetings with your therapist. Then there are several medicine sessions, each followed by "
        "integration work. At the end of the course your care team reviews progress with you and talks about "
        "next steps, which might include maintenance sessions, other therapy, or stopping.",
        "Where sessions happen depends on your programme. Some are in-clinic only (infusions, injections, and "
        "esketamine nasal spray, which is never sent home). Others prescribe lozenges (troches) for some sessions at "
        "home, under a strict protocol: a sober sitter, the medicine locked away from children and pets, and the "
        "clinic's instructions followed exactly. In the US, ketamine is FDA-approved as an anaesthetic and its use "
        "for mental health is off-label; ask your prescriber what this means for you.",
        "If a child or pet swallows a lozenge, or someone takes more than prescribed, call 911 (or your local "
        "emergency number) first if the person is hard to wake, has trouble breathing or has a seizure; "
        "otherwise, in the US, call Poison Help on 1-800-222-1222 (free, 24/7). Then tell your clinic.",
        "Progress is rarely a straight line. Many people notice changes gradually, and some weeks feel harder "
        "than others. Keeping brief notes in this workbook makes it easier to see the overall direction and to "
        "share it with your care team.",
    ]),
    ("Questions to bring to your care team", [
        "Before the course: What are the possible benefits and risks for me? How many sessions should I expect? "
        "Will sessions be in the clinic, at home, or both? Who do I contact between sessions and after hours?",
        "About medicines: Which of my current medicines or supplements matter for this treatment? Should I "
        "change anything? Only your prescriber can answer this; never stop or adjust a medicine on your own. "
        "Ketamine is sedating, and alcohol, benzodiazepines, opioids and other sedatives raise the risk of "
        "dangerously slowed breathing, so tell your prescriber about every medicine and substance you take.",
        "About sessions: What will be monitored, such as blood pressure? How long will I stay at the clinic? "
        "What happens if I feel unwell during a session?",
        "About progress: How will we know whether the treatment is helping? What happens if it is not?",
    ]),
    ("Between sessions: a weekly check-in", [
        "Once a week, take five minutes to note the following. Mood: on a scale from 0 (the lowest) to 10 (the "
        "best), how has your mood been this week? Sleep: have you been sleeping more, less, or about the same? "
        "Energy and appetite: any changes? Connection: who did you spend time with?",
        "Write one sentence about anything from your last session that is still on your mind, and one small step "
        "you took or would like to take. Bring these notes to your integration sessions.",
        "If your mood is dropping week after week, do not wait for the next session: contact your care team. "
        "If you have thoughts of suicide, contact the clinic the same day and, at any hour, call or text 988 or "
        "chat at 988lifeline.org (US), especially after hours. If you are in immediate danger (a plan, the means "
        "at hand, or you have already acted), call 911 or go to the nearest emergency department. Outside the "
        "US, call your local emergency number, or find a crisis line at findahelpline.com.",
    ]),
    ("Glossary", [
        "Set and setting: your mindset going into a session (set) and the physical and social environment "
        "around you (setting). Both shape the experience.",
        "Care team: the people looking after your treatment, usually a prescribing clinician, a therapist, and "
        "clinic nurses or staff.",
        "Esketamine (Spravato): a nasal spray related to ketamine, FDA-approved for certain kinds of depression "
        "and given only in certified clinics, with monitoring for at least 2 hours; it is never sent home.",
        "Dissociation: a temporary feeling of being detached from your body, your surroundings or your usual sense "
        "of self. It is an expected effect during a ketamine session and fades as the medicine wears off.",
        "Integration: the work after a session of making sense of the experience and turning insights into "
        "everyday changes.",
        "Intention: a direction you choose before a session, such as understanding a feeling, rather than a goal "
        "that must be reached.",
        "Off-label: use of an approved medicine for a purpose it is not approved for, such as ketamine for "
        "depression in the US. A prescriber may choose this; ask them why.",
        "Prescriber: the licensed clinician who decides on your medicines, including ketamine. All questions "
        "about starting, stopping or changing medicines go to them.",
        "Sober sitter: a trusted adult who has had no alcohol or drugs and stays with you for the whole of an "
        "at-home session, if your programme includes them.",
    ]),
]

# Printed at the end of the last page (not a page of its own: the workbook keeps its four pages).
SOURCES = [
    "US Food and Drug Administration (FDA), fda.gov: warning on compounded ketamine products (October 2023); "
    "Spravato label. Spravato REMS, spravatorems.com.",
    "988 Suicide &amp; Crisis Lifeline, 988lifeline.org. Find A Helpline, findahelpline.com.",
    "Poison Help (HRSA), poisonhelp.hrsa.gov.",
]


def build(path: Path = OUT) -> Path:
    styles = getSampleStyleSheet()
    story = []
    for number, (title, paragraphs) in enumerate(PAGES):
        if number:
            story.append(PageBreak())
        story.append(Paragraph(title, styles["Heading1"]))
        for text in paragraphs:
            story += [Paragraph(text, styles["BodyText"]), Spacer(1, 8)]
    story.append(Paragraph("Sources", styles["Heading2"]))
    for text in SOURCES:
        story += [Paragraph(text, styles["BodyText"]), Spacer(1, 4)]
    path.parent.mkdir(parents=True, exist_ok=True)
    # invariant=1 keeps the bytes reproducible (no creation timestamp), so rebuilding is a no-op in git.
    SimpleDocTemplate(str(path), pagesize=letter, title="Your treatment journey: a workbook", invariant=1).build(story)
    return path


if __name__ == "__main__":
    print(build())
