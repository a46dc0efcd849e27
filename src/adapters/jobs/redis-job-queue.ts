/**
 * The job queue on Redis, for deployments of many nodes: the same leased worker loop as the
 * embedded queue (leased-queue.ts), with each job a hash and sorted sets as indexes:
 *
 *   <p>job:<id>            hash: the fields of the `jobs` table
 *   <p>ready:<kind>        PENDING jobs of a kind, scored by run_after
 *   <p>leased:<kind>       STARTED jobs of a kind, scored by lease_until
 *   <p>all, <p>account:<a>, <p>state:<s>, <p>kind:<k>   listings, scored by created_at
 *
 * Claim, renew, finish, revoke and reset are each one Lua script, so they are atomic however
 * many workers share the Redis. Why not BullMQ: the port's contract (a running job revoked
 * with its handler aborted and its result dropped, jobs visible only to their account, a
 * retry that starts over, a shutdown that hands a job back without spending an attempt, a
 * dead worker's last attempt counted as failed) is the embedded queue's, and BullMQ's model
 * (stalled counts apart from attempts, no revocation of an active job, no owner) would need
 * as much code around it as this store is, and two behaviours to keep equal.
 *
 * Durability is Redis's: run it with appendonly yes (docker-compose.yml does).
 */
import { Redis } from 'ioredis'
import type { JobState, ListOptions } from '../../core/ports/job-queue.js'
import type { JobRecord, JobStore } from './leased-queue.js'

const FIELDS: Array<keyof JobRecord> = [
  'id', 'account_id', 'kind', 'payload', 'state', 'attempts', 'max_attempts', 'backoff_ms', 'run_after',
  'lease_owner', 'lease_until', 'result', 'error', 'created_at', 'started_at', 'completed_at'
]
const NUMERIC = new Set<keyof JobRecord>(['attempts', 'max_attempts', 'backoff_ms', 'run_after', 'lease_until', 'created_at', 'started_at', 'completed_at'])

// Shared Lua helpers: KEYS are never used because every key derives from the prefix (ARGV[1]);
// this store is for a single Redis (or a cluster with one hash slot via a {tag} prefix).
const LUA_COMMON = `
local p = ARGV[1]
local function jkey(id) return p .. 'job:' .. id end
local function restate(id, kind, from, to, created)
  redis.call('ZREM', p .. 'state:' .. from, id)
  redis.call('ZADD', p .. 'state:' .. to, created, id)
end
-- set fields from a flat list of name, value; an empty string value clears the field
local function apply(id, list, start)
  for i = start, #list, 2 do
    if list[i + 1] == '' then redis.call('HDEL', jkey(id), list[i]) else redis.call('HSET', jkey(id), list[i], list[i + 1]) end
  end
end
`

/** ARGV: prefix, now, owner, leaseMs, kinds... -> the claimed job's id, or false */
const CLAIM = LUA_COMMON + `
local now = tonumber(ARGV[2])
local owner = ARGV[3]
local lease = tonumber(ARGV[4])
for i = 5, #ARGV do
  local kind = ARGV[i]
  -- a STARTED job whose lease lapsed: its worker died
  while true do
    local lapsed = redis.call('ZRANGEBYSCORE', p .. 'leased:' .. kind, '-inf', '(' .. now, 'LIMIT', 0, 1)[1]
    if not lapsed then break end
    local h = redis.call('HMGET', jkey(lapsed), 'attempts', 'max_attempts', 'created_at', 'error')
    redis.call('ZREM', p .. 'leased:' .. kind, lapsed)
    if tonumber(h[1]) >= tonumber(h[2]) then
      redis.call('HSET', jkey(lapsed), 'state', 'FAILURE', 'completed_at', now, 'error', h[4] or 'the worker running the last attempt stopped')
      redis.call('HDEL', jkey(lapsed), 'lease_owner', 'lease_until')
      restate(lapsed, kind, 'STARTED', 'FAILURE', h[3])
    else
      redis.call('HSET', jkey(lapsed), 'attempts', tonumber(h[1]) + 1, 'lease_owner', owner, 'lease_until', now + lease, 'started_at', now)
      redis.call('ZADD', p .. 'leased:' .. kind, now + lease, lapsed)
      return lapsed
    end
  end
  local due = redis.call('ZRANGEBYSCORE', p .. 'ready:' .. kind, '-inf', now, 'LIMIT', 0, 1)[1]
  if due then
    local h = redis.call('HMGET', jkey(due), 'attempts', 'created_at')
    redis.call('ZREM', p .. 'ready:' .. kind, due)
    redis.call('HSET', jkey(due), 'state', 'STARTED', 'attempts', tonumber(h[1]) + 1, 'lease_owner', owner, 'lease_until', now + lease, 'started_at', now)
    redis.call('ZADD', p .. 'leased:' .. kind, now + lease, due)
    restate(due, kind, 'PENDING', 'STARTED', h[2])
    return due
  end
end
return false
`

