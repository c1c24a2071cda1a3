/**
 * Bounds on password attempts and on registrations, taken before the scrypt work they would
 * cost and counted in this process (embedded) or in Redis for the whole cluster, with
 * rate-limiter-flexible (its fixed windows, atomic Lua increments and in-memory fallback are
 * what a hand-written counter would have to redo).
 *
 * A login attempt takes one point from three budgets at once:
 * - account at address: guesses at one account from one address (a success clears it, so the
 *   owner's typos are forgiven);
 * - address: guesses from one address at any accounts (password spraying);
 * - account: guesses at one account from addresses it has never logged in from, cluster-wide
 *   (many addresses guessing one account). An address the account logged in from in the last
 *   14 days is exempt, so a stranger's attack cannot lock the owner out on a known address,
 *   and one stranger's address can use up only its account-at-address share of it.
 * A success gives back what it took from the address and account budgets. A refused attempt
 * takes nothing, so the budgets count attempts that reached the password check, finished or
 * still in flight.
 */
import type { RedisClient } from '../bus/redis/connection.js';
import type { ServerOptions } from '../config.js';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

/** the options of lib/config.ts these limits read (documented there) */
export type AuthLimitOptions = Pick<
  ServerOptions,
  'loginAttemptsPerAccountAddress' | 'loginAttemptsPerAddress' | 'loginAttemptsPerAccount' | 'loginWindowMs' | 'registrationsPerAddress' | 'registrationWindowMs'
>;

/** where the counts live: this process, or a Redis shared by the cluster */
export type CountStore = { kind: 'memory' } | { kind: 'redis'; redis: RedisClient; prefix: string };

/** how long an address stays known for an account after a login from it (memory timers cap it under 24.8 days) */
export const KNOWN_ADDRESS_MS = 14 * 24 * 3600 * 1000;

export type Refusal = { ok: false; retryAfterMs: number; limit: 'account at address' | 'address' | 'account' | 'registrations' };
export type Admission = { ok: true; ticket: LoginTicket } | Refusal;

/** what an admitted login took, to give back if it succeeds */
export interface LoginTicket {
  readonly account: string;
  readonly address: string;
  readonly pair: string;
  readonly taken: ReadonlyArray<readonly [RateLimiterAbstract, string]>;
}

/**
 * The part of an address that one client controls: the whole IPv4 address, an IPv6 /64 (the
 * usual assignment to one customer, who could otherwise rotate through 2^64 addresses).
 */
export function addressKey(address: string): string {
  const plain = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(plain);
  if (mapped) return mapped[1]!;
  // a socket's address is IPv4 (dots) or IPv6 (colons)
  if (!plain.includes(':')) return plain;
  const [head, tail] = plain.includes('::') ? plain.split('::') : [plain, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

export class AuthLimits {
  readonly #store: CountStore;
  readonly #perPair: RateLimiterAbstract | null;
  readonly #perAddress: RateLimiterAbstract | null;
  readonly #perAccount: RateLimiterAbstract | null;
  readonly #known: RateLimiterAbstract | null;
  readonly #registrations: RateLimiterAbstract | null;

  constructor(opts: AuthLimitOptions, store: CountStore) {
    this.#store = store;
    const window = opts.loginWindowMs;
    this.#perPair = this.#limiter('login:pair', opts.loginAttemptsPerAccountAddress, window);
    this.#perAddress = this.#limiter('login:addr', opts.loginAttemptsPerAddress, window);
    this.#perAccount = this.#limiter('login:acct', opts.loginAttemptsPerAccount, window);
    this.#known = this.#perAccount ? this.#limiter('login:known', 1, KNOWN_ADDRESS_MS) : null;
    this.#registrations = this.#limiter('reg:addr', opts.registrationsPerAddress, opts.registrationWindowMs);
  }

  #limiter(name: string, points: number, windowMs: number): RateLimiterAbstract | null {
    if (points <= 0) return null;
    const duration = Math.max(1, Math.round(windowMs / 1000));
    const memory = new RateLimiterMemory({ keyPrefix: name, points, duration });
    if (this.#store.kind === 'memory') return memory;
    // while Redis is down each process counts on its own rather than letting logins hang or fail
    return new RateLimiterRedis({
      storeClient: this.#store.redis,
      keyPrefix: `${this.#store.prefix}limit:${name}`,
      points,
      duration,
      rejectIfRedisNotReady: true,
      insuranceLimiter: memory,
    });
  }

  /** takes one attempt from each budget, or none and says which is spent and for how long */
  async admitLogin(userId: number, address: string): Promise<Admission> {
    const addr = addressKey(address);
    const account = String(userId);
    const pair = `${account}@${addr}`;
    const known = this.#known !== null && (await this.#known.get(pair)) !== null;
    const wanted: Array<[RateLimiterAbstract | null, string, Refusal['limit']]> = [
      [this.#perPair, pair, 'account at address'],
      [this.#perAddress, addr, 'address'],
      [known ? null : this.#perAccount, account, 'account'],
    ];
    return this.#take(wanted, (taken) => ({ account, address: addr, pair, taken }));
  }

  /** the password was right: the account's typos from this address are forgotten, the rest given back */
  async loginSucceeded(ticket: LoginTicket): Promise<void> {
    const work: Array<Promise<unknown>> = [];
    for (const [limiter, key] of ticket.taken) work.push(limiter === this.#perPair ? limiter.delete(key) : limiter.reward(key, 1));
    if (this.#known) work.push(this.#known.set(ticket.pair, 1, KNOWN_ADDRESS_MS / 1000));
    await Promise.all(work);
  }

  /** the attempt did not happen after all (the server was too busy to check it): its points go back */
  async loginCancelled(ticket: LoginTicket): Promise<void> {
    await giveBack(ticket.taken);
  }

  async admitRegistration(address: string): Promise<{ ok: true } | Refusal> {
    const got = await this.#take([[this.#registrations, addressKey(address), 'registrations']], () => null);
    return got.ok ? { ok: true } : got;
  }

  async #take<T>(
    wanted: Array<[RateLimiterAbstract | null, string, Refusal['limit']]>,
    admit: (taken: Array<readonly [RateLimiterAbstract, string]>) => T,
  ): Promise<{ ok: true; ticket: T } | Refusal> {
    const active = wanted.filter((w): w is [RateLimiterAbstract, string, Refusal['limit']] => w[0] !== null);
    const results = await Promise.allSettled(active.map(([limiter, key]) => limiter.consume(key)));
    const taken: Array<readonly [RateLimiterAbstract, string]> = [];
    let refusal: Refusal | null = null;
    let failure: unknown = null;
    for (let i = 0; i < active.length; i++) {
      const r = results[i]!;
      const [limiter, key, limit] = active[i]!;
      if (r.status === 'fulfilled') taken.push([limiter, key]);
      else if (!(r.reason instanceof RateLimiterRes)) failure = r.reason;
      else if (!refusal || r.reason.msBeforeNext > refusal.retryAfterMs) refusal = { ok: false, retryAfterMs: r.reason.msBeforeNext, limit };
    }
    if (!refusal && failure === null) return { ok: true, ticket: admit(taken) };
    // the attempt does not happen: what it took from the other budgets goes back
    await giveBack(taken);
    if (failure !== null || !refusal) throw failure;
    return refusal;
  }
}

function giveBack(taken: ReadonlyArray<readonly [RateLimiterAbstract, string]>): Promise<unknown> {
  return Promise.all(taken.map(([limiter, key]) => limiter.reward(key, 1)));
}
