// Anonymous channels: a sealed memfd with no name, handed to child processes by descriptor.
import { closeSync } from 'node:fs';
import { RingwireError, invalidArg } from './errors.js';
import { native } from './native.js';
import { resolveCreateOptions, type CreateChannelOptions, type EndpointOptions } from './options.js';
import { DISPOSE } from './endpoint.js';
import { openReceiver, openSender } from './channel.js';
import type { Receiver } from './receiver.js';
import type { Message, Sender } from './sender.js';
import type { CodecOption } from './codec.js';

/** Options of {@link createAnonymousChannel}: createChannel's, less those about a name. */
export type AnonymousChannelOptions = Omit<CreateChannelOptions, 'persistent'>;

/**
 * A channel with no name (see {@link createAnonymousChannel}). Its memory lasts while any
 * process holds its descriptor or an endpoint of it.
 */
export interface AnonymousChannel {
  /**
   * The channel's descriptor in this process (close-on-exec). Give it to a child in
   * `spawn`'s `stdio` array; the child opens its end with `openSender({ fd })` or
   * `openReceiver({ fd })`, `fd` being its index in that array.
   */
  readonly fd: number;
  /** Opens a sending end in this process (as {@link openSender}). */
  openSender(options?: EndpointOptions & { codec?: undefined }): Sender<Message>;
  /** Opens a sending end that sends values of type T (with a `codec`). */
  openSender<T = unknown>(options: EndpointOptions<T> & { codec: CodecOption<T> }): Sender<T>;
  /** Opens a receiving end in this process (as {@link openReceiver}). */
  openReceiver(options?: EndpointOptions & { codec?: undefined }): Receiver<Uint8Array>;
  /** Opens a receiving end that receives values of type T (with a `codec`). */
  openReceiver<T = unknown>(options: EndpointOptions<T> & { codec: CodecOption<T> }): Receiver<T>;
  /**
   * Closes this process's descriptor (endpoints already open keep working; a child given the
   * descriptor keeps its copy). Idempotent.
   */
  close(): void;
  /** close(), for `using`. */
  [Symbol.dispose](): void;
}

/**
 * Creates a channel with no name at all (Linux: memfd_create): nothing in /dev/shm, nothing
 * for gc() or unlinkChannel(), and its memory goes when the last process holding it exits.
 * It is sealed once sized (F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_SEAL), so no peer can shrink it
 * under another's mapping (SIGBUS), and openers refuse a descriptor that is not so sealed.
 * Modes, waits, stats, dead peers and every endpoint API work as on a named channel; `wait:
 * 'named-semaphore'` is refused (nothing would remove the names).
 *
 * @example
 * ```ts
 * import { spawn } from 'node:child_process';
 * import { createAnonymousChannel } from 'ringwire';
 *
 * const channel = createAnonymousChannel({ capacity: 1 << 20 });
 * // The child's fd 3 is the channel: it calls openReceiver({ fd: 3 }).
 * const child = spawn(process.execPath, ['worker.js'], { stdio: ['inherit', 'inherit', 'inherit', channel.fd] });
 * const sender = channel.openSender();
 * channel.close();                      // the child and the sender hold it now
 * await sender.send('job 1');
 * ```
 */
export function createAnonymousChannel(options?: AnonymousChannelOptions): AnonymousChannel {
  if (options !== undefined && options !== null && typeof options === 'object' && 'persistent' in options) {
    throw invalidArg('an anonymous channel has no persistent option: nothing can collect it, it goes with its last holder');
  }
  const o = resolveCreateOptions(options);
  const fd = native.createAnonymous(o.capacity, o.mode, o.waitMechanism, o.defaultWait, o.flags, o.maxMessageSize);
  let open = true;
  const ensureOpen = (): number => {
    if (!open) throw new RingwireError('ERR_RINGWIRE_CLOSED', `anonymous channel fd:${fd} was closed in this process`);
    return fd;
  };
  const close = (): void => {
    if (!open) return;
    open = false;
    closeSync(fd);
  };
  return {
    fd,
    openSender: ((endpointOptions?: EndpointOptions) => openSender({ fd: ensureOpen() }, endpointOptions)) as AnonymousChannel['openSender'],
    openReceiver: ((endpointOptions?: EndpointOptions) => openReceiver({ fd: ensureOpen() }, endpointOptions)) as AnonymousChannel['openReceiver'],
    close,
    [DISPOSE]: close,
  };
}
