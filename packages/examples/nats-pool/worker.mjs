// The pool's worker file, on the pool's machine: each of its threads runs a loop that takes
// tasks from that machine's task channel, calls this handler, and sends the result back.
import { setTimeout as sleep } from 'node:timers/promises';
import { serveTasks } from 'ringwire/pool';
import { answer } from './job.mjs';

export default serveTasks(async (task) => {
  if (task.delayMs !== undefined) await sleep(task.delayMs); // a slow task, for the client's timeout
  return answer(task);
});
