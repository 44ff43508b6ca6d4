"""The observability wrappers implement every method of the port they wrap.

They subclass the port (a Protocol) explicitly, so a method they forgot would silently be the
Protocol's empty body, answering None: a port method added later must be forwarded too.
"""

from __future__ import annotations

import inspect

import pytest

from fastwrap.adapters.otel.chat_model import TracedChatModel
from fastwrap.adapters.prometheus.chat_model import MeteredChatModel
from fastwrap.adapters.prometheus.conversations import MeteredConversationStore
from fastwrap.ports.conversations import ConversationStore
from fastwrap.ports.llm import ChatModel


def port_methods(port: type) -> set[str]:
    return {
        name
        for name, member in vars(port).items()
        if not name.startswith("_") and inspect.isfunction(member)
    }


@pytest.mark.parametrize(
    ("wrapper", "port"),
    [
        (MeteredConversationStore, ConversationStore),
        (MeteredChatModel, ChatModel),
        (TracedChatModel, ChatModel),
    ],
)
def test_a_wrapper_implements_every_method_of_its_port(wrapper: type, port: type) -> None:
    assert port_methods(port) <= set(vars(wrapper)), port_methods(port) - set(vars(wrapper))
