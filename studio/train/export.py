"""Save, merge and push a run's adapter.

* ``save_adapter``: written to ``adapter.partial/`` then swapped in, so ``adapter/`` is never half-written
  (the loader treats a folder with adapter_config.json as complete).
* ``merge_adapter``: base + LoRA folded into one full model under ``<run>/merged/``.
* ``export_run``: the one export the UI's buttons and ``runs export`` share: ``merged`` (a full
  transformers model) or ``gguf`` (that model converted by llama.cpp's converter, see ``gguf``), with
  an Ollama Modelfile and a llama.cpp command beside it.
* ``push_to_hub``: adapter (default) or merged model, private by default. The token comes from the
  argument (typed in the UI, kept in memory only) or the environment (HF_TOKEN); it is registered for
  redaction and never written anywhere.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.settings import Settings
from studio.train.config import TrainConfig
from studio.train.model_card import build_model_card, hub_base_id
from studio.train.runs import Run, load_run
from studio.util.errors import UserError
from studio.util.redact import error_line, register_secret


class ExportError(UserError, RuntimeError):
    pass


def _swap_in(tmp: Path, target: Path) -> None:
    old = target.with_name(target.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def save_adapter(run: Run, model, tokenizer, config: TrainConfig, chosen: dict[str, Any],
                 data_stats: dict[str, Any], final: dict[str, Any]) -> Path:
    tmp = run.dir / "adapter.partial"
    if tmp.exists():
        shutil.rmtree(tmp)
    # DPO from an init adapter also holds TRL's frozen "ref" copy of it: save the trained adapter only.
    extra = {"selected_adapters": ["default"]} if "ref" in (getattr(model, "peft_config", None) or {}) else {}
    model.save_pretrained(str(tmp), **extra)
    tokenizer.save_pretrained(str(tmp))
    # The adapter names the public base, not this machine's cache path, so it loads anywhere.
    cfg_path = tmp / "adapter_config.json"
    adapter_cfg = json.loads(cfg_path.read_text())
    adapter_cfg["base_model_name_or_path"] = hub_base_id(config.base_model)
    cfg_path.write_text(json.dumps(adapter_cfg, indent=2))
    status = run.status()
    card = build_model_card(config, chosen, data_stats, final, run.run_id, status)
    (tmp / "README.md").write_text(card, encoding="utf-8")
    _swap_in(tmp, run.adapter_dir)
    _forget_cached(run)
    return run.adapter_dir


def _forget_cached(run: Run) -> None:
    """A chat tab that loaded an older version of this adapter must reload it."""
    from studio.models.loader import model_cache

    model_cache(run.settings).forget_adapter(run.run_id)


def merge_adapter(settings: Settings, run_id: str, out_dir: Path | None = None) -> Path:
    """Fold the adapter into the base weights and save a full model (+ tokenizer + card)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from studio.models.loader import base_path

    run = _finished_run(settings, run_id)
    config = run.config()
    base_dir = base_path(config.base_model, settings)
    dtype = torch.float32 if not torch.cuda.is_available() else torch.bfloat16
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype=dtype, token=settings.hf_token)
    merged = PeftModel.from_pretrained(base, str(run.adapter_dir)).merge_and_unload()
    target = Path(out_dir) if out_dir else run.dir / "merged"
    tmp = target.with_name(target.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    merged.save_pretrained(str(tmp), safe_serialization=True)
    AutoTokenizer.from_pretrained(str(run.adapter_dir)).save_pretrained(str(tmp))
    card = (run.adapter_dir / "README.md").read_text(encoding="utf-8").replace("library_name: peft", "library_name: transformers")
    (tmp / "README.md").write_text(card, encoding="utf-8")
    _swap_in(tmp, target)
    run.log(f"Merged adapter into a full model at {target}.")
    return target


EXPORT_FORMATS = ("merged", "gguf")


@dataclass(frozen=True)
class ExportResult:
    path: Path  # the merged model folder, or the .gguf file
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "bytes": self.bytes}


