"""``python -m studio eval``: the model report card, on the raw model, with intervals."""

from __future__ import annotations

import argparse

from studio.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    ev = subparsers.add_parser(
        "eval", help="Report card: score a model (raw, runtime guard off) on the eval suite, optionally against another.",
        description="Answers every prompt of the suite greedily, scores each answer per category, and reports rates "
                    "with 95%% intervals (and paired differences with --against). Stored with the run "
                    "(<run>/eval/report.json, report.md, answers.jsonl).",
    )
    ev.add_argument("--model", required=True, help="'base', a run id, a hub id or a local path")
    ev.add_argument("--against", default=None, help="the model to compare with, usually 'base'")
    ev.add_argument("--suite", default=None, help="a folder of <category>.jsonl files (default: <data>/eval-suite if it exists, else examples/eval)")
    ev.add_argument("--limit", type=int, default=None, help="only the first N prompts of each category")
    ev.add_argument("--max-new-tokens", type=int, default=None, help="cap on each answer (default 160)")
    ev.add_argument("--batch-size", type=int, default=None, help="prompts per generate call (default 8; 1 = one at a time)")
    ev.add_argument("--no-eval-loss", action="store_true", help="skip the loss on the run's held-out split")
    ev.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    ev.set_defaults(handler=_eval)


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import CommandError, emit, progress
    from studio.eval.card import CardRequest, make_card
    from studio.eval.generate import EvalGenerationError
    from studio.eval.markdown import report_markdown
    from studio.eval.suite import SuiteError

    options = {k: v for k, v in (("max_new_tokens", args.max_new_tokens), ("batch_size", args.batch_size)) if v is not None}
    try:
        request = CardRequest(model=args.model, against=args.against, suite=args.suite, limit=args.limit,
                              eval_loss=not args.no_eval_loss, **options)
        report = make_card(request, settings, progress)
    except (SuiteError, ValueError) as exc:
        raise CommandError(str(exc), 2) from None
    except EvalGenerationError as exc:
        raise CommandError(str(exc), 1) from None
    emit(args, report, report_markdown(report) + f"\nStored in {report['paths']['json']}")
    return 0
