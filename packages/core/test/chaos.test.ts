// Chaos: endpoints of an MPMC channel are killed with SIGKILL at random instants, and
// senders exactly between claim and commit (a test-only hook), round after round. Each round
// is bounded: a probe sent after the kill must reach a receiver within seconds, so the ring
// never wedges. At the end every message is checked: none corrupt (receivers verify each
// checksum), none delivered twice, every message a dead sender committed delivered, and a
// dead receiver loses at most the one message it held (delivery is at most once), or, killed
// inside poll(), what is left of the run it took (at most the call's limit: 64 here).
import { describe, expect, it } from 'vitest';
import { createChannel, openSender } from '../src/index.js';
// @ts-expect-error: a plain ESM fixture without types
import { makeTagged } from './fixtures/tagged.mjs';
import { channelName, runChild, until } from './helpers.js';

const ROUNDS = 64;
const PROBE = 100_000;

type Child = ReturnType<typeof runChild>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const waitOutput = (child: Child, text: string, what: string) =>
  until(() => child.output().includes(text), 15_000, what);

/** "<id> <seq>" lines a reporting receiver printed. */
function reports(stdout: string): Array<[number, number]> {
  return stdout.split('\n').filter((l) => /^\d+ \d+$/.test(l)).map((l) => l.split(' ').map(Number) as [number, number]);
}

describe('chaos', () => {
  it(`survives ${ROUNDS} rounds of kill -9 against senders and receivers`, async () => {
    const name = channelName('chaos');
    createChannel(name, { mode: 'mpmc', capacity: 1 << 15 });
    // A receiver that lives through every round, and a sender (this process) that sends the
    // probes and keeps a live sender on the channel.
    const survivor = runChild('mpmc-recv.mjs', [name, 'async', 'report'], 400_000);
    await waitOutput(survivor, 'open', 'the surviving receiver to open');
    const anchor = openSender(name);
    const victims: Child[] = [];
    const expectations: Array<{ id: number; kind: string; stalledAt?: number; stalled?: boolean; how?: string }> = [];
    const random = (n: number) => Math.floor(Math.random() * n);

    for (let round = 0; round < ROUNDS; round++) {
      const id = round + 1;
      const kind = ['claim-kill', 'sender-kill', 'take-kill', 'receiver-kill'][round % 4];
      if (kind === 'claim-kill') {
        const stallAt = 1 + random(400);
        const sender = runChild('mpmc-send.mjs', [name, String(id), 'forever', round % 8 === 0 ? 'try' : 'async'], 60_000,
          { RINGWIRE_TEST_STALL_AFTER_CLAIM: String(stallAt) });
        await waitOutput(sender, 'stalled', `round ${round}: the sender to stall after claim ${stallAt}`);
        process.kill(sender.pid, 'SIGKILL');
        expect((await sender).signal).toBe('SIGKILL');
        expectations.push({ id, kind, stalledAt: stallAt });
      } else if (kind === 'sender-kill') {
        const sender = runChild('mpmc-send.mjs', [name, String(id), 'forever', ['async', 'sync', 'batch', 'claim'][round % 4]], 60_000);
        await waitOutput(sender, 'open', `round ${round}: the sender to open`);
        await sleep(random(40));
        process.kill(sender.pid, 'SIGKILL');
        expect((await sender).signal).toBe('SIGKILL');
        expectations.push({ id, kind });
      } else {
        const stallAt = kind === 'take-kill' ? 1 + random(60) : 0;
        const how = ['async', 'sync', 'poll', 'into'][round % 4];
        const victim = runChild('mpmc-recv.mjs', [name, how, 'report'], 60_000,
          stallAt !== 0 ? { RINGWIRE_TEST_STALL_AFTER_TAKE: String(stallAt) } : undefined);
        await waitOutput(victim, 'open', `round ${round}: the receiver to open`);
        const sender = runChild('mpmc-send.mjs', [name, String(id), '400', 'async'], 60_000);
        if (kind === 'receiver-kill') await sleep(random(40));
        else await Promise.race([waitOutput(victim, 'stalled', 'stall'), sender]).catch(() => {});
        process.kill(victim.pid, 'SIGKILL');
        await victim;
        victims.push(victim);
        const sent = await sender;
        expect(sent.code, sent.stderr).toBe(0);
        expectations.push({ id, kind, how, stalled: victim.output().includes('stalled') });
      }
      // Bounded: a probe sent now reaches the survivor within seconds.
      await anchor.send(makeTagged(PROBE, round), { timeout: 10_000 });
      await until(() => survivor.output().includes(`\n${PROBE} ${round}\n`), 10_000, `round ${round} (${kind}): the probe`);
    }

    anchor.end();
    anchor.close();
    const last = await survivor;
    expect(last.code, last.stderr).toBe(0);
    expect(last.stderr).toBe('');
    for (const victim of victims) expect((await victim).stderr).not.toMatch(/Error/);

    // Who got what, over every receiver.
    const delivered = new Map<number, number[]>();
    for (const [id, seq] of [...reports(last.stdout), ...victims.flatMap((v) => reports(v.output()))]) {
      let list = delivered.get(id);
      if (list === undefined) delivered.set(id, list = []);
      list.push(seq);
    }
    expect(delivered.get(PROBE)?.sort((a, b) => a - b)).toEqual(Array.from({ length: ROUNDS }, (_, i) => i));
    for (const e of expectations) {
      const seqs = (delivered.get(e.id) ?? []).sort((a, b) => a - b);
      expect(new Set(seqs).size, `sender ${e.id} (${e.kind}): duplicates`).toBe(seqs.length);
      if (e.kind === 'claim-kill') {
        // Everything it committed (all before the stalled claim), nothing else.
        expect(seqs, `sender ${e.id}: claim-kill`).toEqual(Array.from({ length: e.stalledAt! - 1 }, (_, i) => i));
      } else if (e.kind === 'sender-kill') {
        // A prefix: all it committed, in order; the claim it may have held is skipped.
        expect(seqs, `sender ${e.id}: sender-kill`).toEqual(Array.from({ length: seqs.length }, (_, i) => i));
      } else {
        // A dead receiver loses at most the one message it held; a stalled one exactly that.
        // One killed inside poll() (limit 64) loses at most what is left of its run.
        const missing = 400 - seqs.length;
        const most = e.how === 'poll' ? 64 : 1;
        if (e.kind === 'take-kill' && e.stalled) {
          expect(missing, `sender ${e.id}: take-kill (${e.how})`).toBeGreaterThanOrEqual(1);
          expect(missing, `sender ${e.id}: take-kill (${e.how})`).toBeLessThanOrEqual(most);
        } else {
          expect(missing, `sender ${e.id}: receiver-kill (${e.how})`).toBeLessThanOrEqual(most);
        }
        expect(seqs.every((s) => s >= 0 && s < 400)).toBe(true);
      }
    }
  }, 400_000);
});
