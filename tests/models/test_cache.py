"""The model cache: one entry per folder however it is spelled, and a memory budget that never drops the base."""

from __future__ import annotations

import os

from studio.models.loader import model_cache, resolve


def _linked_copy(source, target):
    """A second model folder without copying 500 MB: hard links to the same files."""
    target.mkdir()
    for item in source.iterdir():
        if item.is_file():
            os.link(item, target / item.name)
    return target


def test_spellings_share_one_entry_and_the_budget_drops_the_oldest_extra_model(settings, embedded_model_dir, tmp_path):
    settings = settings.with_(model_cache_mb=1)  # any second model is over budget
    cache = model_cache(settings)
    cache.get_base(settings.base_model)
    spellings = [str(embedded_model_dir), f"{embedded_model_dir}/", f"{embedded_model_dir}/.",
                 f"{embedded_model_dir}/../{embedded_model_dir.name}"]
    assert len({resolve(s, settings).base for s in spellings}) == 1  # issue 22: four spellings loaded four copies
    first = resolve(spellings[1], settings).base
    cache.get_base(first)
    assert cache.loaded_bases() == [settings.base_model, first]  # the model just asked for stays, over budget or not
    second = resolve(str(_linked_copy(embedded_model_dir, tmp_path / "copy")), settings).base
    cache.get_base(second)
    assert cache.loaded_bases() == [settings.base_model, second]  # the least recently used extra model went
    cache.get_base(settings.base_model)
    assert settings.base_model in cache.loaded_bases()  # the configured base is never dropped