def export_run(settings: Settings, run_id: str, fmt: str = "merged", quant: str = "f16",
               out_dir: Path | None = None) -> ExportResult:
    """Merge (and for ``gguf`` convert) a finished run. Defaults: ``<run>/merged``, ``<run>/export/gguf-<quant>``."""
    from studio.train.gguf import QUANTS, GGUFError

    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"Unknown export format {fmt!r}: choose one of {', '.join(EXPORT_FORMATS)}.")
    if fmt == "gguf" and quant not in QUANTS:
        raise ExportError(f"Unknown GGUF quantization {quant!r}: choose one of {', '.join(QUANTS)} "
                          "(q4 needs llama.cpp's compiled llama-quantize; run it on the f16 file).")
    run = _finished_run(settings, run_id)
    if out_dir is not None:
        _check_out_dir(Path(out_dir), "config.json" if fmt == "merged" else "model.gguf")
    if fmt == "merged":
        folder = merge_adapter(settings, run_id, out_dir)
        return ExportResult(folder, sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()))
    target = Path(out_dir) if out_dir else run.dir / "export" / f"gguf-{quant}"
    try:
        gguf_file = _export_gguf(settings, run, target, quant)
    except GGUFError as exc:
        run.log(f"GGUF export failed: {exc}")
        raise ExportError(str(exc)) from None
    run.log(f"Exported GGUF ({quant}) to {gguf_file}.")
    return ExportResult(gguf_file, gguf_file.stat().st_size)


def _export_gguf(settings: Settings, run: Run, target: Path, quant: str) -> Path:
    """Merge into a scratch folder inside ``target``, convert, write the run files, drop the scratch."""
    from studio.models.generate import GenerationSettings
    from studio.models.system_prompt import load_system_prompt
    from studio.train.gguf import convert, write_run_files

    scratch = target / ".merged"
    try:
        merged = merge_adapter(settings, run.run_id, scratch)
        gguf_file = convert(merged, target, quant, model_name=f"companion-{run.run_id}")
        gen = GenerationSettings()
        write_run_files(target, load_system_prompt(settings), _chat_template(merged),
                        {"temperature": gen.temperature, "top_p": gen.top_p, "repetition_penalty": gen.repetition_penalty})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(scratch.with_name(scratch.name + ".partial"), ignore_errors=True)
    return gguf_file


def _check_out_dir(folder: Path, marker: str) -> None:
    """A merged export replaces its folder and a GGUF export writes README.txt etc.: never in someone's own folder."""
    if folder.is_file():
        raise ExportError(f"{folder} is a file: give a folder for the export.")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / marker).is_file():
        raise ExportError(f"{folder} is not empty and holds no earlier export ({marker}): choose a new or empty "
                          "folder, so nothing of yours is replaced.")


def _chat_template(model_dir: Path) -> str | None:
    """transformers 5 saves the template as chat_template.jinja; older folders keep it in tokenizer_config.json."""
    jinja = model_dir / "chat_template.jinja"
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    config = model_dir / "tokenizer_config.json"
    return json.loads(config.read_text(encoding="utf-8")).get("chat_template") if config.is_file() else None


def _finished_run(settings: Settings, run_id: str) -> Run:
    run = load_run(settings, run_id)
    if not run.has_adapter():
        raise ExportError(f"Run {run_id} has no adapter yet: export works after it succeeded or was stopped.")
    return run


