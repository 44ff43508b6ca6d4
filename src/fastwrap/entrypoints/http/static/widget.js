// FastWrap chat widget (SPEC §14): a chat bubble for a tenant's own site.
//
//   <script src="https://fastwrap.example/widget.js" async
//           data-character="CHARACTER_ID" data-token-url="/fastwrap-token"></script>
//
// The page never holds a tenant key: it holds an end-user token (fwu_...) that the site's own
// backend mints with POST /api/end-user-tokens, given either as `data-token` or fetched from
// `data-token-url` (GET, same-origin credentials, answering {"token": "fwu_..."}); with a URL a
// token that expired is fetched again once. The site's origin must be in the tenant's
// `allowed_origins` (PATCH /clients/me/settings). Optional: `data-title`, and `data-api` when
// the API is not where this script came from. Everything lives in a shadow root: the host
// page's styles do not reach in, and ours do not leak out.
(() => {
  "use strict";

  const script = document.currentScript;
  if (!script) return;
  const config = {
    api: (script.dataset.api || new URL(script.src).origin).replace(/\/$/, ""),
    character: script.dataset.character || "",
    token: script.dataset.token || "",
    tokenUrl: script.dataset.tokenUrl || "",
    title: script.dataset.title || "Chat",
  };
  const storageKey = `fastwrap-widget:${config.api}:${config.character}`;

  class WidgetError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  const styles = `
    :host { all: initial; }
    * { box-sizing: border-box; font: 14px/1.4 system-ui, sans-serif; }
    .bubble { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
      border: 0; border-radius: 24px; padding: 12px 18px; background: #2457d6; color: #fff;
      cursor: pointer; box-shadow: 0 4px 14px rgb(0 0 0 / 25%); }
    .panel { position: fixed; right: 20px; bottom: 76px; z-index: 2147483000;
      width: min(360px, calc(100vw - 40px)); height: min(480px, calc(100vh - 120px));
      display: flex; flex-direction: column; background: #fff; color: #1b1b1f;
      border-radius: 12px; box-shadow: 0 8px 28px rgb(0 0 0 / 25%); overflow: hidden; }
    .panel[hidden] { display: none; }
    header { display: flex; align-items: center; justify-content: space-between;
      padding: 10px 12px; background: #2457d6; color: #fff; font-weight: 600; }
    header button { border: 0; background: transparent; color: #fff; cursor: pointer; }
    .log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column;
      gap: 8px; margin: 0; list-style: none; }
    .log li { max-width: 85%; padding: 8px 10px; border-radius: 10px; white-space: pre-wrap;
      word-wrap: break-word; }
    .user { align-self: flex-end; background: #2457d6; color: #fff; }
    .assistant { align-self: flex-start; background: #eef1f7; }
    .failed { background: #fde7e7; color: #8a1111; }
    .status { min-height: 1.4em; padding: 0 12px; color: #8a1111; font-size: 12px; }
    form { display: flex; gap: 6px; padding: 10px; border-top: 1px solid #e2e5ec; }
    input { flex: 1; padding: 8px; border: 1px solid #c4c9d4; border-radius: 8px; }
    form button { padding: 8px 12px; border: 0; border-radius: 8px; background: #2457d6;
      color: #fff; cursor: pointer; }
    form button:disabled { opacity: 0.6; cursor: default; }
  `;

  function element(tag, attributes = {}, text = "") {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    if (text) node.textContent = text;
    return node;
  }

  const host = element("div", { "data-fastwrap-widget": "" });
  const root = host.attachShadow({ mode: "open" });
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(styles);
  root.adoptedStyleSheets = [sheet];

  const bubble = element("button", { class: "bubble", type: "button", "aria-expanded": "false" });
  bubble.textContent = "Open chat";
  const panel = element("section", { class: "panel", role: "dialog", "aria-label": config.title });
  panel.hidden = true;
  const header = element("header");
  const heading = element("span", {}, config.title);
  const fresh = element("button", { type: "button" }, "New conversation");
  header.append(heading, fresh);
  const log = element("ol", { class: "log", role: "log", "aria-label": "Conversation" });
  const status = element("p", { class: "status", role: "status" });
  const form = element("form");
  const input = element("input", { "aria-label": "Message", maxlength: "32000", autocomplete: "off" });
  const send = element("button", { type: "submit" }, "Send");
  form.append(input, send);
  panel.append(header, log, status, form);
  root.append(panel, bubble);

  let conversationId = sessionStorage.getItem(storageKey);
  let token = config.token;

  function toggle() {
    panel.hidden = !panel.hidden;
    bubble.textContent = panel.hidden ? "Open chat" : "Close chat";
    bubble.setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) input.focus();
  }

  function say(role, text) {
    const item = element("li", { class: role }, text);
    log.append(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  async function freshToken() {
    if (!config.tokenUrl) return token;
    const response = await fetch(config.tokenUrl, { credentials: "same-origin" });
    if (!response.ok) throw new WidgetError("This site could not start a chat session", response.status);
    token = (await response.json()).token;
    return token;
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

  async function post(content) {
    const body = { character_id: config.character, content, stream: true };
    if (conversationId) body.conversation_id = conversationId;
    let response;
    try {
      response = await fetch(`${config.api}/api/chat`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": token },
        body: JSON.stringify(body),
      });
    } catch {
      // A refused CORS check and a server that is down look the same from here.
      throw new WidgetError("The chat service could not be reached from this page", 0);
    }
    if (!response.ok) {
      const detail = await response.json().then((b) => b.detail, () => response.statusText);
      throw new WidgetError(detail || `error ${response.status}`, response.status);
    }
    return response;
  }

  async function ask(content) {
    if (!token) await freshToken();
    let response;
    try {
      response = await post(content);
    } catch (error) {
      if (error.status !== 401 || !config.tokenUrl) throw error;
      await freshToken(); // the token expired: the site mints another, once
      response = await post(content);
    }
    return response;
  }

  async function submit(event) {
    event.preventDefault();
    const content = input.value.trim();
    if (!content) return;
    input.value = "";
    send.disabled = true;
    status.textContent = "";
    say("user", content);
    const reply = say("assistant", "");
    try {
      const response = await ask(content);
      for await (const { event: kind, data } of serverEvents(response)) {
        if (kind === "delta") reply.textContent += data.content;
        else if (kind === "done") {
          reply.textContent = data.reply.content;
          conversationId = data.conversation_id;
          sessionStorage.setItem(storageKey, conversationId);
        } else if (kind === "error") throw new WidgetError(data.detail, 0);
        log.scrollTop = log.scrollHeight;
      }
    } catch (error) {
      reply.classList.add("failed");
      reply.textContent = "The reply could not be completed.";
      status.textContent = error.message;
    } finally {
      send.disabled = false;
      input.focus();
    }
  }

  function newConversation() {
    conversationId = null;
    sessionStorage.removeItem(storageKey);
    log.replaceChildren();
    status.textContent = "";
  }

  bubble.addEventListener("click", toggle);
  fresh.addEventListener("click", newConversation);
  form.addEventListener("submit", submit);
  if (!config.character) status.textContent = "The widget needs data-character";
  if (document.body) document.body.append(host);
  else document.addEventListener("DOMContentLoaded", () => document.body.append(host));
})();
