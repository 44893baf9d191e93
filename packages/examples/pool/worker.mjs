// The pool's worker file: each of its threads runs a loop that takes tasks from the channel,
// calls this handler, and sends the result back.
import { serveTasks } from 'ringwire/pool';

function isPrime(n) {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

export default serveTasks(({ n }) => {
  if (!Number.isInteger(n)) throw new TypeError(`not an integer: ${n}`);
  return { n, prime: isPrime(n) };
});
