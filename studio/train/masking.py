"""Loss only on the assistant's words, for any chat template (no ``{% generation %}`` markers needed).

TRL's own ``assistant_only_loss`` relies on generation markers in the template and raises for
templates without them, so the trainer gets ready-made ``input_ids`` + ``labels`` from here instead.
The mask itself comes from ``studio.data.template.assistant_token_mask`` (assistant spans found by
rendering the conversation incrementally, mapped to tokens by offsets), the same function the
Dataset tab's template preview shows, so what a person previews is exactly what is trained.
"""

from __future__ import annotations

from dataclasses import dataclass

IGNORE_INDEX = -100


@dataclass
class TokenizedConversation:
    input_ids: list[int]
    labels: list[int]
    truncated: bool = False

    @property
    def trained_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)


def tokenize_conversation(
    tokenizer, messages: list[dict], max_length: int, assistant_only: bool = True
) -> TokenizedConversation:
    """input_ids + labels (-100 outside assistant tokens when ``assistant_only``), truncated to ``max_length``."""
    from studio.data.template import assistant_token_mask

    ids, mask = assistant_token_mask(tokenizer, messages)
    labels = [tok if (bit or not assistant_only) else IGNORE_INDEX for tok, bit in zip(ids, mask, strict=True)]
    return TokenizedConversation(list(ids[:max_length]), labels[:max_length], truncated=len(ids) > max_length)
