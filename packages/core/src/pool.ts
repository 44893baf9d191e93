// Task pools over ringwire (`ringwire/pool`): a producer process sends tasks into an MPMC
// channel; worker threads elsewhere — a piscina pool in another process, typically — take
// them, run a handler and send each result back on a second MPMC channel, where run()
// resolves it by id. Backpressure runs end to end: a slow pool fills the task channel and
// run() waits for room; a producer that stops reading results fills the result channel and
// the workers stop taking tasks. Nothing is buffered without bound except the promises of
// the tasks a producer has in flight.
//
// Failures are reported, never silent, and never retried: a task runs at most once. A
// handler that throws rejects its run() with ERR_RINGWIRE_TASK_FAILED; a worker thread that
// dies while holding tasks rejects each with ERR_RINGWIRE_WORKER_DIED (servePool sees the
// death and starts a new loop); a pool process that dies while holding tasks, with no other
// pool alive, rejects each with ERR_RINGWIRE_PEER_DEAD; tasks still in the channel wait for
// the next pool.
//
// codec.ts: the messages; client.ts: TaskClient; serve.ts: serveTasks and servePool.
export { type TaskCodec } from './pool/codec.js';
export type { FailureReport } from './pool/codec.js';
export {
  createTaskChannels, type CreateTaskChannelsOptions, TaskClient, type TaskClientOptions, taskChannelNames,
  unlinkTaskChannels,
} from './pool/client.js';
export {
  type LoopOutcome, type PoolLike, servePool, type ServePoolOptions, type ServePoolResult, type ServeSpec,
  serveTasks, type TaskHandler,
} from './pool/serve.js';
