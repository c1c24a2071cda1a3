/** The slice of a pino logger the Redis bus and presence use. */
export interface BusLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLog: BusLog = { info() {}, warn() {}, error() {} };
