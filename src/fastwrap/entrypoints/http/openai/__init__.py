"""OpenAI's protocol over the same use cases as `/api` (SPEC §12): routes, shapes, errors, SSE."""
