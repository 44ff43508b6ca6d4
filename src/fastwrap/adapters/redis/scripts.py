"""The conversation store's keys and every Lua script it runs, each whole.

Keys, under the prefix (default `fw:`). A `{...}` hash tag picks the cluster slot, and a script
may only touch keys of one slot, so each script below names the slot its KEYS live in:

    fw:{<tenant>:<conversation>}:msgs   list of JSON messages, oldest first
    fw:{<tenant>:<conversation>}:meta   hash: `character` and `end_user` it is bound to (none
                                        until its first turn when created empty), `created`
                                        (ISO time), `seq` (its newest message's number),
                                        `metadata` (JSON), `turn` (id of the last stored
                                        turn); or only `gone` once its tenant was deleted
    fw:{<tenant>:<conversation>}:lock   the turn lock: a random token with a TTL
    fw:tenant:{<tenant>}:convs          sorted set: the tenant's conversation ids by expiry (ms)
    fw:tenant:{<tenant>}:gone           the tenant's tombstone, once it was deleted

Every script may run twice (redis-py re-sends a command whose reply a dropped connection lost),
so each one is written to do its work once.
"""

from __future__ import annotations

from typing import Any, NamedTuple
from uuid import UUID

from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterPipeline
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError
from redis.typing import EncodableT

from fastwrap.adapters.redis.client import RedisClient

# Conversation slot. KEYS msgs, meta; ARGV how many recent messages (ALL for every one).
# {character, PTTL (ms), messages, end user, metadata, created, seq} (false for a field it does
# not have), or {} if the conversation is unknown, expired or gone.
READ = """
local m = redis.call('HMGET', KEYS[2], 'character', 'created', 'end_user', 'metadata', 'seq')
if not m[1] and not m[2] then return {} end
local recent = tonumber(ARGV[1])
local messages = {}
if recent < 0 then messages = redis.call('LRANGE', KEYS[1], 0, -1)
elseif recent > 0 then messages = redis.call('LRANGE', KEYS[1], -recent, -1) end
return {m[1], redis.call('PTTL', KEYS[2]), messages, m[3], m[4], m[2], m[5]}
"""

# Conversation slot. KEYS msgs, meta, lock; ARGV token, lock TTL (ms), how many recent messages.
# BUSY unless the lock is free or already ours (a call retried after its reply was lost); else
# takes it and answers what READ does.
TAKE_AND_READ = """
local holder = redis.call('GET', KEYS[3])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
local m = redis.call('HMGET', KEYS[2], 'character', 'created', 'end_user', 'metadata', 'seq')
if not m[1] and not m[2] then return {} end
local recent = tonumber(ARGV[3])
local messages = {}
if recent < 0 then messages = redis.call('LRANGE', KEYS[1], 0, -1)
elseif recent > 0 then messages = redis.call('LRANGE', KEYS[1], -recent, -1) end
return {m[1], redis.call('PTTL', KEYS[2]), messages, m[3], m[4], m[2], m[5]}
"""

# Conversation slot. KEYS msgs, meta, lock; ARGV character, TTL (ms), max messages, turn id,
# token, end user ('' for none), newest seq, created (ISO), then the messages. Gives the lock
# back (if still ours) whatever the outcome, then stores the messages unless the conversation is
# gone, bound to another character, or to another end user when one is named. A conversation
# that is new, or was created empty, is bound by this turn. Answers {outcome, released}. A
# retried call finds its turn id and stores nothing twice.
COMMIT = """
local released = 0
if redis.call('GET', KEYS[3]) == ARGV[5] then released = redis.call('DEL', KEYS[3]) end
if redis.call('HEXISTS', KEYS[2], 'gone') == 1 then return {2, released} end
local m = redis.call('HMGET', KEYS[2], 'character', 'created', 'end_user', 'turn')
if m[1] and m[1] ~= ARGV[1] then return {0, released} end
if m[1] and ARGV[6] ~= '' and m[3] ~= ARGV[6] then return {3, released} end
if not m[1] and not m[2] then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], 'created', ARGV[8])
end
if m[4] ~= ARGV[4] then
  if not m[1] then
    redis.call('HSET', KEYS[2], 'character', ARGV[1])
    if ARGV[6] ~= '' then redis.call('HSET', KEYS[2], 'end_user', ARGV[6]) end
  end
  redis.call('HSET', KEYS[2], 'turn', ARGV[4], 'seq', ARGV[7])
  redis.call('RPUSH', KEYS[1], unpack(ARGV, 9))
  redis.call('LTRIM', KEYS[1], -tonumber(ARGV[3]), -1)
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return {1, released}
"""

# Conversation slot. KEYS msgs, meta; ARGV TTL (ms), created (ISO), metadata (JSON), newest
# seq, max messages, then the messages. 0 (nothing written) if a live conversation has the id.
CREATE = """
local m = redis.call('HMGET', KEYS[2], 'character', 'created')
if m[1] or m[2] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[2], 'created', ARGV[2], 'metadata', ARGV[3], 'seq', ARGV[4])
if #ARGV > 5 then
  redis.call('RPUSH', KEYS[1], unpack(ARGV, 6))
  redis.call('LTRIM', KEYS[1], -tonumber(ARGV[5]), -1)
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1
"""

