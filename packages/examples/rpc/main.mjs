// `npm run rpc`: request/response between two processes over two SPSC channels (one each
// way; an SPSC channel has one sender and one receiver). This launcher creates the
// channels, starts the server and the client, waits for both and removes the channels.
import { createChannel, unlinkChannel } from 'ringwire';
import { onInterrupt, startNode, stopChildren } from '../shared/launch.mjs';

const requestChannel = `rpc-req-${process.pid}`;
const responseChannel = `rpc-res-${process.pid}`;
const channels = [requestChannel, responseChannel];
onInterrupt(() => { for (const name of channels) unlinkChannel(name); });

try {
  for (const name of channels) createChannel(name, { capacity: 64 * 1024 });
  const server = startNode(new URL('./server.mjs', import.meta.url), channels);
  const client = startNode(new URL('./client.mjs', import.meta.url), channels);
  await Promise.all([server.done, client.done]);
} catch (error) {
  console.error(`rpc: ${error.message}`);
  process.exitCode = 1;
} finally {
  stopChildren();
  for (const name of channels) unlinkChannel(name);
}
