"""One chat model per configured model, each built once and shared; a call goes to the one its
options name (SPEC §13: a character may choose its model from the operator's MODELS)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence

from fastwrap.domain.errors import Invalid
from fastwrap.domain.model import (
    NO_OPTIONS,
    Caller,
    ChatDelta,
    ChatReply,
    ModelOptions,
    PromptMessage,
)
from fastwrap.ports.llm import ChatModel


class ModelRouter(ChatModel):
    """`models` by the name a call asks for (a MODELS entry); `default` when it asks for none.
    One adapter may serve several names (MODEL listed in MODELS too): it is closed once."""

    def __init__(
        self,
        default: ChatModel,
        models: Mapping[str, ChatModel],
        labels: Mapping[str, str] | None = None,
    ) -> None:
        self._default = default
        self._models = dict(models)
        self.labels = dict(labels or {})  # name → `provider:model`, as the ledger records it

    @property
    def adapters(self) -> tuple[ChatModel, ...]:
        """Each distinct adapter once: the default and those of MODELS."""
        return tuple({id(m): m for m in (self._default, *self._models.values())}.values())

    def _pick(self, options: ModelOptions) -> ChatModel:
        if options.model is None:
            return self._default
        model = self._models.get(options.model)
        if model is None:
            listed = ", ".join(self._models) or "none (MODELS is not set)"
            raise Invalid(f"model {options.model!r} is not allowed; allowed models: {listed}")
        return model

    async def reply(
        self,
        messages: Sequence[PromptMessage],
        options: ModelOptions = NO_OPTIONS,
        caller: Caller | None = None,
    ) -> ChatReply:
        return await self._pick(options).reply(messages, options, caller)

    def stream(
        self,
        messages: Sequence[PromptMessage],
        options: ModelOptions = NO_OPTIONS,
        caller: Caller | None = None,
    ) -> AsyncIterator[ChatDelta]:
        return self._pick(options).stream(messages, options, caller)

    async def aclose(self) -> None:
        for model in self.adapters:
            await model.aclose()
