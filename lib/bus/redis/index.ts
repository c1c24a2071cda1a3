export { RedisBus, type RedisBusOptions } from './bus.js';
export { RedisPresence, type RedisPresenceOptions } from './presence.js';
export type { BusLog } from './log.js';
