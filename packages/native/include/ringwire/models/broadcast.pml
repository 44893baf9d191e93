// ringwire/models/broadcast.pml — a SPIN model of the broadcast protocol (mode BROADCAST):
// one sender, two receivers, overflow 'block' or 'drop', as layout.h states it (broadcast.h
// read where layout.h leaves a step open).
//
// layout.h: lines 334-422 (Broadcast protocol), 124-131 (SPSC parking), 145-159 (SPSC written, end), 306-322 (Waking with several sleepers), 61-70 (records, padding), 597-605 (park slice, peer check, publishing)
// layout.h digest: e320f7c0521a
//
// THE MODEL. A ring of CAP = 4 units of 8 bytes. The sender sends NMSG (3 to 5) messages with
// sequence numbers 0, 1, 2, ..., each one record of 1 or 2 units (a header alone, or a header
// and one payload unit; SPIN's choice, or 2, 1, 2, 1 with -DFIXED_SIZES), with a padding
// record when a record would straddle the ring's end. Positions count units from 0 and never
// wrap in a bounded run, so layout.h's wrap-around comparisons are plain ones here. A record's
// contents are its sequence number: the header's word1 and the payload unit's word1 (word0 of
// a payload unit is PAYW = 1, so a payload unit read as a header looks like a valid one-unit
// record: the worst case for the receiver's checks).
//
//   sender    claim: padding first if needed (published on its own); if the record (and, with
//             'drop', the header after it, where the next sequence number is stamped) ends
//             past I, raise I to min(limit, max(e, p + STEP)). STEP = capacity / 2: layout.h
//             says capacity / 8, which in a 4-unit ring is half a unit and would never reach
//             past e; half the ring makes I cover the next record often, so the path that
//             writes within I without raising it is taken too. limit: 'drop' none; 'block' a
//             ring past the slowest joined receiver's cursor (broadcast.h slowest(): a cursor
//             ahead of the tail or more than a ring behind it does not count); e > limit: the
//             ring is full. O moves past the records that start before the new I - capacity
//             and is stored before I; then 'block' loads the slots again (the Dekker partner
//             of a joiner) and lowers I to the new bound, or puts it back and the ring is full.
//             Then the record, written, ('drop') the stamp, the sent count, P (seq_cst), and
//             the receivers' doorbell. Full ring ('block'): park on the space flag (SPSC's count
//             and flag): announce, re-check the slots, look at the slowest receiver's liveness
//             (dead: cut off under its lock; -DLAG_CUT: a live one may be cut off, once, as a
//             lag limit would), sleep, withdraw, try again. At the end STATE_ENDED, then the
//             doorbell.
//   receiver  takes its slot (cursor = P loaded before, then the pid: take_slot's order), joins
//             from 'next' (cursor = that first cursor, not P loaded again) or 'oldest' (cursor
//             = O) (-DJOIN0/-DJOIN1, else SPIN's choice): stores the cursor, ('drop') reads the
//             sequence number there, loads I and starts again, from O, if I - cursor >
//             capacity. Receive at c: P when the cached tail is
//             used up; the header and its checks (a length, inside the ring, not past P); the
//             copy of the payload; I: if I - c > capacity the copy is discarded, and 'drop' goes
//             on from O (reading the sequence number there, checked against I, and counting
//             what it skipped as lost: layout.h "lapped"; -DLOST_AT_NEXT counts it at the next
//             message handed out instead, as broadcast.h and broadcast.ts do), 'block' checks
//             its cut and loads I again until the transient raise is lowered. The cursor is
//             published lazily (SPIN's choice after each record, standing for a bigger ring's
//             every 32 records or quarter ring; -DEAGER_CURSOR: every record, as a 4-unit
//             ring's quarter would), always when nothing is left to read, each publish ringing
//             the sender's space flag. Parking (EpochDoorbell): parked bit, epoch armed,
//             re-check (P, STATE_ENDED, cut), sleep while the epoch is unchanged, bit cleared.
//             Done once STATE_ENDED is set and the cursor is P; ERR_RINGWIRE_CUT_OFF once cut.
//   deaths    -DRDIES: receiver 1 (receiver 0 with -DONE_RECEIVER) may die at any step (its lock
//             drops, its slot, cursor and parked bit stay); the sender, short of space, finds
//             it dead and cuts it off. -DSDIES: the sender may die at any step (written and P
//             then stored apart, as are the stamp and the count); a receiver that parks looks
//             at it, and one that finds it dead (pid, lock free) repairs under its lock:
//             "written" walk bounded by O and I, ('drop') the stamp at the new tail, ('block')
//             I lowered to a ring past the slowest cursor; PEER_DEAD once nothing is left to
//             read. At most one death per run; none is a possible run too.
//
// STEPS. Every shared word is a variable of its own; what one step of the model does at once:
//   - 'block' receive: P, header, checks, copy and the check of I are one step. The sender
//     never writes over what a joined receiver that is not cut off has still to read (asserted
//     at every word it writes, whatever the receiver does), so the inside of that step only
//     matters to a cut receiver, whose copy the I check judges all the same; and I raised for
//     an instant past a joiner is still seen there. 'drop' keeps P+header, copy, and I apart
//     (-DSPLIT_HEADER: length and sequence number read and written apart too): torn copies
//     happen. 'block' writes a record's words with P in one step, 'drop' with written and
//     the stamp and then P (with -DSDIES every store apart).
//   - The Dekker pairs keep their gap on the parker's side: a receiver's look at P that found
//     nothing; then one step publishing its cursor, looking at its cut and STATE_ENDED,
//     setting its parked bit and arming the epoch (the code's spinning retries folded in);
//     then its re-check: three steps. The sender's failed look at the slots, its
//     announcement (count and flag: one step), and its re-check likewise. The wakers' store and their load of the parked
//     mask / count are apart; the mask load and the epoch CAS are one step, as are the
//     count load and the flag CAS (a change between the two is the same as one before both).
//     A joiner's cursor store and its load of I are apart; so are the sender's store of O,
//     its store of I, and its second look at the slots (with the lowering of I after it).
//   - A scan of the slots is one step (a cursor only moves forward once joined; the one move
//     back, a join's store over the slot's first cursor, the Dekker pair catches slot by
//     slot). The ready() loads (P, STATE_ENDED, cut) are one step (after the parked bit:
//     whatever a waker stored before it looked at the mask, each of them sees).
//   - 'drop': the sender never reads cursors or parks, so receivers' cursor stores and space
//     rings are left out.
//   - The epoch is kept as its parity and, per receiver, whether it changed since that
//     receiver loaded it (exact: it only grows, and values loaded are only compared with it).
//
// ABSTRACTED (not modelled): fragments (every message is one record); semaphore wake tokens
// (futex semantics); park slices except where a sleeper needs one to make progress (the
// sender while a receiver is dead, receivers once the sender is dead), so no timeout masks a
// lost wake-up; liveness looked at on every park (the code: at most every PEER_CHECK_MS); the
// code's spinning tries before it parks (more looks at P); slot reuse, close, and the
// reconcile of dead parked bits; the TypeScript sender's holding back P within a task
// (modelled: P after every record, as broadcast.h); Settle's give-up (ERR_RINGWIRE_CORRUPT
// after a park slice) only as an assertion where it would be final (the sender dead before
// the receiver looked, so nothing can move O or I again); memory orders weaker than seq_cst
// (the model is sequentially consistent: the release/acquire fences of the ring bytes are
// assumed to do what layout.h says of them).
//
// FINDINGS (both found by this model in the C++ and TypeScript code and fixed there; the
// checks run the fixed code, and the code before each fix is a mutant SPIN rejects):
//   1. PEER_DEAD race (mutant code-peer-dead-race): with the sender dead after storing written
//      and before P, receiver A found the sender's lock free, receiver B took it and started
//      the "written" repair, A's own attempt at the lock failed, A found P == its cursor and
//      reported ERR_RINGWIRE_PEER_DEAD; then B stored P: a message the dead sender wrote (B
//      got it) never reached A. Fixed: PEER_DEAD only after a repair of one's own; a receiver
//      that lost the lock parks another (short) slice and looks again (broadcast.h
//      check_sender(), broadcast.ts BroadcastReceiverProtocol.checkLiveness()).
//   2. Sent count double-counted (mutant code-sent-count): publish() stores the count
//      (already including the record) before P, and the repair added the records it walks
//      from P to written to that count. A sender dead between the two stores left the count
//      one too high: the next sender's first sequence number skipped one ('drop' receivers
//      then counted a message lost that was not), and the 'drop' stamp at the new tail was
//      one too high. Fixed: the repair takes the count from the last message it walked (its
//      sequence number + 1), or leaves it if it walked none (broadcast.h adopt_written(),
//      layout.ts adoptWritten()).
//
// CONFIGURATIONS: -DOVERFLOW_BLOCK or -DOVERFLOW_DROP (exactly one); -DNMSG=n; -DONE_RECEIVER;
// -DR0_EARLY (receiver 0 joins before the sender starts); -DJOIN0=0|1, -DJOIN1=0|1 (0 'next',
// 1 'oldest'); -DFIXED_SIZES; -DONE_SIZE; -DEAGER_CURSOR; -DLOST_AT_NEXT; -DSPLIT_HEADER;
// -DRDIES; -DSDIES; -DLAG_CUT.
//
// PROPERTIES (each assertion and ltl says which promise it checks): 'block': every joined
// receiver gets every message sent since it joined, in order, once, unless it is cut off, and
// then it learns it, and a 'next' one whose slot counted (its pid stored: stats() lists it)
// gets every message published after that (gslot: none is behind its join point); 'drop': a subsequence in order, no duplicates, handed out + lost = sent
// since joining; no torn or overwritten copy is handed out; the sender writes only below I,
// and ('block') never over what a joined receiver has still to read; I - O <= capacity;
// O <= P <= I; no lost wake-up (rwake, swake: weak fairness); everyone finishes (done: no
// deadlock, no livelock), and no invalid end state in the safety runs.
//
// MUTATIONS (each must be rejected; what SPIN finds is in the mutant's comment):
//   MUT_NO_RECHECK         a receiver sleeps after arming without re-checking: a publish
//                          between its look at P and its parked bit leaves it asleep (invalid
//                          end state; rwake violated).
//   MUT_NO_RECHECK_SENDER  the 'block' sender sleeps after announcing itself without looking at
//                          the slots again: a cursor published (and rung, to nobody) between its
//                          failed look and its announcement leaves it asleep (swake violated).
//   MUT_NO_I_CHECK         ('drop') a copy is handed out without the load of I after it: the
//                          sender wrote over the record during or before the copy and it is
//                          handed out (SPIN first reports the ring changed under the copy;
//                          without that assertion it reports the wrong record handed out).
//   MUT_O_AFTER_I          the sender stores I before moving O: a sender that dies between the
//                          two leaves O behind I for good, and a lapped receiver (or one joining
//                          from 'oldest') can never find an O it may read from (Settle gives up:
//                          ERR_RINGWIRE_CORRUPT with nothing corrupt). While the sender lives,
//                          receivers only retry (they check I after loading O): not a safety
//                          violation in this model, so the mutant runs with -DSDIES.
//   MUT_NO_SLOT_RELOAD     ('block') no second look at the slots after storing I: a receiver that
//                          joined from 'oldest' having loaded the old I is written over.
//   MUT_JOIN_I_FIRST       ('block') a joiner loads I before it stores its cursor: written over.
//   MUT_NO_LOWER           ('block') having found a joiner's cursor after storing I, the sender
//                          bounds what it writes but leaves I raised: nothing is overwritten,
//                          but the joiner takes itself for lapped (not cut off) and waits for
//                          I to come down for ever (done violated: a livelock, which the
//                          safety runs cannot see).
//   MUT_CODE_PEER_DEAD_RACE, MUT_CODE_SENT_COUNT: the code before the fixes (FINDINGS 1 and 2).
//   MUT_JOIN_REREADS_P     ('block') the code before the join fix: 'next' loads P afresh instead
//                          of starting at its slot's first cursor: a message published between
//                          the slot counting and that load is never delivered (the gslot
//                          assertion at the join).
//   MUT_RETRY_FROM_P       ('block') a 'next' lapped at its first cursor (I raised past it by a
//                          claim whose look at the slots came before the slot counted) starts
//                          again from P instead of O: a message the sender then writes within
//                          that I, without looking at the slots, and publishes before the
//                          receiver loads P is never delivered (the gslot assertion).
//
// THE RUNS. Two receivers with record sizes 2, 1, 2 (a full ring, a wrap, a padding record) and
// the joins fixed, or receiver 0 joined before the sender starts (R0_EARLY), keep each run
// under a minute; the one-receiver runs let SPIN choose sizes, joins and cursor publication
// freely for 3 to 5 messages. Safety runs: assertions and invalid end states (cc:-DSAFETY,
// no claim); liveness runs: -a -f (weak fairness) with one ltl formula.
//
//@ check block-next-oldest -DOVERFLOW_BLOCK -DFIXED_SIZES -DEAGER_CURSOR -DJOIN0=0 -DJOIN1=1 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m2000000
//@ check block-oldest-oldest -DOVERFLOW_BLOCK -DFIXED_SIZES -DEAGER_CURSOR -DJOIN0=1 -DJOIN1=1 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m2000000
//@ check block-next-next -DOVERFLOW_BLOCK -DFIXED_SIZES -DEAGER_CURSOR -DJOIN0=0 -DJOIN1=0 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m2000000
//@ check block-sizes -DOVERFLOW_BLOCK -DEAGER_CURSOR -DR0_EARLY -DJOIN0=0 -DJOIN1=1 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m2000000
//@ check block-lazy -DOVERFLOW_BLOCK -DFIXED_SIZES -DR0_EARLY -DJOIN0=0 -DJOIN1=1 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m2000000
//@ check block-one -DOVERFLOW_BLOCK -DONE_RECEIVER -DNMSG=4 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m2000000
//@ check block-lagcut -DOVERFLOW_BLOCK -DLAG_CUT -DFIXED_SIZES -DEAGER_CURSOR -DR0_EARLY -DJOIN0=0 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m2000000
//@ check block-rdies -DOVERFLOW_BLOCK -DRDIES -DFIXED_SIZES -DEAGER_CURSOR -DR0_EARLY -DJOIN0=0 -DJOIN1=1 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m2000000
//@ check block-rdies-one -DOVERFLOW_BLOCK -DRDIES -DONE_RECEIVER -DNMSG=4 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m2000000
//@ check block-sdies-one -DOVERFLOW_BLOCK -DSDIES -DONE_RECEIVER -DNMSG=3 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m2000000
//@ check block-sdies-two -DOVERFLOW_BLOCK -DSDIES -DFIXED_SIZES -DNMSG=2 -DEAGER_CURSOR -DJOIN0=0 -DJOIN1=1 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m2000000
//@ check drop-two -DOVERFLOW_DROP -DFIXED_SIZES -DR0_EARLY -DJOIN0=0 -DJOIN1=1 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m2000000
//@ check drop-one -DOVERFLOW_DROP -DONE_RECEIVER -DNMSG=5 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m2000000
//@ check drop-lost-at-next -DOVERFLOW_DROP -DLOST_AT_NEXT -DONE_RECEIVER -DNMSG=4 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m2000000
//@ check drop-split-header -DOVERFLOW_DROP -DSPLIT_HEADER -DONE_RECEIVER -DNMSG=4 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m2000000
//@ check drop-sdies-one -DOVERFLOW_DROP -DSDIES -DONE_RECEIVER -DNMSG=3 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m2000000
//@ check drop-sdies-two -DOVERFLOW_DROP -DSDIES -DFIXED_SIZES -DNMSG=2 -DEAGER_CURSOR -DJOIN0=0 -DJOIN1=1 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m2000000
//@ check block-rwake -DOVERFLOW_BLOCK -DFIXED_SIZES -DEAGER_CURSOR -DJOIN0=0 -DJOIN1=1 cc:-DCOLLAPSE : -m2000000 -a -f -N rwake
//@ check block-swake -DOVERFLOW_BLOCK -DFIXED_SIZES -DEAGER_CURSOR -DJOIN0=0 -DJOIN1=1 cc:-DCOLLAPSE : -m2000000 -a -f -N swake
//@ check drop-rwake -DOVERFLOW_DROP -DFIXED_SIZES -DR0_EARLY -DJOIN0=0 -DJOIN1=1 cc:-DCOLLAPSE : -m2000000 -a -f -N rwake
//@ check block-done -DOVERFLOW_BLOCK -DFIXED_SIZES -DEAGER_CURSOR -DR0_EARLY -DJOIN0=0 -DJOIN1=1 cc:-DCOLLAPSE : -m2000000 -a -f -N done
//@ check block-done-one -DOVERFLOW_BLOCK -DONE_RECEIVER -DNMSG=4 cc:-DCOLLAPSE : -m2000000 -a -f -N done
//@ check drop-done-one -DOVERFLOW_DROP -DONE_RECEIVER -DNMSG=4 cc:-DCOLLAPSE : -m2000000 -a -f -N done
//@ mutant no-recheck -DOVERFLOW_BLOCK -DMUT_NO_RECHECK -DFIXED_SIZES -DEAGER_CURSOR -DJOIN0=0 -DJOIN1=1 cc:-DSAFETY cc:-DNOCLAIM : -m2000000
//@ mutant no-recheck-rwake -DOVERFLOW_DROP -DMUT_NO_RECHECK -DFIXED_SIZES -DR0_EARLY -DJOIN0=0 -DJOIN1=1 : -m2000000 -a -f -N rwake
//@ mutant no-recheck-sender -DOVERFLOW_BLOCK -DMUT_NO_RECHECK_SENDER -DFIXED_SIZES -DEAGER_CURSOR -DJOIN0=0 -DJOIN1=1 : -m2000000 -a -f -N swake
//@ mutant no-i-check -DOVERFLOW_DROP -DMUT_NO_I_CHECK -DONE_RECEIVER -DNMSG=4 cc:-DSAFETY cc:-DNOCLAIM : -m2000000
//@ mutant o-after-i -DOVERFLOW_DROP -DMUT_O_AFTER_I -DSDIES -DONE_RECEIVER -DNMSG=3 cc:-DSAFETY cc:-DNOCLAIM : -m2000000
//@ mutant no-slot-reload -DOVERFLOW_BLOCK -DMUT_NO_SLOT_RELOAD -DFIXED_SIZES -DEAGER_CURSOR -DJOIN0=0 -DJOIN1=1 cc:-DSAFETY cc:-DNOCLAIM : -m2000000
//@ mutant join-i-first -DOVERFLOW_BLOCK -DMUT_JOIN_I_FIRST -DFIXED_SIZES -DEAGER_CURSOR -DJOIN0=0 -DJOIN1=1 cc:-DSAFETY cc:-DNOCLAIM : -m2000000
//@ mutant no-lower -DOVERFLOW_BLOCK -DMUT_NO_LOWER -DONE_RECEIVER -DNMSG=4 : -m2000000 -a -f -N done
//@ mutant code-peer-dead-race -DOVERFLOW_BLOCK -DMUT_CODE_PEER_DEAD_RACE -DSDIES -DFIXED_SIZES -DNMSG=2 -DEAGER_CURSOR -DJOIN0=0 -DJOIN1=1 cc:-DSAFETY cc:-DNOCLAIM : -m2000000
//@ mutant join-rereads-p -DOVERFLOW_BLOCK -DMUT_JOIN_REREADS_P -DFIXED_SIZES -DEAGER_CURSOR -DJOIN0=0 -DJOIN1=0 cc:-DSAFETY cc:-DNOCLAIM : -m2000000
//@ mutant retry-from-p -DOVERFLOW_BLOCK -DMUT_RETRY_FROM_P -DONE_RECEIVER -DNMSG=4 cc:-DSAFETY cc:-DNOCLAIM : -m2000000
//@ mutant code-sent-count -DOVERFLOW_DROP -DMUT_CODE_SENT_COUNT -DSDIES -DONE_RECEIVER -DNMSG=3 cc:-DSAFETY cc:-DNOCLAIM : -m2000000

