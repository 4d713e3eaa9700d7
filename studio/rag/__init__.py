"""Knowledge base and retrieval-augmented chat: parse, chunk, embed, store (Chroma), retrieve
(hybrid vector + BM25), assemble prompts with cited reference material, and stream answers
through the crisis gate and output guard. No gradio here: the UI tabs call into this package.
"""
