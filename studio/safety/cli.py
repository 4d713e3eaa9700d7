"""Commands: safety check (crisis gate / output guard), safety eval, safety template."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from studio.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    safety = subparsers.add_parser("safety", help="Crisis gate, output guard and their evaluation.")
    sub = safety.add_subparsers(dest="safety_command", metavar="ACTION")

    check = sub.add_parser("check", help="Check user messages (crisis gate) or assistant replies (output guard).")
    check.add_argument("text", nargs="?", help="the message to check (or use --file)")
    check.add_argument("--role", choices=("user", "assistant"), default="user", help="user: crisis gate; assistant: output guard")
    check.add_argument("--file", type=Path, help='JSONL with one {"text": ...} per line (optional "role" per line); one process')
    check.add_argument("--region", default=None, help="crisis resources region (default: STUDIO_REGION or US)")
    check.add_argument("--clinic-phone", default=None, help="clinic number for the template (default: STUDIO_CLINIC_PHONE)")
    check.add_argument("--rules-only", action="store_true", help="skip the learned exemplar match (fast, no embedder)")
    check.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    check.set_defaults(handler=_check)

    ev = sub.add_parser("eval", help="Recall and false alarms of the crisis gate and output guard on examples/safety/.")
    ev.add_argument("--dir", type=Path, default=None, help="folder with user_messages.jsonl and assistant_replies.jsonl")
    ev.add_argument("--rules-only", action="store_true", help="evaluate the rules without the learned exemplar match")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(handler=_eval)

    tpl = sub.add_parser("template", help="Show, set or reset the admin-editable crisis template.")
    tpl.add_argument("--region", default=None)
    tpl.add_argument("--set", dest="set_from", type=Path, help="file with the new template text")
    tpl.add_argument("--reset", action="store_true", help="go back to the default template")
    tpl.add_argument("--json", action="store_true")
    tpl.set_defaults(handler=_template)


def _read_batch(path: Path, default_role: str) -> list[tuple[str, str]]:
    from studio.cli import CommandError

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror or exc}", 2) from None
    items = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path}:{number}: not valid JSON ({exc.msg}); expected {{\"text\": \"...\"}}", 2) from None
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise CommandError(f'{path}:{number}: each line needs a "text" string, like {{"text": "..."}}', 2)
        role = row.get("role", default_role)
        if role not in ("user", "assistant"):
            raise CommandError(f'{path}:{number}: "role" must be "user" or "assistant", got {role!r}', 2)
        items.append((row["text"], role))
    return items


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import CommandError, emit, progress
    from studio.safety import check_reply, check_user_message

    if (args.text is None) == (args.file is None):
        raise CommandError("Give the text to check, or --file F.jsonl (not both).", 2)
    items = _read_batch(args.file, args.role) if args.file else [(args.text, args.role)]
    region = args.region or settings.region
    phone = settings.clinic_phone if args.clinic_phone is None else args.clinic_phone
    if not args.rules_only and any(role == "user" for _, role in items):
        progress("loading the safety embedder (first check only)…")
    results, lines = [], []
    for text, role in items:
        if role == "user":
            result = check_user_message(text, region, phone, learned=not args.rules_only, settings=settings).to_dict()
            lines.append(f"{result['level']:<8} {','.join(result['categories']) or '-'}")
        else:
            result = check_reply(text).to_dict()
            lines.append(f"{'VIOLATION' if result['violation'] else 'ok':<9} {','.join(result['codes']) or '-'}")
        results.append(result)
    emit(args, {"results": results}, "\n".join(lines))
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import CommandError, emit, progress
    from studio.safety import evaluate

    folder = args.dir or evaluate.EVAL_DIR
    if not (folder / "user_messages.jsonl").exists() or not (folder / "assistant_replies.jsonl").exists():
        raise CommandError(f"{folder} needs user_messages.jsonl and assistant_replies.jsonl.", 2)
    if not args.rules_only:
        progress("loading the safety embedder…")
    report = evaluate.run(folder, learned=not args.rules_only)
    emit(args, report, evaluate.summary_text(report))
    return 0


def _template(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import CommandError, emit
    from studio.safety import resources

    if args.set_from and args.reset:
        raise CommandError("Use --set FILE or --reset, not both.", 2)
    if args.reset:
        resources.reset_crisis_template(settings)
    elif args.set_from:
        try:
            text = args.set_from.read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read {args.set_from}: {exc.strerror or exc}", 2) from None
        try:
            resources.save_crisis_template(settings, text)
        except resources.TemplateError as exc:
            raise CommandError(str(exc), 2) from None
    region = args.region or settings.region
    template = resources.load_crisis_template(settings)
    rendered = resources.render_template(template, region, settings.clinic_phone)
    payload = {
        "path": str(resources.template_path(settings)),
        "custom": resources.template_path(settings).exists(),
        "template": template,
        "rendered": rendered,
        "region": resources.region_for(region).code,
    }
    emit(args, payload, rendered)
    return 0