#if defined(OVERFLOW_BLOCK) == defined(OVERFLOW_DROP)
#error "select exactly one of -DOVERFLOW_BLOCK and -DOVERFLOW_DROP"
#endif

#define CAP 4          /* capacity: 4 units of 8 bytes */
#define STEP 2         /* the step I is raised by past p (see above: capacity / 2 here) */
#define PADLEN 3       /* word0 of a padding record (PADDING_LENGTH) */
#define PAYW 1         /* word0 of a payload unit: reads as a one-unit record's length */
#define NONE 255
#ifndef NMSG
#define NMSG 3
#endif
#define NR 2
#ifdef ONE_RECEIVER
#define NPROC 2        /* the sender and receiver 0 (receiver 1 never starts) */
#else
#define NPROC 3
#endif

/* 'block' without a repairer: a record's words and the store of P in one step (the sender
   never writes over what a receiver not cut off has still to read: wordcheck; so only a
   cut receiver could see the words before P, and its copy is judged by I) */
#if defined(OVERFLOW_BLOCK) && !defined(SDIES) && !defined(SPLIT_HEADER)
#define BLOCK_COARSE_WRITE
#endif

/* 'drop' without a repairer: a record's words, written and the stamp in one step, then P (a
   receiver's steps, header, copy, check of I, stay apart, so torn copies remain possible) */
