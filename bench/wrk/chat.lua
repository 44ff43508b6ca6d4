-- POST /api/chat on existing conversations, round-robin over COUNT ids.
-- Arguments (after --): API_KEY CHARACTER_ID CONVERSATION_PREFIX COUNT
-- With T threads, thread i takes ids i, i+T, i+2T...: a conversation is never used by two
-- threads, and within a thread the next use of an id comes COUNT/T requests later, so with
-- COUNT/T larger than the connections per thread no two requests wait on one conversation lock.
local next_thread = 0
function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end

local requests = {}
local position = 0

function init(args)
  local api_key, character_id, prefix, count = args[1], args[2], args[3], tonumber(args[4])
  local threads = tonumber(args[5] or "1")
  local headers = {["Content-Type"] = "application/json", ["x-api-key"] = api_key}
  local index = thread_index or 0
  while index < count do
    local body = string.format(
      '{"character_id": "%s", "content": "What is the weather like on deck today?", ' ..
      '"conversation_id": "%s%d"}', character_id, prefix, index)
    requests[#requests + 1] = wrk.format("POST", "/api/chat", headers, body)
    index = index + threads
  end
end

function request()
  position = position % #requests + 1
  return requests[position]
end