/** ARGV: prefix, id, owner, leaseUntil -> 1 when still held */
const RENEW = LUA_COMMON + `
local h = redis.call('HMGET', jkey(ARGV[2]), 'state', 'lease_owner', 'kind')
if h[1] ~= 'STARTED' or h[2] ~= ARGV[3] then return 0 end
redis.call('HSET', jkey(ARGV[2]), 'lease_until', ARGV[4])
redis.call('ZADD', p .. 'leased:' .. h[3], ARGV[4], ARGV[2])
return 1
`

/** ARGV: prefix, id, owner, field, value, ... (state among them) -> 1 when it was held */
const FINISH = LUA_COMMON + `
local id = ARGV[2]
local h = redis.call('HMGET', jkey(id), 'state', 'lease_owner', 'kind', 'created_at')
if h[1] ~= 'STARTED' or h[2] ~= ARGV[3] then return 0 end
apply(id, ARGV, 4)
local now = redis.call('HMGET', jkey(id), 'state', 'run_after')
redis.call('ZREM', p .. 'leased:' .. h[3], id)
if now[1] == 'PENDING' then redis.call('ZADD', p .. 'ready:' .. h[3], now[2], id) end
restate(id, h[3], 'STARTED', now[1], h[4])
return 1
`

/** ARGV: prefix, id, now -> PENDING or STARTED becomes REVOKED */
const REVOKE = LUA_COMMON + `
local id = ARGV[2]
local h = redis.call('HMGET', jkey(id), 'state', 'kind', 'created_at')
if h[1] ~= 'PENDING' and h[1] ~= 'STARTED' then return 0 end
redis.call('HSET', jkey(id), 'state', 'REVOKED', 'completed_at', ARGV[3])
redis.call('HDEL', jkey(id), 'lease_owner', 'lease_until')
redis.call('ZREM', p .. 'ready:' .. h[2], id)
redis.call('ZREM', p .. 'leased:' .. h[2], id)
restate(id, h[2], h[1], 'REVOKED', h[3])
return 1
`

/** ARGV: prefix, id, from, now -> a job in \`from\` starts over as PENDING */
const RESET = LUA_COMMON + `
local id = ARGV[2]
local h = redis.call('HMGET', jkey(id), 'state', 'kind', 'created_at')
if h[1] ~= ARGV[3] then return 0 end
redis.call('HSET', jkey(id), 'state', 'PENDING', 'attempts', 0, 'run_after', ARGV[4])
redis.call('HDEL', jkey(id), 'error', 'result', 'started_at', 'completed_at')
redis.call('ZADD', p .. 'ready:' .. h[2], ARGV[4], id)
restate(id, h[2], h[1], 'PENDING', h[3])
return 1
`

interface Scripts {
  cairnJobClaim: (...args: Array<string | number>) => Promise<string | null>
  cairnJobRenew: (...args: Array<string | number>) => Promise<number>
  cairnJobFinish: (...args: Array<string | number>) => Promise<number>
  cairnJobRevoke: (...args: Array<string | number>) => Promise<number>
  cairnJobReset: (...args: Array<string | number>) => Promise<number>
}

function fromHash (h: Record<string, string>): JobRecord | undefined {
  if (h.id === undefined) return undefined
  const r: Record<string, unknown> = {}
  for (const f of FIELDS) {
    const v = h[f]
    r[f] = v === undefined ? null : NUMERIC.has(f) ? Number(v) : v
  }
  return r as unknown as JobRecord
}

export class RedisJobStore implements JobStore {
  readonly redis: Redis
  private readonly s: Scripts

