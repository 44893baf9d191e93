// Two nats-servers routed into one cluster on loopback: two "machines" on one box. Each has
// JetStream on, free ports and a temporary directory; they never outlive this process (a
// normal end stops them with SIGTERM and waits, any other exit kills them and removes their
// directories), except when it is killed with SIGKILL.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url)); // the repository
/** How long a server may take to start, or to elect JetStream's metadata leader. */
const STARTUP_MS = 30_000;

/**
 * The nats-server binary: tools/ensure-nats-server.sh finds it, installs it when missing (as
 * root, with apt-get), or prints what to install. Returns undefined when there is none (the
 * script has said why on stderr).
 */
export function natsServerBinary() {
  const found = spawnSync('bash', [path.join(root, 'tools/ensure-nats-server.sh')],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** `count` different loopback ports nobody listens on now. */
async function freePorts(count) {
  const listeners = Array.from({ length: count }, () => createServer().listen(0, '127.0.0.1'));
  await Promise.all(listeners.map((listener) => once(listener, 'listening')));
  const ports = listeners.map((listener) => listener.address().port);
  await Promise.all(listeners.map((listener) => new Promise((resolve) => listener.close(resolve))));
  return ports;
}

const running = new Set();
process.on('exit', () => {
  for (const server of running) server.kill();
});

/** Starts one server; `until(pattern)` resolves once its log matches. */
function startServer(binary, name, port, cluster) {
  const dir = mkdtempSync(path.join(tmpdir(), `ringwire-nats-${name}-`));
  const child = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir, '--server_name', name,
    '--cluster_name', cluster.name, '--cluster', `nats://127.0.0.1:${cluster.port}`,
    '--routes', `nats://127.0.0.1:${cluster.route}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const watchers = new Set();
  const collect = (chunk) => {
    log += chunk;
    for (const watch of watchers) watch();
  };
  child.stdout.setEncoding('utf8').on('data', collect);
  child.stderr.setEncoding('utf8').on('data', collect);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const server = {
    name,
    url: `nats://127.0.0.1:${port}`,
    /** Resolves once the log matches `pattern`; rejects if the server fails or exits first. */
    until(pattern, what) {
      return new Promise((resolve, reject) => {
        let settled = false;
        const done = (error) => {
          if (settled) return;
          settled = true;
          watchers.delete(watch);
          clearTimeout(timer);
          if (error) reject(error); else resolve();
        };
        const failed = (why) => done(new Error(`nats-server ${name} ${why}:\n${log.split('\n').slice(-10).join('\n')}`));
        const watch = () => {
          if (pattern.test(log)) done();
          else if (log.includes('[FTL]')) failed(`failed while waiting for ${what}`);
        };
        const timer = setTimeout(() => failed(`did not report ${what} within ${STARTUP_MS / 1000} s`), STARTUP_MS);
        watchers.add(watch);
        void exited.then(() => failed(`exited while waiting for ${what}`));
        watch();
      });
    },
    /** Stops it (SIGTERM; SIGKILL after 5 s) and removes its directory. */
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      running.delete(server);
      rmSync(dir, { recursive: true, force: true });
    },
    /** At once, for an exit that cannot wait: SIGKILL, and its directory removed. */
    kill() {
      child.kill('SIGKILL');
      running.delete(server);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(server);
  return server;
}

/**
 * Starts servers `a` and `b`, each routed to the other, and resolves once both accept
 * clients and JetStream has its metadata leader (which needs the route: both are up and
 * talking). On failure, whatever started is stopped.
 */
export async function startCluster(binary, clusterName) {
  const [portA, portB, routeA, routeB] = await freePorts(4);
  const servers = [
    startServer(binary, 'a', portA, { name: clusterName, port: routeA, route: routeB }),
    startServer(binary, 'b', portB, { name: clusterName, port: routeB, route: routeA }),
  ];
  try {
    await Promise.all(servers.map(async (server) => {
      await server.until(/Server is ready/, '"Server is ready"');
      // The leader says "Self is new JetStream cluster metadata leader", the other
      // "JetStream cluster new metadata leader: a/<cluster>".
      await server.until(/new JetStream cluster metadata leader|JetStream cluster new metadata leader/, "JetStream's metadata leader");
    }));
  } catch (error) {
    await stopCluster(servers);
    throw error;
  }
  return servers;
}

/** Stops the servers and removes their directories. */
export async function stopCluster(servers) {
  await Promise.all(servers.map((server) => server.stop()));
}