# Conversation slot. KEYS meta; ARGV metadata (JSON). 0 if the conversation is unknown.
SET_METADATA = """
local m = redis.call('HMGET', KEYS[1], 'character', 'created')
if not m[1] and not m[2] then return 0 end
redis.call('HSET', KEYS[1], 'metadata', ARGV[1])
return 1
"""

# Conversation slot. KEYS msgs, meta; ARGV the seqs to remove. How many were removed. Rare (a
# response or an item deleted), so it may decode every stored message.
REMOVE = """
local m = redis.call('HMGET', KEYS[2], 'character', 'created')
if not m[1] and not m[2] then return 0 end
local drop = {}
for i = 1, #ARGV do drop[tonumber(ARGV[i])] = true end
local removed = 0
for _, raw in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local n = cjson.decode(raw)['n']
  if n and drop[n] then
    removed = removed + redis.call('LREM', KEYS[1], 1, raw)
  end
end
return removed
"""

# Conversation slot. KEYS lock; ARGV token.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# Conversation slot. KEYS lock; ARGV token, lock TTL (ms). 0 if the lock is no longer ours.
EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

# Conversation slot, run by delete_all. KEYS msgs, meta; ARGV how long the mark lasts (ms).
# Forgets the conversation and leaves `gone` in its place, which COMMIT refuses to store over.
FORGET = """
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[2], 'gone', 1)
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1
"""

# Conversation slot. KEYS msgs, meta; ARGV end user. Deletes the conversation if it is bound to
# that end user (an erasure request); 1 if it was, else 0.
FORGET_END_USER = """
if redis.call('HGET', KEYS[2], 'end_user') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
"""

# Tenant slot. KEYS index, tombstone; ARGV conversation id, TTL (ms), prune slack (ms). 0 (and
# nothing written) once the tenant is deleted; else indexes the conversation until its expiry
# (GT: never earlier than a turn indexed before, with a longer TTL, may keep it), prunes entries
# that expired a while ago, and keeps the index as long as its last entry.
INDEX = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], 'GT', now + ttl, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - tonumber(ARGV[3])))
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
"""

ALL = -1  # READ's and TAKE_AND_READ's `recent` for every message
BUSY = 0  # TAKE_AND_READ: another turn holds the lock
INDEXED = 1  # INDEX: else the tenant is gone
STORED, OTHER_CHARACTER, GONE, OTHER_END_USER = 1, 0, 2, 3  # COMMIT's outcomes

type ScriptCall = tuple[AsyncScript, list[str], list[EncodableT]]


class ConversationKeys(NamedTuple):
    msgs: str
    meta: str
    lock: str

    @classmethod
    def of(cls, prefix: str, client_id: UUID, conversation_id: str) -> ConversationKeys:
        base = f"{prefix}{{{client_id}:{conversation_id}}}"
        return cls(f"{base}:msgs", f"{base}:meta", f"{base}:lock")


class TenantKeys(NamedTuple):
    conversations: str
    tombstone: str

    @classmethod
    def of(cls, prefix: str, client_id: UUID) -> TenantKeys:
        base = f"{prefix}tenant:{{{client_id}}}"
        return cls(f"{base}:convs", f"{base}:gone")


class Scripts:
    """Every script registered once on the client, and a way to run several in one round trip."""

    def __init__(self, client: RedisClient) -> None:
        self.client = client
        self.read = client.register_script(READ)
        self.take_and_read = client.register_script(TAKE_AND_READ)
        self.commit = client.register_script(COMMIT)
        self.release = client.register_script(RELEASE)
        self.extend = client.register_script(EXTEND)
        self.forget = client.register_script(FORGET)
        self.forget_end_user = client.register_script(FORGET_END_USER)
        self.create = client.register_script(CREATE)
        self.set_metadata = client.register_script(SET_METADATA)
        self.remove = client.register_script(REMOVE)
        self.index = client.register_script(INDEX)

    async def pipelined(self, calls: list[ScriptCall]) -> list[Any]:
        """Run scripts by SHA in one pipeline: one round trip (on a cluster, one per node, at once).

        redis-py's Script objects would ask SCRIPT EXISTS before every pipeline. Instead, when
        Redis lacks a script (a restart, SCRIPT FLUSH, a new node), load them and try once more;
        every script here may run twice.
        """
        try:
            return await self._pipeline(calls).execute()
        except NoScriptError:
            for script, _keys, _args in calls:
                script.sha = await self.client.script_load(script.script)
        return await self._pipeline(calls).execute()

    def _pipeline(self, calls: list[ScriptCall]) -> Pipeline | ClusterPipeline:
        pipe = self.client.pipeline(transaction=False)
        for script, keys, args in calls:
            pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
        return pipe
