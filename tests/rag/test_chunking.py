from __future__ import annotations

import pytest

from studio.rag.chunking import ChunkConfig, chunk_sections, split_sentences
from studio.rag.parsers import Section


def words(texts):
    return [len(t.split()) for t in texts]


def test_sentence_split_respects_abbreviations_and_list_items():
    text = "Bring comfort items, e.g. Blankets or music. Rest after.\n- First item\n- Second item\n\nNew paragraph! Yes?"
    assert split_sentences(text) == [
        "Bring comfort items, e.g. Blankets or music.", "Rest after.", "- First item", "- Second item",
        "New paragraph!", "Yes?",
    ]


def test_chunks_are_whole_sentences_within_budget_with_overlap():
    sentences = [f"Sentence number {i} has exactly seven words." for i in range(30)]
    config = ChunkConfig(max_tokens=30, overlap_tokens=10)
    chunks = chunk_sections([Section(" ".join(sentences))], words, config)
    assert len(chunks) > 5
    for chunk in chunks:
        assert words([chunk.text])[0] <= 30
        for piece in split_sentences(chunk.text):
            assert piece in sentences  # never a cut sentence
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert split_sentences(before.text)[-1] == split_sentences(after.text)[0]  # one 7-word sentence of overlap
    covered = {s for c in chunks for s in split_sentences(c.text)}
    assert covered == set(sentences)
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_chunks_never_cross_pages_and_keep_page_and_heading():
    sections = [Section("Page one text. More.", page=1, heading="A"), Section("Page two text.", page=2, heading="B")]
    chunks = chunk_sections(sections, words, ChunkConfig(max_tokens=100, overlap_tokens=0))
    assert [(c.page, c.heading, c.text) for c in chunks] == [(1, "A", "Page one text. More."), (2, "B", "Page two text.")]


def test_an_over_long_sentence_is_split_at_words():
    long = " ".join(f"w{i}" for i in range(95)) + "."
    chunks = chunk_sections([Section(long)], words, ChunkConfig(max_tokens=40, overlap_tokens=0))
    assert [words([c.text])[0] for c in chunks] == [40, 40, 15]
    assert " ".join(c.text for c in chunks) == long


def test_config_validation():
    with pytest.raises(ValueError, match="overlap"):
        ChunkConfig(max_tokens=100, overlap_tokens=60)


def test_real_tokenizer_budget(settings):
    from studio.rag.embedder import get_embedder

    embedder = get_embedder(settings)
    assert embedder.max_tokens == 254  # all-MiniLM-L6-v2: 256 positions minus [CLS] and [SEP]
    text = " ".join(f"During integration, person {i} wrote about their session and their feelings." for i in range(80))
    chunks = chunk_sections([Section(text)], embedder.count_tokens, ChunkConfig(max_tokens=120, overlap_tokens=24))
    sizes = embedder.count_tokens([c.text for c in chunks])
    assert max(sizes) <= 120 and min(sizes) > 60
