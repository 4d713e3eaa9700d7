"""Commands: ``compare`` (batch prompt-set runs, or the eval-split metric) and ``arena stats|export|import``."""

from __future__ import annotations

import argparse

from studio.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    cmp = subparsers.add_parser(
        "compare", help="Run two models over a prompt set (or score them on a dataset's eval split).",
        description="Both models answer every prompt with the same settings and seed; each answer carries its safety flags.",
    )
    cmp.add_argument("--a", required=True, help="model A: 'base', a run id, a hub id or a local path")
    cmp.add_argument("--b", required=True, help="model B: 'base', a run id, a hub id or a local path")
    cmp.add_argument("--prompts", help="prompt set: a JSONL file ({\"prompt\", \"system\"?} per line) or a named set")
    cmp.add_argument("--out", help="output JSONL (one {\"prompt\", \"a\", \"b\"} per prompt)")
    cmp.add_argument("--system", default=None, help="system prompt for lines without their own")
    cmp.add_argument("--max-new-tokens", type=int, default=200)
    cmp.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    cmp.add_argument("--top-p", type=float, default=0.9)
    cmp.add_argument("--seed", type=int, default=0)
    cmp.add_argument("--eval-dataset", default=None,
                     help="instead of prompts: loss/perplexity of both models on this dataset's eval split")
    cmp.add_argument("--eval-fraction", type=float, default=None, help="held-out fraction (0 = the whole file)")
    cmp.add_argument("--limit", type=int, default=None, help="score at most this many eval conversations")
    cmp.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    cmp.set_defaults(handler=_compare)

    arena = subparsers.add_parser("arena", help="Blind arena votes: statistics, export, import.")
    sub = arena.add_subparsers(dest="arena_command", metavar="ACTION")
    stats = _cmd(sub, "stats", _stats, "Win rates with clustered bootstrap 95%% intervals, rater habits, votes needed and a verdict.")
    stats.add_argument("--votes", default=None, help="a votes JSONL; model_a, model_b and winner suffice (default: the studio's vote store)")
    stats.add_argument("--resamples", type=int, default=1000)
    stats.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    exp = _cmd(sub, "export", _export, "Write every vote to a JSONL file.")
    exp.add_argument("--out", required=True)
    imp = _cmd(sub, "import", _import, "Add the votes of an exported JSONL file (already stored votes are skipped).")
    imp.add_argument("file")
    rnd = _cmd(sub, "round", _round, "After a preference (DPO) run: the arena pits it against the run it started from.")
    rnd.add_argument("run_id")


def _cmd(sub, name: str, handler, help_text: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text, description=help_text)
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.set_defaults(handler=handler)
    return parser


def _compare(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import CommandError

    if args.eval_dataset:
        return _metrics(args, settings)
    if not args.prompts or not args.out:
        raise CommandError("Give --prompts FILE and --out FILE (or --eval-dataset DATASET for the loss metric).", 2)
    from studio.cli import emit, progress
    from studio.compare.batch import write_batch
    from studio.compare.prompts import resolve_prompt_set
    from studio.models.generate import GenerationSettings

    gen = GenerationSettings(max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p, seed=args.seed)
    path = resolve_prompt_set(args.prompts, settings)
    progress(f"comparing {args.a} and {args.b} on {path.name}…")
    summary = write_batch(args.a, args.b, path, args.out, gen, settings, system=args.system, progress=progress)
    text = (f"{summary['prompts']} prompts → {summary['out']} (output guard flagged A {summary['flagged_a']}, "
            f"B {summary['flagged_b']}; crisis template {summary['crisis_template']})")
    emit(args, summary, text)
    return 0


def _metrics(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit, progress
    from studio.compare.metrics import eval_metrics, split_for

    split = split_for((args.a, args.b), args.eval_dataset, args.eval_fraction, None, settings)
    progress(f"scoring {args.a} and {args.b} on the eval split of {split.dataset}…")
    result = eval_metrics(args.a, args.b, split, settings, limit=args.limit, progress=progress)
    text = "\n".join(
        f"{side.upper()} {result[side]['model']}: loss {result[side]['loss']}, perplexity {result[side]['perplexity']}"
        for side in ("a", "b")
    ) + f"\n({result['conversations']} conversations, {result['tokens']} assistant tokens)"
    emit(args, result, text)
    return 0


def _stats(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import CommandError, emit
    from studio.compare.stats import compute_stats, load_votes
    from studio.compare.votes import StoreError

    try:
        if args.votes:
            votes = load_votes(args.votes)
        else:
            from studio.compare.arena import store

            votes = store(settings).votes(include_excluded=False)  # excluded raters do not count
    except (StoreError, OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"Cannot read the votes: {exc}", 2) from None
    result = compute_stats(votes, resamples=args.resamples, seed=args.seed)
    emit(args, result, _stats_text(result))
    return 0


def _stats_text(result: dict) -> str:
    from studio.compare.plot import length_line, verdict_line, votes_needed_line

    lines = [f"{result['battles']} battles · tie rate {result['tie_rate']:.0%} · both bad {result['both_bad_rate']:.0%}"]
    for name, row in sorted(result["models"].items(), key=lambda kv: -kv[1]["win_rate"]):
        low, high = row["ci95"]
        controlled = row["win_rate_length_controlled"]
        equal = f", {controlled:.0%} at equal length" if controlled is not None else ""
        lines.append(f"  {name}: win rate {row['win_rate']:.0%} (95% CI {low:.0%}–{high:.0%} by rater and prompt)"
                     f"{equal}, {row['battles']} battles")
    if result["battles"]:
        lines += [length_line(result), votes_needed_line(result), verdict_line(result), "raters:"]
    for name, r in result["per_rater"].items():
        lines.append(f"  {name}: {r['votes']} votes, tie {r['tie_rate']:.0%}, both bad {r['both_bad_rate']:.0%}"
                     f", strictness {_signed(r['strictness'])}, lean {_signed(r['lean'])}")
    return "\n".join(lines)


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:+.0f} pts"


def _export(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit
    from studio.compare.arena import export_jsonl

    count = export_jsonl(settings, args.out)
    emit(args, {"votes": count, "out": args.out}, f"{count} votes → {args.out}")
    return 0


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import CommandError, emit
    from studio.compare.arena import ArenaError, import_jsonl

    try:
        result = import_jsonl(settings, args.file)
    except ArenaError as exc:
        raise CommandError(str(exc), 2) from None
    emit(args, result, f"{result['added']} votes added, {result['skipped']} already stored")
    return 0


def _round(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import CommandError, emit
    from studio.compare.arena import ArenaError
    from studio.compare.rounds import start_round

    try:
        out = start_round(settings, args.run_id)
    except ArenaError as exc:
        raise CommandError(str(exc), 2) from None
    emit(args, out, f"arena: {out['models'][0]} vs {out['models'][1]} on prompt set {out['prompt_set']} ({out['prompts']} prompts)")
    return 0
