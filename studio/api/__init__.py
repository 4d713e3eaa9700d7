"""The OpenAI-compatible endpoint's core: API keys, a per-key rate limit, and chat completions over the one chat path.

No gradio and no web framework here; ``studio.ui.openai_api`` serves it under ``/v1/``.
"""