#if defined(OVERFLOW_DROP) && !defined(SDIES) && !defined(SPLIT_HEADER)
#define DROP_COARSE_WRITE
#endif

#ifdef OVERFLOW_DROP
#define RESERVE 1      /* 'drop': I covers the header after each record (the stamp) */
#else
#define RESERVE 0
#endif

/* --- the segment ------------------------------------------------------------------------ */
byte P;                /* tail (producer line), seq_cst */
byte O;                /* oldest (consumer line) */
byte I;                /* intent (delivered line) */
byte W;                /* written (release line), relaxed */
byte nsent;            /* OFF_MESSAGES_SENT: the count the sequence numbers come from */
bit ended;             /* STATE_ENDED */
byte w0[CAP];          /* the ring: word0 of each unit (a header's length, PADLEN, or payload) */
byte w1[CAP];          /* word1 (a header's sequence number, or the payload: the message's) */
/* data line: the receivers' epoch (even armed, odd signalled). It only grows, and all anyone
   does with a value loaded from it is compare it with the word later (CAS, futex sleep), so
   the model keeps its parity and, per receiver, whether the word changed since the receiver
   loaded it to sleep on (an exact abstraction of the counter, without its history in the
   state; 1 while it holds no value). */
bit epar;
bit estale[NR];
byte pmask;            /* data line: parked receivers, a bit per slot */
byte waiters;          /* space line: the sender's waiter count (0/1) */
bit sig;               /* space line: the sender's signal flag */
bit slotpid[NR];       /* slot: pid and kind published (joined() without the cut) */
bit cut[NR];           /* slot: SLOT_CUT */
byte cursor[NR];       /* slot: SLOT_CURSOR (published lazily) */
bit rdead[NR];         /* receiver r died: its slot lock is free, its pid stays */
bit sdead;             /* the sender died: its role lock is free, its pid stays */
bit slock;             /* the sender's role lock as a repairer takes it (sender dead) */
byte ndone;            /* (model) the sender and receivers that are done or dead */

