// ringwire/nats: bridges between ringwire channels and NATS subjects, for processes on other
// machines (nats/bridge.ts), and ringwire/pool across machines (nats/tasks.ts). The NATS
// client (@nats-io/transport-node, @nats-io/jetstream) is an optional peer dependency, loaded
// when a bridge starts: importing ringwire never needs it.
export {
  bridge, END_HEADER, type Bridge, type BridgeOptions, type BridgeResult, type BridgeStats,
} from './nats/bridge.js';
export { bridgeTasks, type TaskBridge, type TaskBridgeOptions } from './nats/tasks.js';
