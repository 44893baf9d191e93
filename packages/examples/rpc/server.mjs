// An RPC server: reads JSON requests {id, method, params} from one channel and writes JSON
// replies {id, result} or {id, error: {code, message}} to another. Requests are handled
// concurrently, so replies go out in the order they complete, not the order they came in.
//   node server.mjs <request-channel> <response-channel>
import { openReceiver, openSender } from 'ringwire';

const [requestChannel, responseChannel] = process.argv.slice(2);

function fail(code, message) {
  return Object.assign(new Error(message), { code });
}

const methods = {
  add: (a, b) => a + b,
  multiply: (a, b) => a * b,
  divide: (a, b) => {
    if (b === 0) throw fail('ERR_DIVIDE_BY_ZERO', 'division by zero');
    return a / b;
  },
  // Slow on purpose: answers after `ms` milliseconds, perhaps after the caller gave up.
  sleep: (ms) => new Promise((resolve) => setTimeout(() => resolve(ms), ms)),
};

const requests = openReceiver(requestChannel);
const responses = openSender(responseChannel);
const decoder = new TextDecoder();
const inFlight = new Set();
let handled = 0;

async function handle({ id, method, params }) {
  let reply;
  try {
    if (!Object.hasOwn(methods, method)) throw fail('ERR_UNKNOWN_METHOD', `unknown method '${method}'`);
    reply = { id, result: await methods[method](...params) };
  } catch (error) {
    reply = { id, error: { code: error.code ?? 'ERR_INTERNAL', message: error.message } };
  }
  await responses.send(JSON.stringify(reply)); // waits if the client is slow to read
  handled++;
}

try {
  for await (const bytes of requests) {
    const task = handle(JSON.parse(decoder.decode(bytes)));
    inFlight.add(task);
    task.then(() => inFlight.delete(task), (error) => {
      // Replies cannot be sent (e.g. ERR_RINGWIRE_PEER_DEAD: the client died): give up.
      console.error(`server: ${error.code ?? ''} ${error.message}`);
      process.exit(1);
    });
  }
  // The client ended its requests: answer what is still running, then end the replies.
  await Promise.all(inFlight);
  responses.end();
} finally {
  requests.close();
  responses.close();
}
console.log(`server: handled ${handled} requests`);