/* --- ghosts (not in the segment: what the properties are stated over) ------------------ */
byte mpos[NMSG];       /* where message k was written (NONE: not yet) */
byte rcur[NR];         /* receiver r's own cursor (where it reads next) */
bit rjoined[NR];       /* receiver r has joined (its check of I passed) */
byte gslot[NR];        /* the messages published when receiver r's slot counted (its pid stored) */
bit rsleep[NR];        /* receiver r is asleep on the data epoch */
bit ssleep;            /* the sender is asleep on the space flag */
byte bend;             /* the end of the record the blocked sender waits to write */
bit gfin[NR];          /* receiver r finished (end of stream or PEER_DEAD) ... */
byte gacc[NR];         /* ... and accounted for this many messages (see init) */

/* receiver r is ready: something published past it, the end, or the cut */
#define RREADY(i) (P != rcur[i] || ended || cut[i])
/* the space the blocked sender waits for is free: every joined receiver not cut off lets it */
#define SPACE_FREE ((!slotpid[0] || cut[0] || bend <= cursor[0] + CAP) && (!slotpid[1] || cut[1] || bend <= cursor[1] + CAP))

/* Promise (layout.h "Waking with several sleepers"): a parked receiver with something to read
   (or the end, or its cut) is woken: no lost wake-up. */
ltl rwake { [] ((rsleep[0] && RREADY(0)) -> <> !rsleep[0]) && [] ((rsleep[1] && RREADY(1)) -> <> !rsleep[1]) }
/* Promise (layout.h "cursor", SPSC "parking"): a parked 'block' sender whose space was freed
   is woken: no lost wake-up. */
ltl swake { [] ((ssleep && SPACE_FREE) -> <> !ssleep) }
/* Promise (no deadlock, no livelock): the sender and every receiver finish (end of stream,
   cut off, PEER_DEAD, or dead): nobody sleeps or spins forever (a receiver lapped in 'block'
   waits for the transient raise to be lowered, and a joiner retries, only for a while). */
ltl done { <> (ndone == NPROC) }

/* out = the number of messages written before position pos (ghost) */
inline countbelow(pos, out) {
  out = 0;
  for (gj : 0 .. NMSG - 1) {
    if
    :: mpos[gj] < pos -> out++
    :: else
    fi
  }
  gj = 0
}

/* The receivers' doorbell (wait.h EpochDoorbell::ring), after a seq_cst publish: if anyone is
   parked, turn an even epoch odd (futex: every sleeper wakes). */
inline ebump() {
  epar = 1 - epar;
  for (gj : 0 .. NR - 1) { estale[gj] = 1 }
  gj = 0
}
inline dring() {
  /* the parked masks, then the epoch CASed even -> odd: one step (a parker's OR between the
     two is the same as one after both: its re-check sees what was published) */
  d_step { if :: pmask != 0 && epar == 0 -> ebump() :: else fi }
}

/* The slowest joined receiver not cut off, seen from tail `tail` (broadcast.h slowest()): a
   cursor ahead of the tail or more than a ring behind it does not count. found, lim = its
   cursor + capacity, blk = its slot. */
inline slowest(tail, found, lim, blk, j, cur) {
  /* for each slot, joined() (pid, kind, cut) and the cursor: the scan is one step here (the
     caller's d_step). Each load is seq_cst in the code; a cursor only moves forward once its
     receiver has joined, and the one move back (a join's store over the slot's first cursor)
     is caught by the Dekker pair slot by slot, so a scan seeing each slot at a different
     instant finds nothing an instantaneous scan could not. */
  found = 0; lim = 0;
  for (j : 0 .. NR - 1) {
    if
    :: slotpid[j] && !cut[j] ->
       cur = cursor[j];
       if
       :: cur <= tail && tail - cur <= CAP && (!found || cur + CAP < lim) ->
          found = 1; lim = cur + CAP; blk = j
       :: else
       fi
    :: else
    fi
  }
  j = 0; cur = 0
}

/* ===================================================================================== */

/* Every word the sender writes into the ring: */
inline wordcheck(q) {
  /* Promise (layout.h "send"): nothing is written at or past the I stored before it. */
  assert(q < I);
#ifdef OVERFLOW_BLOCK
  /* Promise (layout.h "join"/"send", 'block'): the sender never writes over what a joined
     receiver that is not cut off has not read (a ring past its own cursor). */
  for (gj : 0 .. NR - 1) {
    assert(!rjoined[gj] || cut[gj] || q < rcur[gj] + CAP)
  }
  gj = 0
#endif
}

/* O to the first record at or after nxt - capacity (the sender reads the headers it wrote:
   no one else writes them, so the walk is local), stored seq_cst: before I, so whoever sees
   the new I sees an O it may read from. */
inline advance_oldest() {
  if
  :: oldest + CAP < nxt ->
     do
     :: oldest + CAP < nxt && oldest != pos ->
        if
        :: w0[oldest % CAP] == PADLEN -> oldest = oldest + CAP - oldest % CAP
        :: else -> oldest = oldest + w0[oldest % CAP]
        fi
     :: else -> break
     od;
     assert(oldest <= P);               /* Promise (layout.h): O <= P */
     O = oldest
  :: else
  fi
}

/* Makes I reach endp (broadcast.h raise_intent); ok = 0: the ring is full ('block'). Steps:
   ('block') the slots and O; I; ('block') the slots again and I lowered or put back. The
   slots and the store of O share a step (the first look at the slots only spares a store of
   I: whatever it misses, the second look finds, and the walk to O reads our own words). */
