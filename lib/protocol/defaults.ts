/** protocol defaults that clients need too (lib/config.ts uses them; it does not load in a browser) */

/** the largest incoming frame in bytes unless --max-frame says otherwise */
export const DEFAULT_MAX_FRAME = 64 * 1024;

/** the longest lifetime of a disappearing message (a send's `ttl`, a TIMER_MSG's `ttl`), seconds: a year */
export const MAX_TTL_S = 365 * 24 * 3600;
