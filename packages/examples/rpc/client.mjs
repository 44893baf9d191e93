// An RPC client over two channels, and a short session with server.mjs.
//   node client.mjs <request-channel> <response-channel>
//
// Every call gets an id; one receive loop reads all replies and settles the pending call with
// the same id, so any number of calls may be in flight at once. A call that times out is
// removed from the pending table: its reply, if it comes later, finds no entry and is dropped.
import { openReceiver, openSender } from 'ringwire';

export class RpcError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export class RpcClient {
  #requests;
  #responses;
  #nextId = 1;
  #pending = new Map(); // id -> { resolve, reject, timer }
  #receiving;
  /** Replies that came after their call had timed out. */
  lateReplies = 0;

  constructor(requestChannel, responseChannel) {
    this.#requests = openSender(requestChannel);
    this.#responses = openReceiver(responseChannel);
    this.#receiving = this.#receiveLoop().catch((error) => this.#rejectAll(error));
  }

  /** Calls `method` on the server: resolves with its result, rejects with its error or a timeout. */
  call(method, params = [], { timeout = 5000 } = {}) {
    const id = this.#nextId++;
    const request = JSON.stringify({ id, method, params });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#settle(id, new RpcError('ERR_RPC_TIMEOUT',
        `${method} (id ${id}) got no reply within ${timeout} ms`)), timeout);
      this.#pending.set(id, { resolve, reject, timer });
      // send() waits while the request ring is full; that wait counts against the timeout too.
      this.#requests.send(request, { timeout })
        .catch((error) => this.#settle(id, error));
    });
  }

  /** Ends the requests, waits for the server to answer what it has and end its replies. */
  async close() {
    this.#requests.end();
    try {
      await this.#receiving;
    } finally {
      this.#requests.close();
      this.#responses.close();
    }
  }

  #settle(id, error, result) {
    const call = this.#pending.get(id);
    if (call === undefined) return false; // settled already (timed out, or answered)
    this.#pending.delete(id);
    clearTimeout(call.timer);
    if (error) call.reject(error);
    else call.resolve(result);
    return true;
  }

  #rejectAll(error) {
    for (const id of [...this.#pending.keys()]) this.#settle(id, error);
  }

  async #receiveLoop() {
    const decoder = new TextDecoder();
    for await (const bytes of this.#responses) {
      const { id, result, error } = JSON.parse(decoder.decode(bytes));
      const failure = error && new RpcError(error.code, error.message);
      if (!this.#settle(id, failure, result)) this.lateReplies++;
    }
    // The server ended its replies: whatever is still pending will never be answered.
    this.#rejectAll(new RpcError('ERR_RPC_CLOSED', 'the server ended its replies'));
  }
}

const [requestChannel, responseChannel] = process.argv.slice(2);
const client = new RpcClient(requestChannel, responseChannel);
try {
  // Several calls in flight at once; each reply finds its call by id.
  const [sum, product, quotient] = await Promise.all([
    client.call('add', [2, 3]),
    client.call('multiply', [6, 7]),
    client.call('divide', [1, 4]),
  ]);
  console.log(`client: add(2, 3) = ${sum}, multiply(6, 7) = ${product}, divide(1, 4) = ${quotient}`);

  // An error thrown by the server rejects the call with the server's code.
  await client.call('divide', [1, 0]).catch((error) => console.log(`client: divide(1, 0) failed: ${error.code}`));

  // A slow call with a short timeout: rejects after 200 ms; the reply that comes later is dropped.
  await client.call('sleep', [600], { timeout: 200 })
    .catch((error) => console.log(`client: sleep(600) failed: ${error.code} (${error.message})`));

  // The client carries on as usual after a timeout.
  console.log(`client: add(40, 2) = ${await client.call('add', [40, 2])}`);
} finally {
  await client.close(); // returns once the server has sent its last reply, the late one included
}
console.log(`client: closed; late replies ignored: ${client.lateReplies}`);