inline raise_intent() {
  d_step {
    nxt = pos + STEP;
    if :: endp > nxt -> nxt = endp :: else fi;
    ok = 1;
#ifdef OVERFLOW_BLOCK
    slowest(pos, found, lim, blk, j, cur);
    if
    :: found && endp > lim -> ok = 0; bend = endp
    :: found && endp <= lim && nxt > lim -> nxt = lim
    :: else
    fi;
#endif
#ifndef MUT_O_AFTER_I
    if :: ok -> advance_oldest() :: else fi
#endif
  };
  if
  :: ok ->
     before = intent;
     d_step {
#ifndef MUT_O_AFTER_I
       assert(nxt - O <= CAP);   /* Promise (layout.h): I - O <= capacity */
#endif
       I = nxt                   /* seq_cst, before any byte past the old I */
     };
#ifdef MUT_O_AFTER_I
     d_step { advance_oldest() };
#endif
#if defined(OVERFLOW_BLOCK) && !defined(MUT_NO_SLOT_RELOAD)
     /* the slots again (the Dekker partner of a joiner's cursor store and its load of I): a
        cursor we had not seen bounds I afresh; I lowered, or put back (one step) */
     d_step {
       slowest(pos, found, lim, blk, j, cur);
       if
       :: found && nxt > lim && endp > lim -> I = before; ok = 0; bend = endp
#ifndef MUT_NO_LOWER
       :: found && nxt > lim && endp <= lim -> nxt = lim; I = nxt
#else
       :: found && nxt > lim && endp <= lim -> nxt = lim   /* the mutation: writes bounded, I left raised */
#endif
       :: else
       fi
     };
#endif
     if :: ok -> intent = nxt :: else fi
  :: else
  fi;
  d_step { nxt = 0; before = 0; lim = 0; found = 0; blk = 0 }
}

/* 'drop': written and the stamp of the next sequence number at the new tail */
inline stamp_tail() {
  W = t; wordcheck(t); w1[t % CAP] = k
}
/* written, the count and P (seq_cst), at once (no repairer: SDIES undefined) */
inline publish_tail() {
  pos = t; W = t; nsent = k;
  assert(O <= t && t <= I);               /* Promise (layout.h): O <= P <= I */
  P = t; t = 0
}

inline publish() {
#ifdef SDIES
  d_step { pos = t; W = t };              /* written (relaxed) */
#ifdef OVERFLOW_DROP
  d_step { wordcheck(t); w1[t % CAP] = k };   /* the stamp: the next sequence number */
#endif
  nsent = k;                              /* the sent count */
  d_step { assert(O <= t && t <= I); P = t; t = 0 };   /* seq_cst; Promise (layout.h): O <= P <= I */
#else
  /* written and the count matter only to a repairer (SDIES): here folded into the stores */
#ifdef OVERFLOW_DROP
  d_step { pos = t; W = t; wordcheck(t); w1[t % CAP] = k };   /* the stamp: the next sequence number */
#endif
  d_step { publish_tail() };
#endif
  dring()
}
/* Whether the blocked send may go on (broadcast.h ready()). */
inline sready() {
  d_step { slowest(pos, found, lim, blk, j, cur); rdy = (!found || bend <= lim) }
}

/* While the send waits: the receiver holding it back is cut off if it is dead (under its
   lock), or (LAG_CUT) if it held the send back long enough; then the next slowest. */
inline check_receivers() {
  do
  :: rdy -> break
  :: else ->
     /* the slowest receiver's slot: joined, and its lock (dead: free, its pid unchanged); a
        dead one is cut off under its lock (SLOT_CUT, seq_cst); one step. q: cut. If none is
        cut the sender goes to sleep (ssleep: the ghost of that, set here). */
     atomic {
       if
       :: !(slotpid[blk] && !cut[blk]) -> q = 0
       :: slotpid[blk] && !cut[blk] && rdead[blk] -> cut[blk] = 1; cursor[blk] = 0; rcur[blk] = 0; q = 1   /* (a cut slot's cursor is never read again: 0 in the model) */
       :: slotpid[blk] && !cut[blk] && !rdead[blk] -> q = 0
#ifdef LAG_CUT
       :: slotpid[blk] && !cut[blk] && !rdead[blk] && !nlag -> cut[blk] = 1; nlag = 1; q = 1
#endif
       fi;
       if :: q == 0 -> ssleep = 1 :: else fi
     };
     if
     :: q -> q = 0; dring(); sready()      /* a cut receiver parked learns at once */
     :: else -> break
     fi
  od
}

/* The sender parks on the space flag (layout.h SPSC "parking"; broadcast.h park()). */
inline wait_for_space() {
  /* announce (seq_cst increment of the count), then arm the flag: one step (a ring between
     the two, whose signal the arming erases, is met by the re-check that follows) */
  d_step { waiters++; sig = 0 };
#ifndef MUT_NO_RECHECK_SENDER
  sready();                                /* the re-check */
  if
  :: !rdy ->
     check_receivers();
     if
     :: !rdy ->
        /* sleep (a park slice only while a receiver is dead), then withdraw */
        d_step { (sig != 0 || rdead[0] || rdead[1]); ssleep = 0; waiters--; rdy = 0; found = 0; lim = 0; blk = 0; bend = 0 }
     :: else -> d_step { ssleep = 0; waiters--; rdy = 0; found = 0; lim = 0; blk = 0; bend = 0 }
     fi
  :: else -> d_step { waiters--; rdy = 0; found = 0; lim = 0; blk = 0; bend = 0 }
  fi
#else
  ssleep = 1;
  d_step { (sig != 0 || rdead[0] || rdead[1]); ssleep = 0; waiters--; rdy = 0; found = 0; lim = 0; blk = 0; bend = 0 }
#endif
}

proctype Sender() {
  byte k, pos, oldest, intent, sz, endp, nxt, before, lim, cur, j, blk, t, q, gj;
  bit found, ok, rdy;
#ifdef LAG_CUT
  bit nlag;
#endif


  {
    do
    :: k < NMSG ->
#if defined(FIXED_SIZES)
       sz = 2 - k % 2;                     /* 2, 1, 2, 1: a padding record before the third */
#elif defined(ONE_SIZE)
       sz = 2;
#else
       if :: sz = 1 :: sz = 2 fi;
#endif
       do                                  /* claim, again after each wait */
       :: ok = 1;
          if
          :: sz > CAP - pos % CAP ->       /* padding to the ring's end first */
             t = pos + CAP - pos % CAP;
             endp = t + RESERVE;
             if :: endp > intent -> raise_intent() :: else fi;
             if
             :: ok ->
#if defined(BLOCK_COARSE_WRITE)
                d_step { wordcheck(pos); w0[pos % CAP] = PADLEN; w1[pos % CAP] = k; publish_tail() };
                dring()
#elif defined(DROP_COARSE_WRITE)
                d_step { wordcheck(pos); w0[pos % CAP] = PADLEN; w1[pos % CAP] = k; stamp_tail() };
                d_step { publish_tail() };
                dring()
#else
#ifdef SPLIT_HEADER
                d_step { wordcheck(pos); w0[pos % CAP] = PADLEN };
                d_step { wordcheck(pos); w1[pos % CAP] = k };
#else
                d_step { wordcheck(pos); w0[pos % CAP] = PADLEN; w1[pos % CAP] = k };
#endif
                publish()
#endif
             :: else -> t = 0
             fi
          :: else
          fi;
          if
          :: ok ->
             endp = pos + sz + RESERVE;
             if :: endp > intent -> raise_intent() :: else fi
          :: else
          fi;
          if
          :: ok -> endp = 0; break
          :: else -> wait_for_space()
          fi
       od;
       /* the record: header (length, sequence number), payload; then the tail moves */
#if defined(BLOCK_COARSE_WRITE)
       atomic {
         wordcheck(pos); w0[pos % CAP] = sz; w1[pos % CAP] = k; mpos[k] = pos;
         if :: sz == 2 -> wordcheck(pos + 1); w0[(pos + 1) % CAP] = PAYW; w1[(pos + 1) % CAP] = k :: else fi;
         k++; t = pos + sz; sz = 0;
         publish_tail()
       };
       dring()
#elif defined(DROP_COARSE_WRITE)
       atomic {
         wordcheck(pos); w0[pos % CAP] = sz; w1[pos % CAP] = k; mpos[k] = pos;
         if :: sz == 2 -> wordcheck(pos + 1); w0[(pos + 1) % CAP] = PAYW; w1[(pos + 1) % CAP] = k :: else fi;
         k++; t = pos + sz; sz = 0;
         stamp_tail()
       };
       d_step { publish_tail() };
       dring()
#else
#if defined(SPLIT_HEADER)
       atomic { wordcheck(pos); w0[pos % CAP] = sz; mpos[k] = pos };
       d_step { wordcheck(pos); w1[pos % CAP] = k };
#else
       atomic { wordcheck(pos); w0[pos % CAP] = sz; w1[pos % CAP] = k; mpos[k] = pos };
#endif
       if
       :: sz == 2 -> d_step { wordcheck(pos + 1); w0[(pos + 1) % CAP] = PAYW; w1[(pos + 1) % CAP] = k }
       :: else
       fi;
       d_step { k++; t = pos + sz; sz = 0 };
       publish()
#endif
    :: else -> break
    od;
    ended = 1;                             /* STATE_ENDED, after the last store of P */
    dring()
  } unless { sdead };
  ndone++
}

