/**
 * The v2 client library over TCP or TLS, for Node (bin/chatclient, bench/, the tests): the
 * transport-agnostic ClientCore (core.ts) with a `connect` that dials the server's TCP port.
 */
import { WireConnection, type Endpoint } from './connection.js';
import { ClientCore, type CoreOptions } from './core.js';

export * from './core.js';

export interface ClientOptions extends CoreOptions, Endpoint {}

export class ChatClient extends ClientCore {
  static async connect(opts: ClientOptions): Promise<ChatClient> {
    const dial = () => WireConnection.open(opts);
    return new ChatClient(await dial(), opts, dial);
  }
}
