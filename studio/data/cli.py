"""Commands: data validate | render | convert | split | stats | list | import | export | push | restore | deidentify |
preferences.

INPUT arguments accept a file path, or a stored dataset as ``NAME`` or ``NAME@VERSION``.
``data validate`` exits 0 with no errors, 1 with errors, 2 when the file cannot be read at all.
``--region`` (default: ``STUDIO_REGION``) is the region that placeholders such as ``{crisis_line}``
are checked and rendered for; split, export and push write rendered text.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.data.export import DEFAULT_SPLIT_SEED
from studio.settings import Settings

FORMAT_CHOICES = ("auto", "native", "openai", "sharegpt", "alpaca", "csv", "hf")


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="Validate, convert, split and manage chat datasets.")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION")
    data.set_defaults(handler=lambda args, settings: data.print_help() or 2)
    _register_file_commands(sub)
    _register_store_commands(sub)


def _register_file_commands(sub) -> None:
    """Commands on files: validate, render, convert, split, stats, deidentify."""
    val = _cmd(sub, "validate", _validate, "Validate native chat JSONL (errors and warnings by line).")
    val.add_argument("path")
    val.add_argument("--max-length", type=int, default=None, help="warn above this many tokens")
    val.add_argument("--no-tokens", action="store_true", help="skip token counts (no tokenizer needed)")
    val.add_argument("--no-lint", action="store_true", help="skip the clinical lint")
    _region_arg(val)

    ren = _cmd(sub, "render", _render, "Fill in {crisis_line}, {emergency_number}... for a region.")
    ren.add_argument("input", help="file or stored dataset NAME[@VERSION]")
    ren.add_argument("--out", required=True)
    _region_arg(ren)

    conv = _cmd(sub, "convert", _convert, "Convert any supported format to native JSONL.")
    conv.add_argument("input", help="file, HF dataset folder/hub id, or stored dataset NAME[@VERSION]")
    conv.add_argument("--out", required=True)
    conv.add_argument("--format", choices=FORMAT_CHOICES, default="auto")
    conv.add_argument("--with-text", action="store_true", help="add a 'text' column rendered with the base model's chat template")

    spl = _cmd(sub, "split", _split, "Write train.jsonl and eval.jsonl (deterministic by seed).")
    spl.add_argument("input")
    spl.add_argument("--eval-fraction", type=float, default=0.1)
    spl.add_argument("--seed", type=int, default=DEFAULT_SPLIT_SEED)
    spl.add_argument("--out", required=True, help="output folder")
    spl.add_argument("--format", choices=FORMAT_CHOICES, default="auto")
    spl.add_argument("--with-text", action="store_true")
    _region_arg(spl)

    st = _cmd(sub, "stats", _stats, "Counts, roles, tags and token lengths.")
    st.add_argument("path")
    st.add_argument("--format", choices=FORMAT_CHOICES, default="auto")
    st.add_argument("--max-length", type=int, default=None)
    st.add_argument("--no-tokens", action="store_true")

    deid = _cmd(sub, "deidentify", _deidentify, "Replace names, phones, e-mails, addresses, dates, ages 90+, IDs and URLs with placeholders.")
    deid.add_argument("input", help="chat JSONL: one {\"messages\": [...]} per line")
    deid.add_argument("--out", required=True)


def _register_store_commands(sub) -> None:
    """Commands on stored datasets (versions, import, export, push, restore) and on arena votes."""
    _cmd(sub, "list", _list, "List stored datasets.")

    imp = _cmd(sub, "import", _import, "Import a file into a stored dataset as a new version.")
    imp.add_argument("name")
    imp.add_argument("path")
    imp.add_argument("--format", choices=FORMAT_CHOICES, default="auto")
    imp.add_argument("--append", action="store_true", help="add to the latest version instead of replacing it")
    imp.add_argument("--real-conversations", action="store_true",
                     help="real people's words: replace names, phone numbers and other details before storing")

    exp = _cmd(sub, "export", _export, "Export a stored dataset version to a JSONL file.")
    exp.add_argument("name", help="NAME or NAME@VERSION")
    exp.add_argument("--out", required=True)
    exp.add_argument("--with-text", action="store_true")
    _region_arg(exp)

    push = _cmd(sub, "push", _push, "Push a stored dataset to a Hub dataset repo (token from HF_TOKEN).")
    push.add_argument("name", help="NAME or NAME@VERSION")
    push.add_argument("--repo", required=True, help="owner/dataset-name")
    push.add_argument("--public", action="store_true", help="make the repo public (default: private)")
    push.add_argument("--eval-fraction", type=float, default=0.0)
    push.add_argument("--seed", type=int, default=DEFAULT_SPLIT_SEED)
    _region_arg(push)

    res = _cmd(sub, "restore", _restore, "Restore an old version as the newest one.")
    res.add_argument("name")
    res.add_argument("version", type=int)

    pref = _cmd(sub, "preferences", _preferences,
                "Turn decisive arena votes (and repairs) into prompt/chosen/rejected pairs for DPO training.")
    pref.add_argument("--votes", required=True, help="a votes JSONL (arena export), or 'store' for this studio's votes "
                                                     "(excluded raters left out)")
    pref.add_argument("--out", required=True, help="pairs JSONL to write")


def _cmd(sub, name: str, handler, help_text: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text, description=help_text)
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.set_defaults(handler=handler)
    return parser


def _region_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", default=None, help="US, UK, IE, CA, AU, NZ or INTL (default: STUDIO_REGION, else US)")


def _region(args: argparse.Namespace, settings: Settings) -> str:
    return args.region or settings.region


def _rendered(conversations: list[dict], args: argparse.Namespace, settings: Settings) -> list[dict]:
    from studio.data.placeholders import render_rows

    return render_rows(conversations, _region(args, settings)).rows


def _tokenizer(settings: Settings, skip: bool = False):
    if skip:
        return None
    from studio.cli import progress
    from studio.data.tokens import base_tokenizer

    progress("loading the base model's tokenizer…")
    try:
        return base_tokenizer(settings)
    except Exception as exc:  # no model available: validation still runs, without token counts
        progress(f"warning: token counts skipped ({exc})")
        return None


def _read_input(spec: str, settings: Settings, fmt: str = "auto") -> list[dict]:
    """A file / dataset folder / hub id, or a stored dataset NAME[@VERSION]."""
    from studio.cli import CommandError
    from studio.data.files import FileReadError
    from studio.data.formats import load_conversations
    from studio.data.store import DatasetStore

    store = DatasetStore(settings)
    name, _, version = spec.partition("@")
    if not Path(spec).exists() and fmt == "auto" and _stored(store, name):
        return store.load(name, int(version) if version else None)
    try:
        return load_conversations(spec, fmt, settings.upload_limit_bytes).conversations
    except FileReadError as exc:
        raise CommandError(str(exc), 2) from None


def _stored(store, name: str) -> bool:
    try:
        return store.exists(name)
    except ValueError:
        return False


def _validate(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import CommandError, emit
    from studio.data.files import FileReadError
    from studio.data.validate import validate_path

    tokenizer = _tokenizer(settings, args.no_tokens)
    try:
        report = validate_path(args.path, tokenizer=tokenizer, max_length=args.max_length, lint=not args.no_lint,
                               limit_bytes=settings.upload_limit_bytes, region=_region(args, settings))
    except FileReadError as exc:
        raise CommandError(str(exc), 2) from None
    lines = [i.message for i in report.errors] + [f"warning: {i.message}" for i in report.warnings]
    summary = f"{report.examples} examples, {len(report.errors)} errors, {len(report.warnings)} warnings"
    emit(args, report.to_dict(), "\n".join([*lines, summary]))
    return 0 if report.ok else 1


def _render(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.data.export import write_jsonl
    from studio.data.placeholders import region_code, render_rows

    region = region_code(_region(args, settings))
    rendered = render_rows(_read_input(args.input, settings), region)
    out = write_jsonl(args.out, rendered.rows)
    counts = ", ".join(f"{{{k}}} x{v}" for k, v in rendered.to_dict()["placeholders"].items()) or "no placeholders"
    emit(args, rendered.to_dict(), f"wrote {len(rendered.rows)} conversations for {region} to {out} ({counts})")
    return 0


def _convert(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.data.export import with_text, write_jsonl

    conversations = _read_input(args.input, settings, args.format)
    if args.with_text:
        conversations = with_text(conversations, _require_tokenizer(settings))
    out = write_jsonl(args.out, conversations)
    emit(args, {"examples": len(conversations), "out": str(out)}, f"wrote {len(conversations)} conversations to {out}")
    return 0


def _split(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.data.export import split, write_split

    conversations = _rendered(_read_input(args.input, settings, args.format), args, settings)
    tokenizer = _require_tokenizer(settings) if args.with_text else None
    files = write_split(conversations, args.out, args.eval_fraction, args.seed, tokenizer)
    train, evals = split(conversations, args.eval_fraction, args.seed)
    counts = {"train": len(train), "eval": len(evals)}
    payload = {"train": counts["train"], "eval": counts["eval"], "files": {k: str(p) for k, p in files.items()}}
    emit(args, payload, f"train: {counts['train']} → {files['train']}\neval: {counts['eval']} → {files['eval']}")
    return 0


def _stats(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.data.validate import validate_conversations

    conversations = _read_input(args.path, settings, args.format)
    report = validate_conversations(conversations, _tokenizer(settings, args.no_tokens), args.max_length, lint=False)
    stats = report.stats
    text = "\n".join(f"{k}: {v}" for k, v in stats.items())
    emit(args, stats, text)
    return 0


def _require_tokenizer(settings: Settings):
    from studio.cli import CommandError

    tokenizer = _tokenizer(settings)
    if tokenizer is None:
        raise CommandError("The base model's tokenizer is needed for --with-text but could not be loaded.")
    return tokenizer


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import asdict

    from studio.cli import emit
    from studio.data.store import DatasetStore

    infos = DatasetStore(settings).list()
    text = "\n".join(f"{d.name}  v{d.version}  {d.examples} examples  {d.updated_at}" for d in infos) or "no datasets"
    emit(args, {"datasets": [asdict(d) for d in infos]}, text)
    return 0


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.data.store import DatasetStore

    result = DatasetStore(settings).import_file(args.name, args.path, args.format, append=args.append, author="cli",
                                                real=args.real_conversations)
    payload = {"name": args.name, "version": result.version, "examples": result.examples, "format": result.format, "notes": result.notes}
    emit(args, payload, f"{args.name} v{result.version}: {result.examples} examples (read as {result.format})")
    return 0


def _export(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.data.export import with_text, write_jsonl

    conversations = _rendered(_stored_input(args.name, settings), args, settings)
    if args.with_text:
        conversations = with_text(conversations, _require_tokenizer(settings))
    out = write_jsonl(args.out, conversations)
    emit(args, {"examples": len(conversations), "out": str(out)}, f"wrote {len(conversations)} conversations to {out}")
    return 0


def _stored_input(spec: str, settings: Settings) -> list[dict]:
    from studio.data.store import DatasetStore

    name, _, version = spec.partition("@")
    return DatasetStore(settings).load(name, int(version) if version else None)


def _push(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit, progress
    from studio.data.hub import push_to_hub

    conversations = _rendered(_stored_input(args.name, settings), args, settings)
    progress(f"pushing {len(conversations)} conversations to {args.repo}…")
    result = push_to_hub(conversations, args.repo, settings.hf_token, private=not args.public,
                         eval_fraction=args.eval_fraction, seed=args.seed, source=args.name)
    emit(args, {"repo_id": result.repo_id, "url": result.url, "files": result.files, "private": result.private}, result.url)
    return 0


def _restore(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.data.store import DatasetStore

    version = DatasetStore(settings).restore(args.name, args.version, author="cli")
    emit(args, {"name": args.name, "version": version}, f"{args.name}: v{args.version} restored as v{version}")
    return 0


def _deidentify(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import CommandError, emit, progress
    from studio.data.deid import deidentify_rows
    from studio.data.deid_io import read_chat_rows
    from studio.data.export import write_jsonl
    from studio.data.files import FileReadError
    from studio.data.schema import DataError

    try:
        rows = read_chat_rows(args.input, settings.upload_limit_bytes)
    except FileReadError as exc:
        raise CommandError(str(exc), 2) from None
    except DataError as exc:
        raise CommandError(str(exc), 1) from None
    progress(f"de-identifying {len(rows)} conversations (the NER model loads once, a few seconds)…")
    out_rows, report = deidentify_rows(rows)
    out = write_jsonl(args.out, out_rows)
    kinds = ", ".join(f"{k} x{v}" for k, v in report["by_type"].items() if v) or "nothing found"
    emit(args, report, f"wrote {report['rows']} conversations to {out}: {report['replaced']} replaced ({kinds})")
    return 0


def _preferences(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import CommandError, emit, progress
    from studio.data.preferences import (
        PreferenceError,
        deidentify,
        known_models,
        no_pairs_message,
        pairs_from_votes,
        read_store_votes,
        read_votes_file,
        write_pairs,
    )

    try:
        if args.votes == "store" and not Path(args.votes).exists():
            votes = read_store_votes(settings)
        else:
            votes = read_votes_file(args.votes, known_models(settings))
    except PreferenceError as exc:
        raise CommandError(str(exc), 2) from None
    pairs = pairs_from_votes(votes)
    if not pairs.rows:
        raise CommandError(no_pairs_message(pairs), 1)
    progress(f"de-identifying {len(pairs.rows)} pairs…")
    pairs.rows, pairs.deidentified = deidentify(pairs.rows)
    out = write_pairs(args.out, pairs.rows)
    c = pairs.counts
    text = (f"wrote {len(pairs.rows)} pairs to {out} from {c['votes']} votes ({c['decisive']} decisive, {c['ties']} ties, "
            f"{c['both_bad']} both bad, {c['repairs']} repairs); de-identified")
    emit(args, {**pairs.to_dict(), "out": str(out)}, text)
    return 0