/* ===================================================================================== */

/* Publishes the cursor (seq_cst store), then rings the sender's space flag (loads its count;
   if nonzero, CAS the flag 0 -> 1): one step here. The store and the count's load are the
   receiver's half of a Dekker pair with the parking sender (count, flag, then its re-check
   of the slots); in this sequentially consistent model a sender step between the two would
   see the cursor, or announce itself after the load and then see the cursor in its
   re-check: the same outcomes as the step before or after both. */
inline publish_cursor() {
#ifdef OVERFLOW_DROP
  /* 'drop': the sender never waits, so it never reads a cursor nor parks on the space
     flag: the receiver's cursor store and ring change nothing it does (left out) */
  skip
#else
  d_step {
    if
    :: c != pub -> pub = c; cursor[r] = c; if :: waiters != 0 && sig == 0 -> sig = 1 :: else fi
    :: else
    fi
  }
#endif
}

/* Past a record handed out, or padding (c moved already, in the step that checked I); the
   cursor published lazily (SPIN's choice: every record, or not yet). */
inline advance() {
#if defined(EAGER_CURSOR) || defined(OVERFLOW_DROP)
  publish_cursor()
#else
  if
  :: publish_cursor()
  :: skip
  fi
#endif
}

/* broadcast.h ready(): P, STATE_ENDED, the cut: three loads, one step here (they follow the
   parked bit's OR: whatever a waker stored before it loaded the masks without seeing our bit,
   each of the three loads sees; so their interleaving with other steps changes nothing). */
inline rready() {
  rdy = (P != c || ended || cut[r])
}

#ifdef SDIES
/* layout.h "written" (bounded by O and I), with the dead sender's lock held. */
inline adopt_written() {
  x = P;
  y = W;
  a = O;
  b = I;
  if
  :: y > x && y - x <= CAP && x - a <= CAP && y - a <= CAP && b >= y && b - y <= CAP ->
     d_step {
       /* the walk from P to written, checking each header; v: messages walked */
       v = 0; cur = x; bad = 0;
       do
       :: cur < y ->
          if
          :: w0[cur % CAP] == PADLEN -> cur = cur + CAP - cur % CAP
          :: w0[cur % CAP] == 1 || w0[cur % CAP] == 2 -> v++; q = w1[cur % CAP]; cur = cur + w0[cur % CAP]
          :: else -> bad = 1; cur = y + 1
          fi
       :: else -> break
       od;
       if :: cur != y -> bad = 1 :: else fi;
       cur = 0
     };
     if
     :: !bad ->
#ifndef MUT_CODE_SENT_COUNT
        /* the fix: the count from the last message walked (its sequence number + 1) */
        if :: v > 0 -> v = q + 1 :: else -> v = nsent fi;
#else
        v = nsent + v;                      /* the code before the fix: the count, plus what was walked */
#endif
        q = 0;
        /* Promise (layout.h "written", "Message counters"): the sent count, where the next
           sender takes its first sequence number from ('drop': stamped at the new tail), is
           the number of messages published. */
        d_step { countbelow(y, q); assert(v == q); q = 0 };
        nsent = v;
#ifdef OVERFLOW_DROP
        if :: b - y >= 1 -> w1[y % CAP] = v :: else fi;   /* the stamp at the new tail */
#endif
        d_step { assert(O <= y && y <= I); P = y };   /* Promise (layout.h "written": bounded by O and I): O <= P <= I */
        dring()
     :: else -> bad = 0
     fi
  :: else
  fi;
  d_step { x = 0; y = 0; a = 0; b = 0; v = 0 }
}

/* 'block': I back to a ring past the slowest receiver (the sender died between raising and
   lowering it). */
inline settle_intent() {
  x = P;
  d_step { slowest(x, found, lim, blk, j, cur) };
  y = I;
  if
  :: found && y - x <= CAP && y > lim -> I = lim
  :: else
  fi;
  d_step { x = 0; y = 0; found = 0; lim = 0; blk = 0 }
}

/* The dead sender's repairs, under its lock (fixed: we held it). */
inline adopt_dead_sender() {
  d_step { if :: slock == 0 -> slock = 1; fixed = 1 :: else -> fixed = 0 fi };
  if
  :: fixed ->
     adopt_written();
#ifdef OVERFLOW_BLOCK
     settle_intent();
#endif
     slock = 0
  :: else
  fi
}

/* broadcast.h check_sender(): cut off, or the sender dead (its pid, its lock free, so not
   held by a repairer either): repair under its lock, then PEER_DEAD if there is still nothing
   to read, and only after a repair of its own (a receiver whose attempt at the lock failed
   parks again, for a slice). The code before the fix (the mutant code-peer-dead-race)
   reported it also when another receiver took the lock between its look at the lock and its
   own attempt, that one in the middle of its repair. */
inline check_sender() {
#ifdef OVERFLOW_BLOCK
  if :: cut[r] -> goto cutoff :: else fi;
#endif
  if
  :: sdead && !slock ->
     adopt_dead_sender();
     rready();
#ifndef MUT_CODE_PEER_DEAD_RACE
     if :: !rdy && fixed -> fixed = 0; goto peerdead :: else -> fixed = 0 fi
#else
     fixed = 0;
     if :: !rdy -> goto peerdead :: else fi
#endif
  :: else
  fi
}
#endif

/* The header's checks: its size (padding: to the ring's end), bad if no record can say that
   or it runs past P (cp, the tail as last loaded) or past the ring's end. */
inline sizeup() {
  if :: a == PADLEN -> sz = CAP - c % CAP :: else -> sz = a fi;
  bad = (sz == 0 || sz > cp - c || c % CAP + sz > CAP)
}

/* A copy that passed the check of I is handed out (a: length, b: sequence number, v: the
   payload copied). */
inline deliver() {
  /* Promise (layout.h "receive"): no torn or overwritten copy is handed out: it is the record
     the sender wrote at c, whole ... */
  assert(b < NMSG && mpos[b] == c && v == b);
  /* ... and it is what the ring held when the receiver validated it. */
  assert(w0[c % CAP] == a && w1[c % CAP] == b && (sz == 1 || w1[(c + 1) % CAP] == v));
#ifdef OVERFLOW_BLOCK
  /* Promise ('block'): every message sent since it joined, in order, exactly once. */
  assert(b == exp);
  exp++;
#else
  /* Promise ('drop'): a subsequence, in order, no duplicates; what it skipped is lost. */
  assert(b >= exp);
  lost = lost + b - exp;
  exp = b + 1;
#endif
  got++
}

