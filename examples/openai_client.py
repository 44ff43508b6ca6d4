"""Any OpenAI client talks to a FastWrap character: OpenAI's SDK and LangChain's ChatOpenAI.

    uv run fastwrap serve &                      # in another shell
    uv run python examples/openai_client.py      # FASTWRAP_URL defaults to http://localhost:8555

It signs up a tenant (or uses FASTWRAP_API_KEY), makes a character, and then only speaks
OpenAI's protocol: the models, a stateless completion, a conversation FastWrap remembers
(`conversation` in the body: send only the new message), a streamed reply, and LangChain.
"""

from __future__ import annotations

import os
import uuid

import httpx
from langchain_openai import ChatOpenAI
from openai import OpenAI
from pydantic import SecretStr

BASE = os.environ.get("FASTWRAP_URL", "http://localhost:8555")


def tenant_key() -> str:
    """FASTWRAP_API_KEY, or the key of a new tenant (shown once at sign-up)."""
    if key := os.environ.get("FASTWRAP_API_KEY"):
        return key
    email = f"openai-example-{uuid.uuid4().hex[:8]}@example.com"
    signup = httpx.post(
        f"{BASE}/auth/signup", json={"email": email, "password": "Correct-Horse-9-battery"}
    )
    signup.raise_for_status()
    return str(signup.json()["data"]["api_key"])


def make_character(key: str) -> str:
    response = httpx.post(
        f"{BASE}/api/characters",
        json={"name": "Captain", "agent_role": "You are a cheerful pirate who runs a shop."},
        headers={"x-api-key": key},
    )
    response.raise_for_status()
    return str(response.json()["data"]["id"])


def main() -> None:
    key = tenant_key()
    character = make_character(key)
    client = OpenAI(base_url=f"{BASE}/v1", api_key=key)

    # A character is a model: by id, or by its name when no other character has it.
    print("models:", [(m.id, (m.model_extra or {}).get("name")) for m in client.models.list()])

    # Stateless: you send the whole history, FastWrap adds the character's prompt and knowledge.
    stateless = client.chat.completions.create(
        model=character,
        messages=[
            {"role": "user", "content": "Hello!"},
            {"role": "assistant", "content": "Ahoy!"},
            {"role": "user", "content": "What do you sell?"},
        ],
    )
    print("stateless:", stateless.choices[0].message.content)

    # Stateful: FastWrap keeps the history; send only the new message.
    conversation = f"user-{uuid.uuid4().hex[:8]}"
    for question in ("My name is Ann.", "What is my name?"):
        turn = client.chat.completions.create(
            model="Captain",
            messages=[{"role": "user", "content": question}],
            extra_body={"conversation": conversation},
        )
        extension = (turn.model_extra or {})["fastwrap"]
        print("stateful:", turn.choices[0].message.content, "| kept until", extension["expires_at"])

    # Streamed, with the token usage at the end.
    stream = client.chat.completions.create(
        model=character,
        messages=[{"role": "user", "content": "Tell me a short story."}],
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces = []
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        if chunk.usage is not None:
            print("streamed:", "".join(pieces), "| tokens:", chunk.usage.total_tokens)

    # LangChain: ChatOpenAI with FastWrap's base URL and the character as the model.
    llm = ChatOpenAI(base_url=f"{BASE}/v1", api_key=SecretStr(key), model="Captain")
    print("langchain:", llm.invoke("Any parrots for sale?").content)


if __name__ == "__main__":
    main()
