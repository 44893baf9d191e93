// NODE_DEBUG=ringwire logs opens, closes, deaths, repairs and parks to stderr (util.debuglog).
import { debuglog } from 'node:util';

/** Logs when NODE_DEBUG includes "ringwire"; check `debug.enabled` before costly arguments. */
export const debug = debuglog('ringwire');
