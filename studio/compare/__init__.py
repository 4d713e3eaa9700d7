"""Compare models: side by side, a blind arena with a vote store, statistics and batch runs.

The core never imports gradio; the Compare and Arena tabs in ``studio/ui/tabs`` call into it.
"""
