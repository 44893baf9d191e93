export { createChannel, gc, openReceiver, openSender, stats, unlinkChannel } from './channel.js';
export type { ChannelStats, EndpointStats } from './channel.js';
export { AbortError, RingwireError } from './errors.js';
export type { RingwireErrorCode } from './errors.js';
export type { CreateChannelOptions, EndpointOptions, WaitOption, ModeOption, WaitOptions } from './options.js';
export { Receiver } from './receiver.js';
export { Sender, type Message } from './sender.js';
export type { Codec, CodecOption } from './codec.js';
export type { ReadableOptions, WritableOptions } from './streams.js';
