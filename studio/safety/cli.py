"""Commands: safety check (crisis gate / output guard), safety eval, safety train, safety template."""

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
    check.add_argument(
        "--file",
        type=Path,
        help='JSONL, one check per line: {"text": ...} (optional "role") or {"messages": [{"role", "content"}, ...]} '
        "(a conversation whose last message is the user turn to rate)",
    )
    check.add_argument("--region", default=None, help="crisis resources region (default: STUDIO_REGION or US)")
    check.add_argument("--clinic-phone", default=None, help="clinic number for the template (default: STUDIO_CLINIC_PHONE)")
    check.add_argument("--rules-only", action="store_true", help="skip the learned classifier (rules alone, no encoder)")
    check.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    check.set_defaults(handler=_check)

    ev = sub.add_parser(
        "eval",
        help="Recall and false alarms (with 95%% intervals) per category and level on the labelled sets, "
        "and cross-validation that holds out whole writing styles of the training corpus.",
    )
    ev.add_argument("--dir", type=Path, default=None, help="a folder with labelled sets (default: examples/safety)")
    ev.add_argument("--rules-only", action="store_true", help="evaluate the rules without the learned classifier")
    ev.add_argument("--no-cv", action="store_true", help="skip the style-held-out cross-validation (about a minute)")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(handler=_eval)

    tr = sub.add_parser("train", help="Retrain the safety classifiers from examples/safety/corpus (fixed seed).")
    tr.add_argument("--json", action="store_true")
    tr.set_defaults(handler=_train)

    tpl = sub.add_parser("template", help="Show, set or reset the admin-editable crisis template.")
    tpl.add_argument("--region", default=None)
    tpl.add_argument("--kind", default="suicide", help="which crisis reply: suicide, overdose, medical, abuse, harm_to_others, psychosis")
    tpl.add_argument("--set", dest="set_from", type=Path, help="file with the new template text")
    tpl.add_argument("--reset", action="store_true", help="go back to the default template")
    tpl.add_argument("--json", action="store_true")
    tpl.set_defaults(handler=_template)


def _read_batch(path: Path, default_role: str) -> list[tuple[object, str]]:
    """Items to check: (text, role) or (messages, "conversation"); errors name the line."""
    from studio.cli import CommandError
    from studio.safety import ConversationError
    from studio.safety.gate import validate_messages

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"Cannot read {path}: {getattr(exc, 'strerror', None) or exc}", 2) from None
    items: list[tuple[object, str]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise CommandError(f"{path}:{number}: not valid JSON ({getattr(exc, 'msg', 'nested too deeply')}); expected {{\"text\": \"...\"}} or {{\"messages\": [...]}}", 2) from None
        if isinstance(row, dict) and "messages" in row:
            try:
                items.append((validate_messages(row["messages"]), "conversation"))
            except ConversationError as exc:
                raise CommandError(f"{path}:{number}: {exc}", 2) from None
            continue
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise CommandError(f'{path}:{number}: each line needs a "text" string or a "messages" list, like {{"text": "..."}}', 2)
        role = row.get("role", default_role)
        if role not in ("user", "assistant"):
            raise CommandError(f'{path}:{number}: "role" must be "user" or "assistant", got {role!r}', 2)
        items.append((row["text"], role))
    return items


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import CommandError, emit, progress
    from studio.safety import check_conversation, check_reply

    if (args.text is None) == (args.file is None):
        raise CommandError("Give the text to check, or --file F.jsonl (not both).", 2)
    items = _read_batch(args.file, args.role) if args.file else [(args.text, args.role)]
    region = args.region or settings.region
    phone = settings.clinic_phone if args.clinic_phone is None else args.clinic_phone
    if not args.rules_only:
        progress("loading the safety classifier (first check only)…")
    results, lines = [], []
    for item, role in items:
        if role == "assistant":
            result = check_reply(item, learned=not args.rules_only).to_dict()
            lines.append(f"{'VIOLATION' if result['violation'] else 'ok':<9} {','.join(result['codes']) or '-'}")
        else:
            messages = item if role == "conversation" else [{"role": "user", "content": item}]
            result = check_conversation(messages, region, phone, learned=not args.rules_only, settings=settings).to_dict()
            lines.append(f"{result['level']:<8} {','.join(result['categories']) or '-'}")
        results.append(result)
    emit(args, {"results": results}, "\n".join(lines))
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import CommandError, emit, progress
    from studio.safety import evaluate

    folder = args.dir or evaluate.EVAL_DIR
    if not folder.is_dir() or not evaluate.find_sets(folder):
        raise CommandError(f"{folder} holds no labelled sets (*user_messages.jsonl, *assistant_replies.jsonl, *conversations.jsonl).", 2)
    if not args.rules_only:
        progress("loading the safety classifier…")
    try:
        report = evaluate.run(folder, learned=not args.rules_only, settings=settings, cv=not (args.no_cv or args.rules_only), progress=progress)
    except ValueError as exc:
        raise CommandError(str(exc), 2) from None
    emit(args, report, evaluate.summary_text(report))
    return 0


def _train(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import CommandError, emit, progress
    from studio.safety import training
    from studio.safety.corpus import CorpusError

    try:
        meta = training.train(settings, progress=progress)
    except CorpusError as exc:
        raise CommandError(f"The safety corpus has an error: {exc}", 2) from None
    emit(args, meta, f"trained on {meta['user_rows']} user messages and {meta['reply_rows']} replies; thresholds {meta['thresholds']}")
    return 0


def _template(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import CommandError, emit
    from studio.safety import resources, responses

    if args.set_from and args.reset:
        raise CommandError("Use --set FILE or --reset, not both.", 2)
    if args.kind not in responses.KINDS:
        raise CommandError(f"Unknown --kind {args.kind!r}; use one of {', '.join(responses.KINDS)}.", 2)
    if args.reset:
        responses.reset_crisis_template(settings, args.kind)
    elif args.set_from:
        try:
            text = args.set_from.read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read {args.set_from}: {exc.strerror or exc}", 2) from None
        try:
            responses.save_crisis_template(settings, text, args.kind)
        except responses.TemplateError as exc:
            raise CommandError(str(exc), 2) from None
    region = args.region or settings.region
    template = responses.load_crisis_template(settings, args.kind)
    rendered = responses.render_template(template, region, settings.clinic_phone, args.kind)
    payload = {
        "kind": args.kind,
        "path": str(responses.template_path(settings, args.kind)),
        "custom": responses.template_path(settings, args.kind).exists(),
        "template": template,
        "rendered": rendered,
        "region": resources.region_for(region).code,
    }
    emit(args, payload, rendered)
    return 0
