-- POST one JSON body to PATH, read from BODY_FILE; a "{i}" in the body becomes a conversation
-- index, round-robin over COUNT (thread i takes i, i+T, ... as chat.lua does, so no two
-- requests wait on one conversation lock).
-- Arguments (after --): PATH BODY_FILE API_KEY COUNT THREADS
local next_thread = 0
function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end

local requests = {}
local position = 0

function init(args)
  local path, body_file, api_key = args[1], args[2], args[3]
  local count, threads = tonumber(args[4] or "1"), tonumber(args[5] or "1")
  local file = assert(io.open(body_file, "r"))
  local template = file:read("*a")
  file:close()
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. api_key,
                   ["x-api-key"] = api_key}
  local index = thread_index or 0
  if not string.find(template, "{i}", 1, true) then count = 1 end
  while index < count do
    local body = string.gsub(template, "{i}", tostring(index))
    requests[#requests + 1] = wrk.format("POST", path, headers, body)
    index = index + threads
  end
end

function request()
  position = position % #requests + 1
  return requests[position]
end
