"""Datasets: schema, import/export, validation and lint, template preview, versioned store (no gradio)."""
