// Real NATS servers for the ringwire/nats tests: `nats-server` (installed by
// tools/ensure-nats-server.sh when missing) on free loopback ports, JetStream on, each in a
// temporary directory removed when it stops. Two started with cluster() are routed to each
// other: two "machines" on one box.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ENSURE = fileURLToPath(new URL('../../../tools/ensure-nats-server.sh', import.meta.url));

let binary: string | undefined;

/** The nats-server binary, installed first if it is missing (see tools/ensure-nats-server.sh). */
export function natsServerBinary(): string {
  binary ??= execFileSync('bash', [ENSURE], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return binary;
}

/** A loopback port nobody listens on now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export interface NatsServer {
  /** nats://127.0.0.1:<port> */
  readonly url: string;
  readonly pid: number;
  /** Everything it logged so far. */
  log(): string;
  /** Stops it (SIGTERM, then SIGKILL after 5 s) and removes its directory. */
  stop(): Promise<void>;
}

export interface NatsServerOptions {
  name: string;
  /** Route this server to the others of a cluster: its own route port and theirs. */
  cluster?: { port: number; routes: number[] };
  /** Its client port (a server restarted where the last one was); a free one by default. */
  port?: number;
}

/** Starts a nats-server with JetStream and resolves once it accepts clients. */
export async function startNatsServer(options: NatsServerOptions): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), `ringwire-nats-${options.name}-`));
  const port = options.port ?? await freePort();
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir, '--server_name', options.name];
  if (options.cluster !== undefined) {
    args.push('--cluster_name', 'ringwire-test', '--cluster', `nats://127.0.0.1:${options.cluster.port}`,
      '--routes', options.cluster.routes.map((route) => `nats://127.0.0.1:${route}`).join(','));
  }
  const child: ChildProcess = spawn(natsServerBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const collect = (chunk: Buffer) => { log += chunk.toString(); };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const look = () => {
        if (log.includes('Server is ready')) resolve();
        else if (log.includes('[FTL]')) reject(new Error(`nats-server ${options.name} failed to start:\n${log}`));
      };
      child.stdout!.on('data', look);
      child.stderr!.on('data', look);
      void exited.then(() => reject(new Error(`nats-server ${options.name} exited while starting:\n${log}`)));
      look();
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `nats://127.0.0.1:${port}`, pid: child.pid!, log: () => log, stop };
}

/** Two servers routed to each other (a cluster of two), A and B. */
export async function startCluster(): Promise<[NatsServer, NatsServer]> {
  const [a, b] = [await freePort(), await freePort()];
  const servers = await Promise.all([
    startNatsServer({ name: 'a', cluster: { port: a, routes: [b] } }),
    startNatsServer({ name: 'b', cluster: { port: b, routes: [a] } }),
  ]);
  return servers as [NatsServer, NatsServer];
}
