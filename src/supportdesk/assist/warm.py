"""Load every model now, for a worker to call before the first suggestion is needed."""

from __future__ import annotations

from supportdesk.assist import embedding, language, models


def warm_up(languages: tuple[str, ...] = language.DEFAULT_LANGUAGES) -> dict[str, float]:
    """Load the embeddings, the language models and VADER; returns seconds per model."""
    embedding.embedder()
    models.language_detector(tuple(sorted(set(languages))))
    models.vader()
    return models.load_times()
