// The FastWrap playground: plain JavaScript against the public API, nothing else.
// The key lives in sessionStorage (this tab only); every text from the API or the user is set
// with textContent, never parsed as HTML.
"use strict";

const KEY_STORAGE = "fastwrap.playground.key";
const $ = (id) => document.getElementById(id);
const state = { key: "", characters: new Map(), conversationId: null };

class ApiError extends Error {
  constructor(detail, code) {
    super(describe(detail));
    this.code = code;
  }
}

// The API's own words: a string, or FastAPI's 422 list of {loc, msg}.
function describe(detail) {
  if (Array.isArray(detail)) {
    return detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ");
  }
  return String(detail ?? "request failed");
}

async function errorOf(response) {
  const body = await response.json().catch(() => null);
  return new ApiError(body?.detail ?? `${response.status} ${response.statusText}`, body?.error);
}

function request(method, path, body) {
  const headers = { "x-api-key": state.key };
  if (body !== undefined) headers["content-type"] = "application/json";
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return fetch(path, { method, headers, body: payload });
}

async function api(method, path, body) {
  const response = await request(method, path, body);
  if (!response.ok) throw await errorOf(response);
  return response.status === 204 ? null : (await response.json()).data;
}

function showError(error) {
  $("error").textContent = error instanceof Error ? error.message : String(error);
}

function say(text) {
  $("error").textContent = "";
  $("status").textContent = text;
}

// --- key and characters ------------------------------------------------------------------

async function loadCharacters(selectId) {
  const found = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({ limit: "100" });
    if (cursor) query.set("cursor", cursor);
    const page = await api("GET", `/api/characters?${query}`);
    found.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  state.characters = new Map(found.map((c) => [c.id, c]));
  const select = $("character");
  const before = select.value;
  select.replaceChildren(
    new Option(found.length ? "Pick a character" : "No characters yet: create one", ""),
    ...found.map((c) => new Option(c.name || c.agent_role.slice(0, 40), c.id)),
  );
  select.disabled = false;
  select.value = selectId && state.characters.has(selectId) ? selectId : "";
  showCharacter();
  if (select.value !== before) newConversation(); // a conversation belongs to one character
  say(`${found.length} character(s) loaded`);
}

async function useKey(event) {
  event?.preventDefault();
  state.key = $("api-key").value.trim();
  if (!state.key) return;
  sessionStorage.setItem(KEY_STORAGE, state.key);
  try {
    await loadCharacters();
  } catch (error) {
    showError(error);
  }
}

function forgetKey() {
  sessionStorage.removeItem(KEY_STORAGE);
  state.key = "";
  $("api-key").value = "";
  say("Key forgotten");
}

function showCharacter() {
  const character = state.characters.get($("character").value);
  $("character-name").value = character?.name ?? "";
  $("prompt").value = character?.agent_role ?? "";
  $("save-character").disabled = !character;
}

function pickCharacter() {
  showCharacter();
  newConversation();
}

function characterFields() {
  const name = $("character-name").value.trim();
  return { name: name || null, agent_role: $("prompt").value };
}

async function saveCharacter(event) {
  event.preventDefault();
  const id = $("character").value;
  try {
    await api("PATCH", `/api/characters/${id}`, characterFields());
    await loadCharacters(id);
    say("Saved: the next turn uses the new prompt");
  } catch (error) {
    showError(error);
  }
}

async function createCharacter() {
  try {
    const created = await api("POST", "/api/characters", characterFields());
    await loadCharacters(created.id);
    say("Character created");
  } catch (error) {
    showError(error);
  }
}

// --- chat ------------------------------------------------------------------------------------

function addMessage(role, text) {
  const item = document.createElement("article");
  item.className = `message ${role}`;
  const who = document.createElement("h3");
  who.textContent = role === "user" ? "You" : "Character";
  const body = document.createElement("p");
  body.textContent = text;
  item.append(who, body);
  $("transcript").append(item);
  item.scrollIntoView({ block: "end" });
  return { item, body };
}

// Server-sent events from a fetch() body (EventSource cannot POST): {event, data} objects.
async function* serverEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replaceAll("\r\n", "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

function showTurn(reply, turn) {
  reply.body.textContent = turn.reply.content;
  state.conversationId = turn.conversation_id;
  $("conversation-id").textContent = turn.conversation_id;
  const usage = turn.usage;
  $("usage").textContent =
    `${usage.input_tokens ?? "?"} tokens in, ${usage.output_tokens ?? "?"} out; ` +
    `expires ${new Date(turn.expires_at).toLocaleTimeString()}`;
  if (turn.sources.length) {
    const list = document.createElement("ul");
    list.className = "sources";
    list.setAttribute("aria-label", "Sources");
    for (const s of turn.sources) {
      const entry = document.createElement("li");
      entry.textContent = `${s.entity_type}/${s.entity_id} (score ${s.score.toFixed(2)})`;
      list.append(entry);
    }
    reply.item.append(list);
  }
}

async function send(event) {
  event.preventDefault();
  const content = $("message").value;
  const characterId = $("character").value;
  if (!characterId) return showError("Pick or create a character first");
  const body = { character_id: characterId, content, stream: true };
  if (state.conversationId) body.conversation_id = state.conversationId;
  $("send").disabled = true;
  say("Streaming the reply…");
  addMessage("user", content);
  $("message").value = "";
  const reply = addMessage("assistant", "");
  try {
    const response = await request("POST", "/api/chat", body);
    if (!response.ok) throw await errorOf(response);
    for await (const { event: kind, data } of serverEvents(response)) {
      if (kind === "delta") reply.body.textContent += data.content;
      else if (kind === "done") showTurn(reply, data);
      else if (kind === "error") throw new ApiError(data.detail, data.error);
    }
    say("Reply complete");
  } catch (error) {
    reply.item.classList.add("failed");
    showError(error);
  } finally {
    $("send").disabled = false;
  }
}

function newConversation() {
  state.conversationId = null;
  $("transcript").replaceChildren();
  $("conversation-id").textContent = "new";
  $("usage").textContent = "–";
}

function sendOnCtrlEnter(event) {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("chat-form").requestSubmit();
}

document.addEventListener("DOMContentLoaded", () => {
  $("key-form").addEventListener("submit", useKey);
  $("forget-key").addEventListener("click", forgetKey);
  $("character").addEventListener("change", pickCharacter);
  $("character-form").addEventListener("submit", saveCharacter);
  $("create-character").addEventListener("click", createCharacter);
  $("chat-form").addEventListener("submit", send);
  $("message").addEventListener("keydown", sendOnCtrlEnter);
  $("new-conversation").addEventListener("click", () => {
    newConversation();
    say("New conversation: the next message starts it");
  });
  const saved = sessionStorage.getItem(KEY_STORAGE);
  if (saved) {
    $("api-key").value = saved;
    useKey();
  }
});