  constructor (url: string, private readonly prefix = 'cairn:jobs:') {
    this.redis = new Redis(url, { maxRetriesPerRequest: 2, connectTimeout: 5000 })
    this.redis.on('error', () => {}) // surfaced on the commands that fail
    this.redis.defineCommand('cairnJobClaim', { numberOfKeys: 0, lua: CLAIM })
    this.redis.defineCommand('cairnJobRenew', { numberOfKeys: 0, lua: RENEW })
    this.redis.defineCommand('cairnJobFinish', { numberOfKeys: 0, lua: FINISH })
    this.redis.defineCommand('cairnJobRevoke', { numberOfKeys: 0, lua: REVOKE })
    this.redis.defineCommand('cairnJobReset', { numberOfKeys: 0, lua: RESET })
    this.s = this.redis as unknown as Scripts
  }

  private key (id: string): string { return `${this.prefix}job:${id}` }

  async insert (job: JobRecord): Promise<void> {
    const fields: Array<string | number> = []
    for (const f of FIELDS) { const v = job[f]; if (v !== null) fields.push(f, v) }
    const p = this.prefix
    const m = this.redis.multi().hset(this.key(job.id), ...fields)
      .zadd(`${p}ready:${job.kind}`, job.run_after, job.id)
      .zadd(`${p}all`, job.created_at, job.id)
      .zadd(`${p}state:PENDING`, job.created_at, job.id)
      .zadd(`${p}kind:${job.kind}`, job.created_at, job.id)
    if (job.account_id !== null) m.zadd(`${p}account:${job.account_id}`, job.created_at, job.id)
    await m.exec()
  }

  async get (id: string, accountId?: string): Promise<JobRecord | undefined> {
    const r = fromHash(await this.redis.hgetall(this.key(id)))
    if (r === undefined || (accountId !== undefined && r.account_id !== accountId)) return undefined
    return r
  }

  async revoke (id: string, now: number): Promise<void> {
    await this.s.cairnJobRevoke.call(this.redis, this.prefix, id, now)
  }

  async reset (id: string, from: JobState, now: number): Promise<boolean> {
    return await this.s.cairnJobReset.call(this.redis, this.prefix, id, from, now) === 1
  }

  async list (opts: ListOptions & { limit: number }): Promise<JobRecord[]> {
    const p = this.prefix
    // walk the narrowest index newest first, filtering by the other conditions
    const index = opts.accountId !== undefined ? `${p}account:${opts.accountId}`
      : opts.state !== undefined ? `${p}state:${opts.state}`
        : opts.kind !== undefined ? `${p}kind:${opts.kind}` : `${p}all`
    const out: JobRecord[] = []
    const page = Math.max(opts.limit, 50)
    for (let start = 0; out.length < opts.limit; start += page) {
      const ids = await this.redis.zrevrange(index, start, start + page - 1)
      if (ids.length === 0) break
      const pipe = this.redis.pipeline()
      for (const id of ids) pipe.hgetall(this.key(id))
      for (const [, h] of await pipe.exec() ?? []) {
        const r = fromHash(h as Record<string, string>)
        if (r === undefined) continue
        if (opts.accountId !== undefined && r.account_id !== opts.accountId) continue
        if (opts.state !== undefined && r.state !== opts.state) continue
        if (opts.kind !== undefined && r.kind !== opts.kind) continue
        out.push(r)
        if (out.length === opts.limit) break
      }
    }
    return out
  }

  async claim (kinds: string[], owner: string, now: number, leaseMs: number): Promise<JobRecord | undefined> {
    const id = await this.s.cairnJobClaim.call(this.redis, this.prefix, now, owner, leaseMs, ...kinds)
    return id === null ? undefined : await this.get(id)
  }

  async renew (id: string, owner: string, leaseUntil: number): Promise<boolean> {
    return await this.s.cairnJobRenew.call(this.redis, this.prefix, id, owner, leaseUntil) === 1
  }

  async finish (id: string, owner: string, patch: Partial<JobRecord>): Promise<void> {
    const args: Array<string | number> = []
    for (const [k, v] of Object.entries(patch)) args.push(k, v === null || v === undefined ? '' : v as string | number)
    await this.s.cairnJobFinish.call(this.redis, this.prefix, id, owner, ...args)
  }

  async backoffOf (id: string): Promise<number> {
    return Number(await this.redis.hget(this.key(id), 'backoff_ms') ?? 1000)
  }

  async ping (): Promise<void> { await this.redis.ping() }

  async close (): Promise<void> {
    await this.redis.quit().catch(() => { this.redis.disconnect() })
  }
}