proctype Receiver(byte r) {
  byte c, cp, pub, a, b, v, sz, x, y, exp, lost, got, jexp, q, gj, lim, blk, j, cur, fc;
  bit fromold, lap, rdy, bad, dd, fixed, found, first;


  {
    /* take the slot: the cursor (the tail: never behind what the sender may rely on) before
       the pid */
    fc = P;                                 /* the slot's first cursor */
#ifdef OVERFLOW_BLOCK
    d_step { cursor[r] = fc; slotpid[r] = 1; countbelow(P, gslot[r]) };   /* the cursor, then the pid */
#endif
    /* from 'next' (0) or 'oldest' (1): -DJOIN0 / -DJOIN1, or SPIN's choice */
    if
#ifdef JOIN0
    :: r == 0 -> fromold = JOIN0
#else
    :: r == 0 -> fromold = 0
    :: r == 0 -> fromold = 1
#endif
#ifdef JOIN1
    :: r == 1 -> fromold = JOIN1
#else
    :: r == 1 -> fromold = 0
    :: r == 1 -> fromold = 1
#endif
    fi;
    first = !fromold;
join:
#ifdef SDIES
    dd = sdead;
#endif
#ifdef MUT_JOIN_I_FIRST
    /* the mutation: I loaded before the cursor store */
    if :: first -> c = fc :: else -> c = O fi;
    x = I;
    cursor[r] = c;
    a = w1[c % CAP];
    d_step {
      lap = (x > c + CAP); x = 0;
#else
#ifdef MUT_JOIN_REREADS_P
    /* the mutation (the code before the fix): 'next' loads P afresh */
    if :: !fromold -> c = P :: else -> c = O fi;
#elif defined(MUT_RETRY_FROM_P)
    /* the mutation: a 'next' lapped at its first cursor starts again from P, not O */
    if :: first -> c = fc :: !first && !fromold -> c = P :: else -> c = O fi;
#else
    /* 'next': the slot's first cursor; 'oldest', and a 'next' lapped there: O */
    if :: first -> c = fc :: else -> c = O fi;
#endif
#ifdef OVERFLOW_BLOCK
    cursor[r] = c;                          /* seq_cst: the Dekker partner of the store of I */
#else
    /* ('drop': the cursor store is left out, as the sender never reads it) */
    a = w1[c % CAP];                        /* the sequence number there (where 'drop' counts from) */
#endif
    d_step {
      lap = (I > c + CAP);                  /* seq_cst load of I */
#endif
      if
      :: !lap ->
         rjoined[r] = 1; rcur[r] = c; pub = c; cp = c;
         countbelow(c, jexp);               /* the messages before the join point */
#ifdef OVERFLOW_DROP
         /* Promise (layout.h, 'drop'): the sequence number at the join point is the first
            message the receiver can get (where counting what it misses starts). */
         assert(a == jexp);
         exp = a;
#else
         exp = jexp;
         /* Promise ('block', 'next'): a receiver whose slot counted (stats() lists it, the
            sender waits for it) gets every message published after that: none is behind
            where it starts (unless cut off before it joined: it learns that at its first
            receive). The ghost is then put back (kept out of the state). */
         assert(fromold || cut[r] || jexp <= gslot[r]);
         gslot[r] = 0;
#endif
         /* then the sender's space flag: a sender that waited for our slot's first cursor */
         if :: waiters != 0 && sig == 0 -> sig = 1 :: else fi
      :: else
      fi;
      a = 0
    };
    if
    :: lap ->
       /* Settle gives up (ERR_RINGWIRE_CORRUPT) only once nothing can move O again: the
          sender dead before we looked. Promise: a dead sender never leaves O behind I. */
       assert(first || !dd);             /* (no Settle after the first cursor: O at once) */
       lap = 0; first = 0; goto join
    :: else
    fi;
    dd = 0; fc = 0; first = 0;

recv:
#if defined(OVERFLOW_BLOCK) && !defined(FINE_RECEIVE)
    /* 'block': a record received in one step: P (if the cached tail is used up), the header,
       its checks, the copy, I. The sender never writes over what a joined receiver that is
       not cut off has still to read (wordcheck asserts it at every write, whatever the
       receiver's steps), so the interleavings inside this step only matter to a cut
       receiver, whose copy the I check judges all the same. The I check stays meaningful:
       I raised for an instant past a joiner is seen here. (-DFINE_RECEIVE: the steps of
       'drop' below.) x: 1 empty, 2 suspect, 3 lapped. */
    atomic {
      x = 0;
      if
      :: c == cp ->
         if
         :: P == c -> x = 1
         :: P < c || P > c + CAP -> x = 2
         :: else -> cp = P
         fi
      :: else
      fi;
      if
      :: x == 0 ->
         a = w0[c % CAP]; b = w1[c % CAP];
         sizeup();
         if
         :: bad -> x = 2
         :: else ->
            if :: a != PADLEN && sz == 2 -> v = w1[(c + 1) % CAP] :: else -> v = b fi;
#ifndef MUT_NO_I_CHECK
            lap = (I > c + CAP);
#else
            lap = (a == PADLEN && I > c + CAP);
#endif
            if
            :: lap -> x = 3
            :: else ->
               if :: a != PADLEN -> deliver() :: else fi;
               c = c + sz; rcur[r] = c
            fi
         fi
      :: else
      fi;
      a = 0; b = 0; v = 0; sz = 0; bad = 0; lap = 0
    };
    if
    :: x == 1 -> x = 0; goto isempty
    :: x == 2 -> x = 0; goto suspect
    :: x == 3 -> x = 0; goto lapped
    :: else
    fi;
    advance();
    goto recv;
#else
    /* P (if the cached tail is used up: seq_cst), then the header (length, sequence number)
       and its checks (a length, inside the ring, not past P): one step (the sender may write
       between these and the copy, and between the copy and the check of I). x: 1 empty,
       2 suspect. */
    atomic {
      x = 0;
      if
      :: c == cp ->
         if
         :: P == c -> x = 1
         :: P < c || P > c + CAP -> x = 2
         :: else -> cp = P
         fi
      :: else
      fi;
      if
      :: x == 0 ->
         a = w0[c % CAP]; b = w1[c % CAP];
         sizeup();
         if :: bad -> x = 2; a = 0; b = 0; sz = 0; bad = 0 :: else fi
      :: else
      fi
    };
    if
    :: x == 1 -> x = 0; goto isempty
    :: x == 2 -> x = 0; goto suspect
    :: else
    fi;
    if
    :: a == PADLEN ->
       d_step {
         lap = (I > c + CAP);              /* padding is checked against I too */
         if :: !lap -> c = c + sz; rcur[r] = c :: else fi;
         a = 0; b = 0; sz = 0
       };
       if :: lap -> lap = 0; goto lapped :: else fi;
       advance();
       goto recv
    :: else
    fi;
    if
    :: sz == 2 -> v = w1[(c + 1) % CAP]     /* the copy: a step of its own (the sender may
                                               write between the header and it) */
    :: else -> v = b
    fi;
    d_step {
#ifndef MUT_NO_I_CHECK
      lap = (I > c + CAP);                  /* seq_cst load of I, after the copy */
#else
      lap = 0;
#endif
      if
      :: !lap -> deliver(); c = c + sz; rcur[r] = c
      :: else
      fi;
      a = 0; b = 0; v = 0; sz = 0
    };
    if :: lap -> lap = 0; goto lapped :: else fi;
    advance();
    goto recv;
#endif

suspect:
    /* a position or header that fails its checks: lapped, or ERR_RINGWIRE_CORRUPT */
    if
    :: I > c + CAP -> goto lapped
    :: else ->
       /* Promise (layout.h "receive"): a header that fails its checks is overwritten data,
          never a protocol state (CORRUPT only when I says the bytes were not overwritten). */
       assert(false)
    fi;

lapped:
#ifdef OVERFLOW_DROP
    /* 'drop': on from O, the oldest record still intact */
    do
    :: 
#ifdef SDIES
       dd = sdead;
#endif
       d_step { c = O; b = w1[c % CAP] };   /* O, and the sequence number there ... */
       if
       :: I > c + CAP ->                    /* ... checked against I */
          /* Settle gives up only once nothing can move O: the sender dead before we looked.
             Promise: a dead sender never leaves O behind I. */
          assert(!dd)
       :: else -> break
       fi
    od;
    atomic {
      dd = 0; cp = c; rcur[r] = c;
#ifndef LOST_AT_NEXT
      /* what it skipped counts as lost (layout.h "lapped"). Promise: O is past what it had
         (no message is counted twice, none handed out again) */
      assert(b >= exp);
      lost = lost + b - exp;
      exp = b;
#endif
      a = 0; b = 0; v = 0; sz = 0
    };
    publish_cursor();
    goto recv;
#else
    /* 'block': cut off, or I raised past us for an instant (while we joined) */
    do
    :: cut[r] -> goto cutoff
    :: else ->
#ifdef SDIES
       dd = sdead;
       if :: dd && !slock -> adopt_dead_sender() :: else fi;
#endif
       if
       :: I > c + CAP ->
          /* Promise: once a repairer (us) has settled I, a receiver is not lapped. */
          assert(!fixed)
       :: else -> break
       fi
    od;
    atomic { dd = 0; fixed = 0; a = 0; b = 0; v = 0; sz = 0 };
    goto recv;
#endif

isempty:
    /* Nothing at c. The cursor published (and the sender's flag rung), then ('block') the
       cut, then STATE_ENDED and P (the flag first); then, to park (wait.h EpochDoorbell,
       broadcast.h park()), the parked bit (seq_cst OR) and the epoch armed: loaded and, if odd
       (signalled), CASed to the next even value and loaded again. One step here: the load of
       P that found nothing (the step before) stays apart from the OR, which is the window a
       publish can fall into, and the re-check (the next step) apart from both. Folded into
       this step: the code's spinning retries before it parks (more looks at P), and the
       interleavings inside the arm (a waker between the OR and the epoch load finds the
       epoch odd, so no wake is needed as the re-check sees what it published, or even, the
       same as waking after the arm; a CAS that fails, or a signal between the CAS and the
       load, only makes the code re-check without sleeping, as it re-checks here anyway). */
    atomic {
#ifdef OVERFLOW_BLOCK
      if
      :: c != pub -> pub = c; cursor[r] = c; if :: waiters != 0 && sig == 0 -> sig = 1 :: else fi
      :: else
      fi;
      if :: cut[r] -> x = 2 :: else -> x = 0 fi;
#else
      x = 0;
#endif
      if :: x == 0 && ended && P == c -> x = 1 :: else fi;
      if
      :: x == 0 -> pmask = pmask | (1 << r); if :: epar == 1 -> ebump() :: else fi; estale[r] = 0
      :: else
      fi
    };
    if
    :: x == 2 -> x = 0; goto cutoff
    :: x == 1 -> x = 0; goto finished
    :: else
    fi;
#ifndef MUT_NO_RECHECK
    d_step { rready(); rsleep[r] = !rdy };  /* the re-check */
#else
    rsleep[r] = 1;
#endif
#if defined(SDIES) && !defined(MUT_NO_RECHECK)
    if
    :: rsleep[r] ->
       rsleep[r] = 0;
       check_sender();
       d_step { rready(); rsleep[r] = !rdy }
    :: else
    fi;
#endif
    /* sleep while the epoch is unchanged (a park slice only once the sender is dead); then
       the bit cleared */
    d_step { (!rsleep[r] || estale[r] || sdead); rsleep[r] = 0; pmask = pmask & ~(1 << r); estale[r] = 1; rdy = 0 };
    goto recv;

finished:
    skip;
    d_step {
      countbelow(c, x);                     /* the messages published: all of them */
#ifdef OVERFLOW_BLOCK
      /* Promise: a receiver cut off learns it (ERR_RINGWIRE_CUT_OFF), never a clean end. */
      assert(!cut[r]);
      /* Promise ('block'): it got every message sent since it joined. */
      assert(exp == x);
      gacc[r] = exp;
#else
      /* Promise ('drop'): handed out + lost = the messages sent since it joined. */
      assert(got + lost == x - jexp);
      gacc[r] = got + lost + jexp;
#endif
      gfin[r] = 1; x = 0
    };
    goto done;

peerdead:
    /* ERR_RINGWIRE_PEER_DEAD: checked against the final tail in init */
    skip;
    d_step {
      pmask = pmask & ~(1 << r); estale[r] = 1;
#ifdef OVERFLOW_BLOCK
      gacc[r] = exp;
#else
      gacc[r] = got + lost + jexp;
#endif
      gfin[r] = 1
    };
    goto done;

cutoff:
    /* ERR_RINGWIRE_CUT_OFF */
    skip;
    d_step { assert(cut[r]); pmask = pmask & ~(1 << r); estale[r] = 1 };   /* Promise: reported only when the sender did cut it off */
done:
    skip
  } unless { rdead[r] };
  /* done, or dead: the model's own notes about it are put back; a dead receiver will read
     nothing more, so what the sender must not write over is what its slot's cursor says
     (wordcheck against it from now on) */
  d_step { rsleep[r] = 0; estale[r] = 1; if :: rdead[r] -> rcur[r] = cursor[r] :: else fi; ndone++ }
}

/* At most one death per run, at any step (RDIES: a receiver; SDIES: the sender), or none:
   the killer may never run (a valid end state: it waits at its end label). */
#if defined(RDIES) || defined(SDIES)
proctype Killer() {
end:
  if
#ifdef RDIES
#ifndef ONE_RECEIVER
  :: rdead[1] = 1                          /* receiver 1 (receiver 0 lives on) */
#else
  :: rdead[0] = 1
#endif
#endif
#ifdef SDIES
  :: sdead = 1
#endif
  fi
}
#endif

init {
  byte gj, x;
  d_step {
    for (gj : 0 .. NMSG - 1) { mpos[gj] = NONE }
    for (gj : 0 .. NR - 1) { estale[gj] = 1 }
    gj = 0
  };
#ifdef R0_EARLY
  /* receiver 0 joins before the sender starts */
  run Receiver(0);
  rjoined[0];
#endif
  atomic {
    run Sender();
#ifndef R0_EARLY
    run Receiver(0);
#endif
#ifndef ONE_RECEIVER
    run Receiver(1);
#endif
#if defined(RDIES) || defined(SDIES)
    run Killer()
#endif
  };
  (ndone == NPROC);                       /* the sender and the receivers are done (or dead) */
  d_step {
    countbelow(P, x);
    /* Promise: a receiver that finished (end of stream, or PEER_DEAD once it had read
       everything) accounted for every message published since it joined ('block': got
       them; 'drop': got or counted them lost), against the final tail. */
    for (gj : 0 .. NR - 1) {
      assert(!gfin[gj] || gacc[gj] == x)
    }
  }
}
