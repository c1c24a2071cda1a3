/**
 * Presence Lua scripts. Layout (every key starts with P = `<prefix>{presence}`, e.g.
 * `chat:{presence}user:42`):
 *   P alive:<node>         string with a PX ttl, refreshed by the live node
 *   P user:<userId>        hash sessionId -> JSON {nodeId, legacy}
 *   P nodesessions:<node>  set of "userId:sessionId" held by that node (for close), same ttl
 * A session counts as live while its node's alive key exists. Scripts drop dead-node entries
 * they come across. Alive and nodesessions keys of other nodes are derived inside the scripts
 * (ARGV's "prefix" is P); the hash tag `{presence}` puts every presence key in one slot, so on
 * a Redis Cluster each script touches one slot, on one master, atomically as on one Redis.
 */
import { LuaScript } from './script.js';

const dropIfDead = `
local function nodeOf(json) return cjson.decode(json).nodeId end
local aliveCache = {}
local function isAlive(prefix, node)
  if aliveCache[node] == nil then
    aliveCache[node] = redis.call('EXISTS', prefix .. 'alive:' .. node) == 1
  end
  return aliveCache[node]
end
local function forget(prefix, userKey, userId, sid, node)
  redis.call('HDEL', userKey, sid)
  redis.call('SREM', prefix .. 'nodesessions:' .. node, userId .. ':' .. sid)
end
`;

/**
 * KEYS: user hash, own nodesessions set.
 * ARGV: prefix, userId, sessionId, session JSON, exclusive '1'|'0', maxSessions, replace|'', set ttl ms.
 * Returns 'ok' | 'busy' | 'full'. A refused register changes nothing but dead-node cleanup.
 */
export const registerScript = new LuaScript(`${dropIfDead}
local userKey, ownSet = KEYS[1], KEYS[2]
local prefix, userId, sid, value, exclusive, maxSessions, replace, setTtl =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8]
local entries = redis.call('HGETALL', userKey)
local live = 0
for i = 1, #entries, 2 do
  local field, node = entries[i], nodeOf(entries[i + 1])
  if not isAlive(prefix, node) then
    forget(prefix, userKey, userId, field, node)
  elseif field ~= sid and field ~= replace then
    live = live + 1
  end
end
if exclusive == '1' and live > 0 then return 'busy' end
if live >= maxSessions then return 'full' end
for _, old in ipairs({ replace, sid }) do
  local json = old ~= '' and redis.call('HGET', userKey, old)
  if json then forget(prefix, userKey, userId, old, nodeOf(json)) end
end
redis.call('HSET', userKey, sid, value)
redis.call('SADD', ownSet, userId .. ':' .. sid)
redis.call('PEXPIRE', ownSet, setTtl)
return 'ok'
`);

/** KEYS: user hash, own nodesessions set. ARGV: nodeId, userId, sessionId. Deletes only this node's entry. */
export const unregisterScript = new LuaScript(`
local json = redis.call('HGET', KEYS[1], ARGV[3])
if json and cjson.decode(json).nodeId == ARGV[1] then redis.call('HDEL', KEYS[1], ARGV[3]) end
redis.call('SREM', KEYS[2], ARGV[2] .. ':' .. ARGV[3])
return 0
`);

/**
 * KEYS: user hashes. ARGV: prefix, then one userId per key.
 * Returns one flat [sessionId, json, ...] array of live sessions per key.
 */
export const sessionsScript = new LuaScript(`${dropIfDead}
local prefix = ARGV[1]
local out = {}
for k = 1, #KEYS do
  local entries = redis.call('HGETALL', KEYS[k])
  local live = {}
  for i = 1, #entries, 2 do
    local node = nodeOf(entries[i + 1])
    if isAlive(prefix, node) then
      live[#live + 1] = entries[i]
      live[#live + 1] = entries[i + 1]
    else
      forget(prefix, KEYS[k], ARGV[k + 1], entries[i], node)
    end
  end
  out[k] = live
end
return out
`);

/**
 * KEYS: own alive key, own nodesessions set. ARGV: ttl ms.
 * Returns 1 when the alive key was still there, 0 when it had expired (or Redis lost it), in which
 * case the caller re-writes its sessions, which other nodes may have dropped meanwhile.
 */
export const refreshScript = new LuaScript(`
local existed = redis.call('PEXPIRE', KEYS[1], ARGV[1])
if existed == 0 then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return existed
`);

/** KEYS: own alive key, own nodesessions set. ARGV: prefix, nodeId. Removes only this node's sessions. */
export const closeScript = new LuaScript(`
local prefix, nodeId = ARGV[1], ARGV[2]
for _, member in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local sep = string.find(member, ':', 1, true)
  local userKey = prefix .. 'user:' .. string.sub(member, 1, sep - 1)
  local sid = string.sub(member, sep + 1)
  local json = redis.call('HGET', userKey, sid)
  if json and cjson.decode(json).nodeId == nodeId then redis.call('HDEL', userKey, sid) end
end
redis.call('DEL', KEYS[1], KEYS[2])
return 0
`);
