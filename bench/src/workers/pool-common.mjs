// S6: what the pool host, its worker file and the producer share.

/** The BroadcastChannel a serveTasks() loop announces itself on, with its task channel's name. */
export const OPENED = 'ringwire-bench-s6-opened';

/** Task i adds a = i and b = i / 4 + 1; the sum is exact in float64 for any i the bench uses. */
export const taskA = (i) => i;
export const taskB = (i) => i * 0.25 + 1;
export const expectedSum = (i) => i * 1.25 + 1;
