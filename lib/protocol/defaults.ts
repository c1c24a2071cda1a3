/** protocol defaults that clients need too (lib/config.ts uses them; it does not load in a browser) */

/** the largest incoming frame in bytes unless --max-frame says otherwise */
export const DEFAULT_MAX_FRAME = 64 * 1024;
