"""Commands: generate, model materialize, serve."""

from __future__ import annotations

import argparse

from studio.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    gen = subparsers.add_parser("generate", help="Generate one chat reply from a model (base or a run id).")
    gen.add_argument("--model", default="base", help="'base', a run id, a hub id or a local path")
    gen.add_argument("--prompt", required=True)
    gen.add_argument("--system", default=None)
    gen.add_argument("--max-new-tokens", type=int, default=200)
    gen.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    gen.add_argument("--top-p", type=float, default=0.9)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    gen.set_defaults(handler=_generate)

    model = subparsers.add_parser("model", help="Manage the embedded base model (materialize).")
    model_sub = model.add_subparsers(dest="model_command", metavar="ACTION")
    mat = model_sub.add_parser("materialize", help="Convert the packaged GGUF model to fp32 safetensors (once).")
    mat.add_argument("--json", action="store_true")
    mat.set_defaults(handler=_materialize)

    serve = subparsers.add_parser("serve", help="Start the web studio.")
    serve.add_argument("--host", default=None, help="default: GRADIO_SERVER_NAME or 127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default: GRADIO_SERVER_PORT or 7860")
    serve.add_argument("--share", action="store_true", help="create a public share link")
    serve.set_defaults(handler=_serve)


def _generate(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit, progress
    from studio.models.generate import GenerationSettings, build_messages, generate_chat

    messages = build_messages(args.prompt, args.system, settings=settings)
    gen = GenerationSettings(
        max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p, seed=args.seed
    )
    progress(f"loading model {args.model}…")
    result = generate_chat(args.model, messages, gen, settings)
    emit(args, result.to_dict(), result.text)
    return 0


def _materialize(args: argparse.Namespace, settings: Settings) -> int:
    from studio.cli import emit, progress
    from studio.models.embedded import materialize

    progress("materializing the embedded model (first time: about a minute)…")
    path = materialize(settings)
    emit(args, {"path": str(path)}, str(path))
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from studio.ui.app import launch

    launch(settings, host=args.host, port=args.port, share=args.share)
    return 0
