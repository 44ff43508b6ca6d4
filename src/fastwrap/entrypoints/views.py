"""Plain-value views of domain objects, shared by the HTTP API and the CLI's `--json`."""

from __future__ import annotations

from typing import Any

from fastwrap.domain.model import Character, SearchHit


def character_view(c: Character) -> dict[str, Any]:
    """A character as JSON-ready values; timestamps stay datetimes for the caller to format."""
    k = c.knowledge
    return {
        "id": str(c.id),
        "name": c.name,
        "agent_role": c.agent_role,
        "ttl": c.ttl,
        "knowledge": {
            "entity_types": list(k.entity_types),
            "top_k": k.top_k,
            "min_score": float(k.min_score),
            "mode": k.mode,
        }
        if k
        else None,
        "model": c.model,
        "temperature": c.temperature,
        "max_output_tokens": c.max_output_tokens,
        "end_user_daily_tokens": c.end_user_daily_tokens,
        "memory": {
            "enabled": m.enabled,
            "top_k": m.top_k,
            "min_score": float(m.min_score),
            "scope": m.scope,
        }
        if (m := c.memory)
        else None,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    }


def hit_view(h: SearchHit) -> dict[str, Any]:
    """A search hit as JSON-ready values."""
    s = h.snippet
    return {
        "id": str(s.id),
        "entity_type": s.entity_type,
        "entity_id": s.entity_id,
        "content": s.content,
        "metadata": s.metadata,
        "score": h.score,
        "distance": h.distance,
        "vector_rank": h.vector_rank,
        "keyword_rank": h.keyword_rank,
    }