def push_to_hub(settings: Settings, run_id: str, repo_id: str | None, token: str | None = None,
                private: bool = True, merged: bool = False, override_reason: str | None = None,
                who: str = "admin", progress=None) -> str:
    """Upload the adapter (or merged model) with its model card; returns the repo URL.

    The release gate runs first (``studio.eval.release``): it reuses or makes the run's report card and
    refuses a run less safe than the base unless ``override_reason`` is given. The card goes into the
    pushed README as a table.
    """
    token = (token or "").strip() or settings.hf_token
    if not token:
        raise ExportError("No Hugging Face token: set HF_TOKEN in the environment or type a write token in the "
                          "export box (it is used for this push only and never stored).")
    register_secret(token)
    if not repo_id or repo_id.count("/") != 1:
        raise ExportError("Give the target repo as owner/name, e.g. your-name/companion-lora.")
    run = _finished_run(settings, run_id)
    decision, report = _release_gate(settings, run_id, override_reason, who, progress)
    # A merged model is made anew for every push: an older merge may hold weights from before a resume.
    folder = merge_adapter(settings, run_id) if merged else run.adapter_dir
    _add_card_section(folder / "README.md", report, decision)
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        info = api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type="model",
                                 commit_message=f"Companion Studio run {run_id}")
    except Exception as exc:  # network, auth, offline: one clear line, token scrubbed
        raise ExportError(_explain_push_failure(repo_id, exc)) from None
    url = f"https://huggingface.co/{repo_id}"
    run.log(f"Pushed {'merged model' if merged else 'adapter'} to {url} ({'private' if private else 'public'}).")
    return str(getattr(info, "repo_url", None) or url)


def _release_gate(settings: Settings, run_id: str, override_reason: str | None, who: str, progress) -> tuple[dict, dict]:
    from studio.eval.generate import EvalGenerationError
    from studio.eval.release import ReleaseRefused, release_check
    from studio.eval.suite import SuiteError

    try:
        return release_check(settings, run_id, override_reason, who, progress=progress)
    except ReleaseRefused as exc:
        raise ExportError(str(exc)) from None
    except (SuiteError, EvalGenerationError) as exc:
        raise ExportError(f"The release gate could not make the report card: {exc}") from None


CARD_START, CARD_END = "<!-- report-card:start -->", "<!-- report-card:end -->"


def _add_card_section(readme: Path, report: dict, decision: dict) -> None:
    """Put the report card into the README (replacing an older one), before the usage section."""
    from studio.eval.markdown import model_card_section
    from studio.util.io import atomic_write_text

    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    if CARD_START in text and CARD_END in text:
        text = text.split(CARD_START)[0].rstrip("\n") + "\n\n" + text.split(CARD_END, 1)[1].lstrip("\n")
    section = f"{CARD_START}\n{model_card_section(report, decision)}\n{CARD_END}\n\n"
    head, marker, tail = text.partition("## Use\n")
    text = f"{head}{section}{marker}{tail}" if marker else f"{text.rstrip()}\n\n{section}"
    atomic_write_text(readme, text)


def _explain_push_failure(repo_id: str, exc: Exception) -> str:
    text = error_line(exc)
    lowered = text.lower()
    if "offline" in lowered or "connect" in lowered or "resolve" in lowered:
        return f"Could not reach the Hugging Face Hub to push {repo_id} (offline?): {text}"
    if "401" in lowered or "403" in lowered or "unauthorized" in lowered or "forbidden" in lowered:
        return f"The token was refused for {repo_id}: use a token with write access to that namespace."
    return f"Push to {repo_id} failed: {text}"


def push_after_run(run: Run, config: TrainConfig, settings: Settings) -> None:
    """The push a config asks for when its run succeeds (every backend). The run itself succeeded, so a
    failed push is recorded in status.json and train.log, and can be retried from the export panel."""
    from studio.train.faults import explain_failure

    try:
        url = push_to_hub(settings, run.run_id, config.hub.repo_id, private=config.hub.private, merged=config.hub.merged)
        run.write_status(hub_url=url, hub_error=None)
        run.log(f"Pushed to {url}.")
    except Exception as exc:  # noqa: BLE001 - any failure is reported, never raised into a finished run
        message = explain_failure(exc, settings)
        run.write_status(hub_error=message)
        run.log(f"Push to the Hub failed: {message}")
