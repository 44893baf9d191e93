// The commands of the `ringwire` CLI: names, options, usage and help. Each command's code is
// loaded only when it runs, so --help and usage errors work even without the native addon.
import type { OptionsConfig, Values } from './args.js';

export interface CommandArgs {
  values: Values;
  positionals: string[];
}

export interface CommandModule {
  /** Runs the command; resolves to the exit status (0 ok, 1 error). */
  run(args: CommandArgs): Promise<number>;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** The line after "usage: ". */
  usage: string;
  /** What the command does, and its options, for --help. */
  help: string;
  options: OptionsConfig;
  /** How many positional arguments it takes. */
  minPositionals: number;
  maxPositionals: number;
  load(): Promise<CommandModule>;
}

const json = { type: 'boolean' } as const;
const prefix = { type: 'string' } as const;

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'ls',
    summary: 'list every channel',
    usage: 'ringwire ls [--prefix P] [--json]',
    help: `Lists every channel in /dev/shm: name, mode, capacity, fill (bytes the receivers have not
released), messages in (sent) and out (received), senders and receivers (pid, ":thread" for
a worker thread, "(dead)" for one that died without closing), endpoints parked waiting
(senders/receivers), whether gc leaves it alone (persistent), whether its sender ended it,
and its age.
Entries named like channels that cannot be read as one (corrupt, another layout version,
someone else's) are listed as unreadable with the error code; the listing goes on.
Then the bridges to NATS running on this machine (ringwire bridge, or bridge() in
ringwire/nats): direction, channel and subject, messages per second, bytes per second,
messages moved, lag (out: messages in the channel not yet taken, or not yet acked by
JetStream; in with JetStream: messages waiting in its durable consumer), acks pending.

  --prefix P   only channels whose names start with P
  --json       print a JSON array: each channel's stats (as \`ringwire stat --json\`), or
               {"name", "error": {"code", "message"}} for an unreadable entry`,
    options: { prefix, json },
    minPositionals: 0,
    maxPositionals: 0,
    load: () => import('./cmd/ls.js'),
  },
  {
    name: 'stat',
    summary: 'show everything stats() knows about a channel',
    usage: 'ringwire stat NAME [--json]',
    help: `Shows a channel's stats: mode, wait mechanism, capacity, largest message, bytes used,
messages sent and received, end of stream, persistence, creation, waiters, every sender
and receiver (pid, thread, open or dead, parked), and its bridges to NATS (rates, lag,
acks pending; see ls).

  --json       print stats(NAME) as one JSON object (createdAt as an ISO date; with
               "bridges" when the channel has any)`,
    options: { json },
    minPositionals: 1,
    maxPositionals: 1,
    load: () => import('./cmd/stat.js'),
  },
  {
    name: 'top',
    summary: 'live view of every channel: messages/s, bytes/s, fill, lag',
    usage: 'ringwire top [--prefix P] [--interval MS] [--count N] [--json]',
    help: `Shows every channel, refreshed every second: messages/s in and out (from the
messagesSent and messagesReceived counters), ring bytes/s in and out, fill, and lag
(messages sent and not yet received). Ring bytes are how far the ring's write and read
positions move: each message's bytes plus its 8-byte record header, rounded up to 8, plus
the padding when a record wraps around the ring's end; no counter of payload bytes exists.
Rates need two samples: the first refresh shows "-". Quit with q or Ctrl-C.
When stdout is not a terminal (or with --json) it prints one snapshot per refresh instead:
a table preceded by a "-- time" line, or one JSON object per line.

  --prefix P      only channels whose names start with P
  --interval MS   milliseconds between refreshes (default 1000, at least 10)
  --count N       stop after N refreshes
  --json          one JSON line per refresh: {"time", "intervalMs", "channels": [...]}`,
    options: { prefix, json, interval: { type: 'string' }, count: { type: 'string', short: 'n' } },
    minPositionals: 0,
    maxPositionals: 0,
    load: () => import('./cmd/top.js'),
  },
  {
    name: 'rm',
    summary: 'remove channels',
    usage: 'ringwire rm NAME... [--force]',
    help: `Removes channels (unlinks their names; endpoints open on them keep working). Refuses a
channel with an endpoint open (exit status 1, naming its pids), or one that cannot be read
as a channel, unless --force. A channel that does not exist is an error. The other names
are still removed. Prints "removed NAME" for each.

  -f, --force   remove even while endpoints are open`,
    options: { force: { type: 'boolean', short: 'f' } },
    minPositionals: 1,
    maxPositionals: Infinity,
    load: () => import('./cmd/rm.js'),
  },
  {
    name: 'gc',
    summary: 'remove channels left behind by dead processes',
    usage: 'ringwire gc [--prefix P | PATH...] [--dry-run] [--json]',
    help: `Removes what gc() removes: channels not persistent, with no endpoint open, and either
an endpoint that died without closing, or never used and their creator has exited; and
entries a creator killed while creating left half-made (only where creation is not atomic)
once untouched for 10 s. A channel made with \`ringwire create\` and not yet used counts as
never used at once, since that command exits: create it --persistent if it is to wait for
its endpoints. Prints "removed NAME" for each. With PATHs, judges those file-backed
channels by the same rules, and nothing in /dev/shm.

  --prefix P    only channels whose names start with P
  -n, --dry-run list what gc would remove now, and why, removing nothing (gc({ dryRun:
                true }): like gc it holds each channel's roles for a moment while it
                judges it, so an endpoint opening just then gets ERR_RINGWIRE_BUSY)
  --json        {"dryRun": false, "removed": [names]} or
                {"dryRun": true, "wouldRemove": [{"name", "reason"}]}`,
    options: { prefix, json, 'dry-run': { type: 'boolean', short: 'n' } },
    minPositionals: 0,
    maxPositionals: Infinity,
    load: () => import('./cmd/gc.js'),
  },
  {
    name: 'create',
    summary: 'create a channel',
    usage: 'ringwire create NAME [--capacity N] [--mode spsc|mpmc|broadcast] [--overflow block|drop] [--wait W] [--persistent]',
    help: `Creates a channel (mode 0600); fails with ERR_RINGWIRE_EXISTS if the name is taken.
A NAME with a '/' is the path of a file to create (a file-backed channel, e.g. ./jobs.ring):
what is sent and not received survives restarts; gc never sees it, rm removes it.
Until an endpoint uses it, \`gc\` counts it as never used by a creator that has exited, and
removes it: use --persistent for a channel that waits for its endpoints.

  -c, --capacity N   ring bytes, a power of two from 1k to 1g (default 1m); suffixes k, m
                     and g are binary: 64k = 65536, 1m = 1048576
  --mode M           spsc (default: one sender and one receiver at a time), mpmc (any
                     number of each; each message to one receiver) or broadcast (one
                     sender; every receiver gets every message)
  --overflow O       broadcast: block (default: the sender waits for the slowest receiver)
                     or drop (it never waits; a receiver a ring behind skips ahead)
  --max-message N    the largest message (spsc and broadcast: default 1g, at most 4g - 8;
                     longer than the ring goes in fragments; mpmc: at most capacity - 8)
  --wait W           auto (default), futex, semaphore, named-semaphore or spin
  --persistent       gc never removes it`,
    options: {
      capacity: { type: 'string', short: 'c' }, mode: { type: 'string' }, wait: { type: 'string' },
      overflow: { type: 'string' }, persistent: { type: 'boolean' }, 'max-message': { type: 'string' },
    },
    minPositionals: 1,
    maxPositionals: 1,
    load: () => import('./cmd/create.js'),
  },
  {
    name: 'bridge',
    summary: 'bridge a channel and a NATS subject (ringwire/nats)',
    usage: 'ringwire bridge out CHANNEL SUBJECT --server URL [--jetstream STREAM | --server-confirm] | bridge in SUBJECT CHANNEL --server URL [--queue GROUP | --jetstream STREAM --durable NAME]',
    help: `Runs a bridge between a channel and a NATS subject until the stream ends or Ctrl-C /
SIGTERM (it then stops cleanly), then prints what it moved. Needs the NATS client
(npm install @nats-io/transport-node @nats-io/jetstream).

out CHANNEL SUBJECT: receives from the channel (a competing receiver on mpmc, a subscriber
on broadcast) and publishes each message; at the end of the channel's stream it publishes
an end marker, and stops.
in SUBJECT CHANNEL: sends what the subject carries into the channel, waiting while it is
full; the end marker ends the channel's stream.

  --server URL        the NATS server(s), comma-separated
  --jetstream STREAM  use JetStream: the stream (created holding SUBJECT if missing); out
                      waits for each publish's ack (Nats-Msg-Id set), in pulls from a
                      durable consumer and acks each message once it is in the ring
  --durable NAME      in: the durable consumer (created if missing; required with --jetstream)
  --queue GROUP       in, core NATS: a queue group (bridges of one group share the messages)
  --server-confirm    out, core NATS, an spsc channel: keep each message in the ring until
                      the server has answered for it (a bridge killed, or its connection
                      lost, loses nothing the server had not got, but a message sent in
                      fragments; some may go twice); slower. Without it a message leaves
                      the ring once the client has copied it (at most once)
  --window N          JetStream: publishes awaiting their ack (out) or messages pulled
                      ahead (in); default 256
  --json              print the summary as JSON: {"reason", "messages", "bytes", "retries"}`,
    options: {
      server: { type: 'string' }, jetstream: { type: 'string' }, durable: { type: 'string' },
      queue: { type: 'string' }, window: { type: 'string' }, 'server-confirm': { type: 'boolean' }, json,
    },
    minPositionals: 2,
    maxPositionals: 3,
    load: () => import('./cmd/bridge.js'),
  },
  {
    name: 'send',
    summary: 'send each line of stdin (or a file) as a message',
    usage: 'ringwire send NAME [--file F | --json [--codec json|msgpack|v8]] [--end]',
    help: `Sends each line of stdin as one message (UTF-8, without its line ending; an empty line
is an empty message), waiting while the channel is full, then closes the sender. The
receiver keeps waiting for more unless --end.

  --file F      send the bytes of file F as one message instead (stdin is not read)
  --json        parse each line as JSON and send the value encoded with --codec (blank
                lines are skipped; a line that is not JSON, or is null, which a codec'd
                receiver could not tell from the end of the stream, stops with
                ERR_RINGWIRE_INVALID_ARG, after the lines before it were sent)
  --codec C     json (default), msgpack or v8; only with --json
  --end         end the stream after the last message: receivers drain it, then stop;
                no sender can open the channel again`,
    options: {
      file: { type: 'string' }, json, codec: { type: 'string' }, end: { type: 'boolean' },
    },
    minPositionals: 1,
    maxPositionals: 1,
    load: () => import('./cmd/send.js'),
  },
  {
    name: 'recv',
    summary: 'print messages, one per line',
    usage: 'ringwire recv NAME [--count N] [--follow] [--json [--codec json|msgpack|v8]]',
    help: `Takes the messages waiting in the channel, until it is empty, and prints each one's
bytes as they are, followed by a newline (a text message prints as a line; a binary one
byte for byte). Messages taken are gone from the channel, printed or not (a closed pipe
stops it quietly).

  -n, --count N   stop after N messages
  -f, --follow    wait for more until the stream ends, N messages came, or Ctrl-C (each
                  exits with status 0)
  --json          print each message as one JSON line, decoded with --codec:
                  {"seq": 1, "bytes": 12, "value": ...}. BigInts print as strings, Maps
                  as [key, value] arrays, Sets and byte arrays as arrays. A message that
                  does not decode (or decodes to null, which codecs refuse) prints as
                  {"seq", "bytes", "error": "ERR_RINGWIRE_DECODE", "message", "base64"};
                  recv goes on, and exits with status 1 at the end
  --codec C       json (default), msgpack or v8; only with --json`,
    options: {
      count: { type: 'string', short: 'n' }, follow: { type: 'boolean', short: 'f' }, json,
      codec: { type: 'string' },
    },
    minPositionals: 1,
    maxPositionals: 1,
    load: () => import('./cmd/recv.js'),
  },
];

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((command) => command.name === name);
}

export function commandHelp(command: CommandSpec): string {
  // -h, --help lines up with the other options' descriptions.
  const column = /^( {2}-\S.*? {2,})\S/m.exec(command.help)?.[1].length ?? 14;
  return `usage: ${command.usage}\n\n${command.help}\n${'  -h, --help'.padEnd(column)}this help\n`;
}

export function mainHelp(version: string): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return `usage: ringwire <command> [options]

ringwire ${version}: inspect and use ringwire channels (shared-memory message channels,
/dev/shm/rw.<name>; or files, for a NAME with a '/': stat, rm, create, send and recv take
a file-backed channel's path).

commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n')}

Run 'ringwire <command> --help' for its options.
  -h, --help      this help
  -V, --version   print the version

Exit status: 0 ok; 1 error (on stderr: "ringwire: <message> (<code>)"); 2 bad usage.
`;
}
