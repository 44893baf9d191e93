// S13's NATS server: `nats-server` from PATH (tools/ensure-nats-server.sh installs it; the
// bench never does), on free loopback ports (clients, and HTTP monitoring), JetStream on, its
// store in a fresh temporary directory. It is killed and its directory removed when S13 ends,
// and also on a failure or a signal (cleanup.mjs). Core NATS has no flow control: a subscriber
// that falls behind is cut off by the server as a slow consumer and its messages are lost, so
// anything the server logs about a slow consumer, or the server exiting, is a failure that
// watch() reports at once (the run would fail anyway: every message must arrive).
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { cleanUp, onCleanup, trackChild } from './cleanup.mjs';

const START_MS = 15000;

/** The nats-server binary on PATH, or null. */
export function findNatsServer() {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, 'nats-server');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

/** A loopback port nobody listens on now. */
async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Starts `binary` and resolves once it says "Server is ready": { url, pid, log(), watch(fn),
 * subscribed(subject), slowConsumers(), stop() }.
 */
export async function startNatsServer(binary) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `rwbench-nats-${process.pid}-`));
  const [port, monitor] = [await freePort(), await freePort()];
  const child = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '-js', '-sd', dir],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  const key = `nats-server:${dir}`;
  onCleanup(key, () => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  let log = '';
  let ready = false;
  let stopping = false;
  const watchers = new Set();
  const problem = (message) => {
    const error = new Error(`nats-server: ${message}`);
    for (const fn of watchers) fn(error);
  };
  const exited = once(child, 'exit');
  const onOutput = (chunk) => {
    const text = chunk.toString();
    log += text;
    if (ready && /slow consumer/i.test(text)) {
      const line = text.split('\n').find((l) => /slow consumer/i.test(l));
      problem(`a subscriber fell behind and was cut off, its messages lost (core NATS has no flow control): ${line.trim()}`);
    }
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  void exited.then(([code, signal]) => {
    if (!stopping) problem(`exited with ${signal ?? `code ${code}`} while the bench ran:\n${log.slice(-2000)}`);
  });
  const stop = async () => {
    stopping = true;
    watchers.clear();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    cleanUp(key);
  };
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server did not get ready within ${START_MS} ms:\n${log}`)), START_MS);
      const look = () => {
        if (log.includes('Server is ready')) resolve();
        else if (log.includes('[FTL]')) reject(new Error(`nats-server failed to start:\n${log}`));
        else return;
        clearTimeout(timer);
      };
      child.stdout.on('data', look);
      child.stderr.on('data', look);
      void exited.then(() => reject(new Error(`nats-server exited while starting:\n${log}`)));
      look();
    });
  } catch (error) {
    await stop();
    throw error;
  }
  ready = true;
  const http = async (what) => {
    const response = await fetch(`http://127.0.0.1:${monitor}/${what}`);
    if (!response.ok) throw new Error(`nats-server monitoring /${what}: HTTP ${response.status}`);
    return response.json();
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    pid: child.pid,
    log: () => log,
    /** Calls fn(error) on a slow consumer or an exit; returns the function that stops watching. */
    watch(fn) {
      watchers.add(fn);
      return () => watchers.delete(fn);
    },
    /** Whether some client's subscription to exactly `subject` has reached the server. */
    async subscribed(subject) {
      const { connections = [] } = await http('connz?subs=1');
      return connections.some((c) => (c.subscriptions_list ?? []).includes(subject));
    },
    /** How many slow consumers the server has counted since it started. */
    async slowConsumers() {
      return (await http('varz')).slow_consumers ?? 0;
    },
    stop,
  };
}
