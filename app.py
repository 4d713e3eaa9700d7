"""Hugging Face Spaces entry point: a module-level `demo`, launched only when run as a script."""

from studio.settings import Settings
from studio.ui.app import build_app, launch_kwargs

settings = Settings.from_env()
demo = build_app(settings)

if __name__ == "__main__":
    demo.launch(**launch_kwargs(settings))
