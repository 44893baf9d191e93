// spsc.pml: a Promela model (SPIN 6.5) of ringwire's SPSC protocol as layout.h states it.
//
// layout.h: lines 56-70 (positions, records, padding), 112-159 (SPSC protocol: producer, consumer, parking, delivered, written, end), 287-301 (what a death costs), 597-605 (park slice, peer check, publishing)
// layout.h digest: d47cf4d71d4e
//
// What is modelled. One sender and one receiver process share a ring of CAP units (a unit is
// one 8-byte alignment step; CAP 4 by default), the producer, consumer, written and delivered
// positions, STATE_ENDED, the two 0/1 signal flags and waiter counts, and the two role locks
// and pids. The sender sends the values 1..N in order; the record of value v takes SIZE(v)
// units (1, 2, 2, 1, 2, 2, ...), so records wrap, padding records fill the end of the ring,
// and try_put's "ring full: write and publish the padding now" path is taken. Positions are
// unit counts that never wrap here (uint32 wrap-around is not modelled).
//   - producer (spsc.h try_put, spsc.ts write/claim): find room (cached consumer position,
//     reloaded when it says full), write the padding and the record, store `written`, then
//     publish (store P seq_cst, load the receiver's waiter count, CAS data signal 0 -> 1,
//     futex wake) or hold the position back (TypeScript's lazy publishing: any number of
//     records, a superset of "every 32 or a quarter ring"); what is held back is published
//     before the sender parks and before end().
//   - consumer (spsc.h next_record, advance, publish): load P when its cached copy is used
//     up, read and check each header (never CORRUPT with honest peers), copy, store delivered
//     after each message and each padding record, store the consumer position lazily (at any
//     point: a superset of "every 32 records or a quarter ring") and always when it finds the
//     ring empty, then wake the sender the same way as the producer wakes it.
//   - parking (wait.h FlagDoorbell, spsc.h park, endpoint.ts parkAsync/waitSync): increment
//     own waiters, store 0 to own signal, re-check, check the peer (the receiver adopts a dead
//     sender's "written" under its role lock), re-check again (the check may have made it
//     ready: its own adoption rings nobody), futex wait (sleeps only if the signal is still 0;
//     a futex wake makes it runnable), decrement. A sleep does not end by itself: the park
//     slice (PARK_SLICE_MS) ends one only where the implementation relies on it (see
//     R_SLICE_ENDS): once the peer died since the sleeper announced itself, or is dead now.
//     Otherwise a sleeper nobody wakes stays asleep forever, which the LTL formulas and the
//     end-state check see (a lost wake-up). Every store of P, an adoption's too, is followed
//     by a wake or by the storer's own re-check, so none needs the slice.
//   - end: end() publishes what is held back, ORs STATE_ENDED and wakes; a receiver that finds
//     the ring empty loads the state, then P once more, before it reports the end.
//   - deaths (S_KILLS sender deaths, R_KILLS receiver deaths): a Killer process may kill either
//     endpoint between any two of its steps (also asleep, or holding the peer's lock); the
//     kernel drops its locks and its futex wait; its pid and waiter count stay. A replacement
//     of the same role then opens (it takes the role lock only once the dead one is gone),
//     resets its waiter count, and: a sender refuses to open after the end (CLOSED), adopts
//     "written" (the header walk from P lands exactly on it, within a ring of the consumer
//     position) and, if that moved P, wakes the receiver as a publish does (spsc.h SpscSender,
//     spsc.ts SpscSenderProtocol), and resumes the application at the first value whose
//     written position the dead one had not stored (so the message it was writing is sent
//     again); a receiver walks from the consumer position to delivered, adopts it if the walk
//     lands on it and passes a message (and publishes it), else stores its own position there.
//     A receiver is a recv() user (copies, advances, then uses the message) or a poll() user
//     (the handler uses the message in the ring, then it advances), chosen at each open when
//     receivers may die.
//   - steps: each atomic block is one step holding at most one access to a word another
//     process may be changing then, with the local computation around it; where a step reads
//     or writes more than one shared word, a comment says why nobody can look in between.
//
// What is abstracted away. Fragments (layout.h 72-110): every message is one whole record.
// A record's payload is one value; the `reserved` word, the message counters, pids beyond
// set/clear, thread ids and send/recv timeouts are not modelled. Not modelled either:
// tryClaim/commit (zero-copy claims), the TypeScript receiver's hold()/confirm(), wait
// mechanism SEMAPHORE (only the futex), spinning before parking, spurious futex returns, the
// TypeScript sender's "one CPU" wake deferral and the TypeScript receiver's "wake the sender
// only once a quarter of the ring is free" (layout.h says the consumer always wakes; the C++
// does), a sender's liveness check (it only ends its slice; ERR_RINGWIRE_PEER_DEAD is a
// retry). A clean close() happens only at the end of the stream. The peer check's 100 ms rate
// limit is a nondeterministic choice (always made after a slice ended). SPIN is sequentially
// consistent: every ordering layout.h requires is kept as stated (seq_cst), and the one
// store-load reordering it forbids is the mutation STORE_LOAD_REORDER.
//
// Ghost state for the properties: tag[u] is the position of the record whose bytes unit u
// holds, `committed` the last value whose written position is stored, `last` the last value
// handed to the application, lost_ok / dup_ok the values a dead receiver held (bit v: v may
// be missing / may be handed out twice), h_val / h_state what the receiver holds.
//
// Mutations (each makes SPIN report a violation; each #ifdef MUT_ block says what it weakens):
//   MUT_NO_RECHECK           the parker sleeps without re-checking its condition after arming
//                            (neither before nor after its peer check)
//   MUT_STORE_LOAD_REORDER   a waker's position store becomes visible after its waiter load
//   MUT_SKIP_WRITTEN_WALK    whoever takes a dead sender's lock does not adopt "written"
//   MUT_END_NO_REREAD        the receiver reports the end without re-reading P after the flag
//   MUT_NO_DELIVERED_WALK    a replacement receiver resumes at the consumer position
//   MUT_PUBLISH_BEFORE_WRITE the producer stores P before it writes the record's bytes
//   MUT_NO_WAITER_RESET      an opener does not reset its own waiter count
//   MUT_NO_PUBLISH_ON_EMPTY  the receiver does not store its position when it finds the ring empty
//   MUT_NO_WAKE_AFTER_ADOPTION       a replacement sender adopts "written" without a wake
//   MUT_NO_RECHECK_AFTER_PEER_CHECK  the receiver sleeps right after its peer check, even
//                                    when that check adopted "written" and made it ready
// The last two are the code before the fix of a liveness gap this model found: the receiver
// slept through an adoption (a replacement sender's, or its own in its peer check) until its
// park slice ended, even while the new sender waited for space on a ring full of adopted
// records; SPIN shows both as both endpoints asleep for good (an invalid end state).
//
// Build knobs: -DN=<messages, at most 7> -DCAP=<units> -DS_KILLS=<n> -DR_KILLS=<n>.
//
// Safety runs use cc:-DNOCLAIM (the file has ltl formulas; without it pan would take the first
// as its claim and skip the end-state check).
//
//@ check nodeath cc:-DSAFETY cc:-DNOCLAIM : -m300000
//@ check nodeath-cap2 -DCAP=2 -DN=6 cc:-DSAFETY cc:-DNOCLAIM : -m300000
//@ check nodeath-cap8 -DCAP=8 -DN=7 cc:-DSAFETY cc:-DNOCLAIM : -m300000
//@ check nodeath-rwake : -a -f -m300000 -N r_wake
//@ check nodeath-swake : -a -f -m300000 -N s_wake
//@ check nodeath-done : -a -f -m300000 -N done
//@ check sdeath -DS_KILLS=1 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m300000
//@ check sdeath-rwake -DS_KILLS=1 cc:-DCOLLAPSE : -a -f -m300000 -N r_wake
//@ check sdeath-done -DS_KILLS=1 cc:-DCOLLAPSE : -a -f -m300000 -N done
//@ check sdeath2 -DS_KILLS=2 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m300000
//@ check rdeath -DR_KILLS=1 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m300000
//@ check rdeath-swake -DR_KILLS=1 cc:-DCOLLAPSE : -a -f -m300000 -N s_wake
//@ check rdeath-done -DR_KILLS=1 cc:-DCOLLAPSE : -a -f -m300000 -N done
//@ check rdeath2 -DR_KILLS=2 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m300000
//@ check bothdeath -DS_KILLS=1 -DR_KILLS=1 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m300000
//@ check bothdeath-rwake -DN=4 -DS_KILLS=1 -DR_KILLS=1 cc:-DCOLLAPSE : -a -f -m300000 -N r_wake
//@ mutant no-recheck -DMUT_NO_RECHECK : -a -f -m300000 -N r_wake
//@ mutant store-load-reorder -DMUT_STORE_LOAD_REORDER : -a -f -m300000 -N r_wake
//@ mutant store-load-reorder-space -DMUT_STORE_LOAD_REORDER : -a -f -m300000 -N s_wake
//@ mutant skip-written-walk -DMUT_SKIP_WRITTEN_WALK -DS_KILLS=1 cc:-DSAFETY cc:-DNOCLAIM : -m300000
//@ mutant end-no-reread -DMUT_END_NO_REREAD cc:-DSAFETY cc:-DNOCLAIM : -m300000
//@ mutant no-delivered-walk -DMUT_NO_DELIVERED_WALK -DR_KILLS=1 cc:-DSAFETY cc:-DNOCLAIM : -m300000
//@ mutant publish-before-write -DMUT_PUBLISH_BEFORE_WRITE cc:-DSAFETY cc:-DNOCLAIM : -m300000
//@ mutant no-waiter-reset -DMUT_NO_WAITER_RESET -DR_KILLS=1 cc:-DSAFETY cc:-DNOCLAIM : -m300000
//@ mutant no-publish-on-empty -DMUT_NO_PUBLISH_ON_EMPTY cc:-DSAFETY cc:-DNOCLAIM : -m300000
//@ mutant no-wake-after-adoption -DMUT_NO_WAKE_AFTER_ADOPTION -DS_KILLS=1 cc:-DSAFETY cc:-DNOCLAIM : -m300000
//@ mutant no-recheck-after-peer-check -DMUT_NO_RECHECK_AFTER_PEER_CHECK -DS_KILLS=1 cc:-DSAFETY cc:-DNOCLAIM : -m300000

#ifndef N
#define N 5
#endif
#ifndef CAP
#define CAP 4
#endif
#ifndef S_KILLS
#define S_KILLS 0
#endif
#ifndef R_KILLS
#define R_KILLS 0
#endif

#define SIZE(v)  (((v) % 3 == 1) -> 1 : 2)
#define PAD      3      /* PADDING_LENGTH: the rest of the ring is unused */
#define NONE     255    /* tag of a unit never written */
#define FREE     0      /* role lock holders */
#define SND      1
#define RCV      2

/* The segment. */
byte P;                 /* producer position (units) */
byte C;                 /* consumer position */
byte W;                 /* written position (release line) */
byte D;                 /* delivered position (delivered line) */
bit  ended;             /* STATE_ENDED */
byte r_waiters, s_waiters;      /* receiver / sender waiter counts */
bit  data_sig, space_sig;       /* the signal flags */
byte hdr[CAP];          /* length word of a unit that starts a record: 1, 2 or PAD (0: zeroed) */
byte val[CAP];          /* the payload: the message's value */
bit  s_pid, r_pid;      /* pid words: set by an opener, cleared by a clean close */

/* The kernel. */
byte s_lock, r_lock;    /* role locks: FREE, or who holds it (a receiver may hold the sender's) */
bit  r_asleep, s_asleep;        /* in futex_wait on data_sig / space_sig */

/* Endpoint state the LTL formulas read. */
byte s_pos;             /* the sender's own position (written, published or not) */
byte s_cc;              /* the sender's cached consumer position */
byte s_need;            /* what has_room() waits for (while the sender parks) */
byte r_pos;             /* the receiver's own position */

/* Ghosts. */
byte tag[CAP];
byte committed;         /* last value whose written position is stored */
byte last;              /* last value handed to the application */
byte lost_ok, dup_ok;   /* bit v: a dead receiver held v (taken, not used / used, not advanced) */
byte h_val;             /* the message the receiver holds ... */
byte h_state;           /* 0 none, 1 advanced past it but not used, 2 used but not advanced past */
bit  r_finished;        /* the receiver reported the end of the stream */
bit  s_alive, r_alive;  /* holds its role lock and has not finished */
bit  kill_s, kill_r;    /* the Killer's order, carried out at the victim's next step */
byte s_deaths, r_deaths;

#define SENDER_DEAD   (s_pid && s_lock == FREE)
#define RECEIVER_DEAD (r_pid && r_lock == FREE)
/* When a sleep may end by the park slice (PARK_SLICE_MS) rather than by a wake: only once the
   peer died since the sleeper announced itself, or is dead now (the slice's peer check).
   Otherwise a sleeper that is never woken stays asleep: a lost wake-up, which the LTL formulas
   and the end-state check see. In particular an adoption of "written" needs no slice: a sender
   that adopts wakes as a publish does, and a receiver that adopts re-checks before it sleeps. */
#define R_SLICE_ENDS  (SENDER_DEAD || s_deaths != r_seen)
#define S_SLICE_ENDS  (RECEIVER_DEAD || r_deaths != s_seen)

/* ---------------------------------------------------------------- properties (LTL) ----- */

/* README "Waiting" / layout.h "parking" ("No wake is lost"): a receiver asleep while there is
   something for it (a position past its own, or the end) is woken. */
ltl r_wake { [] ((r_asleep && (P != r_pos || ended)) -> <> !r_asleep) }
/* The same for a sender asleep on a full ring once the room it waits for is free. */
ltl s_wake { [] ((s_asleep && C != s_cc && CAP - (s_pos - C) >= s_need) -> <> !s_asleep) }
/* README "End and close": the receiver drains, then sees the end (no deadlock, no livelock). */
ltl done { <> r_finished }

/* ---------------------------------------------------------------- shared steps ---------- */

/* Steps: each atomic block below is one step of the process, holding at most one access to a
   word another process may be changing at that moment (a load, a store or a CAS), together
   with the process's local computation around it; a death can come between any two steps.
   A few steps read or write more than one word where nobody else can look in between:
   noted where it is done. */

/* layout.h "written": with the sender's role lock held and its holder gone, walk the headers
   from P to written; adopt written if the walk lands on it, within a ring of the consumer.
   Only C can change meanwhile (P, written and the records walked are the sender lock's), so
   the loads and the walk are one step; the store of P is another. No wake here: a_ok is left
   1 if P moved (adopt_written's and adoptWritten's result), and the caller acts on it (a
   sender wakes the receiver, a receiver re-checks its own condition) and clears it. */
inline adopt_written() {
#ifndef MUT_SKIP_WRITTEN_WALK
  d_step {
    a_p = P; a_w = W; a_c = C;
    a_ok = (a_w > a_p && a_w - a_p <= CAP && a_p >= a_c && a_p - a_c <= CAP &&
            a_w - a_c <= CAP);
    a_pos = a_p;
    do
    :: !a_ok || a_pos == a_w -> break
    :: else ->
       a_u = a_pos % CAP;
       /* README "When a process dies" (a sender): the walk reads only whole headers */
       assert(tag[a_u] == a_pos);
       if
       :: hdr[a_u] == PAD -> a_sz = CAP - a_u
       :: else ->
          a_sz = hdr[a_u];
          if :: a_sz == 0 || a_sz > CAP - a_u -> a_ok = 0 :: else fi
       fi;
       if :: a_ok && a_sz > a_w - a_pos -> a_ok = 0 :: else fi;
       a_pos = a_pos + a_sz
    od;
    a_pos = 0; a_u = 0; a_sz = 0; a_p = 0; a_c = 0;
    if :: !a_ok -> a_w = 0 :: else fi
  };
  if
  :: d_step { a_ok -> P = a_w; a_w = 0 }          /* seq_cst store; a_ok: P moved */
  :: d_step { !a_ok -> skip }
  fi
#else
  /* MUT_SKIP_WRITTEN_WALK: what the dead sender wrote and did not publish stays unpublished
     (the next sender writes over it): the "written" repair step is skipped. */
  skip
#endif
}

/* FlagDoorbell::ring of the receiver's bell, after the caller's position store and its load
   of the count into tw: CAS data_signal 0 -> 1, then futex_wake. */
inline ring_data() {
  atomic { if :: tw != 0 && data_sig == 0 -> data_sig = 1 :: else -> tw = 0 fi };
  atomic { if :: tw != 0 -> r_asleep = 0 :: else fi; tw = 0 }
}
inline ring_space() {
  atomic { if :: tw != 0 && space_sig == 0 -> space_sig = 1 :: else -> tw = 0 fi };
  atomic { if :: tw != 0 -> s_asleep = 0 :: else fi; tw = 0 }
}

/* ---------------------------------------------------------------- the sender ------------ */

/* The producer's publish: P (seq_cst store), then the receiver's waiter count (seq_cst load),
   then the wake. The written line was stored before (it is only read by whoever takes the
   sender's lock after a death, so it is stored together with the step before). */
inline publish_p() {
#ifdef MUT_STORE_LOAD_REORDER
  /* MUT_STORE_LOAD_REORDER: a release store alone, passed by the load after it (x86's store
     buffer): the waiter count is read before the new position is visible. */
  atomic { s_pub = s_pos; tw = r_waiters };
  P = s_pos;
#else
  atomic { s_pub = s_pos; P = s_pos };          /* seq_cst store */
  tw = r_waiters;                               /* seq_cst load: Dekker with the increment */
#endif
  ring_data()
}

proctype Sender() {
  byte v, size, tail, need, q, s_pub, s_blocked, s_seen, tw;
  byte a_p, a_w, a_c, a_pos, a_u, a_sz;
  bit ok, a_ok;
s_open:
  {
    atomic { s_lock == FREE && !kill_s -> s_lock = SND; s_alive = 1 };   /* the role lock */
    atomic {
#ifndef MUT_NO_WAITER_RESET
      s_waiters = 0;           /* FlagDoorbell::reset: a count left by one that died parked */
#endif
      s_pid = 1;
      if :: ended -> goto s_refused :: else fi  /* CLOSED (only this role writes `ended`) */
    };
    adopt_written();
#ifndef MUT_NO_WAKE_AFTER_ADOPTION
    /* P moved: wake the receiver as a publish does, after the seq_cst store (spsc.h
       SpscSender: if (adopt_written()) wake_peer(); spsc.ts: doorbell.wakePeers()) */
    if
    :: atomic { a_ok -> a_ok = 0; tw = r_waiters };   /* seq_cst load: Dekker with the increment */
       ring_data()
    :: else
    fi;
#else
    /* MUT_NO_WAKE_AFTER_ADOPTION: the adopted records are published without a wake (a
       receiver parked meanwhile sleeps on). */
#endif
    /* position = P, written = position, cached consumer = C (P and written are ours) */
    atomic { a_ok = 0; s_pos = P; s_pub = s_pos; W = s_pos; s_cc = C;
             v = committed + 1 };  /* the application goes on after what it knows was written */

s_try:  /* try_put(v): find room; the consumer position is loaded only if the cache says full */
    atomic {
      if :: v > N -> goto s_finish :: else fi;
      size = SIZE(v); tail = CAP - s_pos % CAP;
      need = ((size <= tail) -> size : tail + size);
      if
      :: CAP - (s_pos - s_cc) < need ->
         s_cc = C;                                 /* load (acquire) */
         /* valid_consumer: never ERR_RINGWIRE_CORRUPT with honest peers */
         assert(s_pos >= s_cc && s_pos - s_cc <= CAP);
         if :: CAP - (s_pos - s_cc) < need -> goto s_full :: else fi
      :: else
      fi;
      q = s_pos;
      if :: size > tail -> goto s_pad :: else -> goto s_write fi
    };
s_pad:  /* a padding record: the record would straddle the end of the ring */
    atomic {
      /* layout.h "SPSC protocol" / README "When a process dies": the producer never writes
         over what the consumer has not freed (published) */
      assert(q < C + CAP);
      hdr[q % CAP] = PAD; tag[q % CAP] = q;
      q = q + tail
    };
s_write:  /* the record's bytes (length word and payload), then `written` (relaxed) */
    atomic {
#ifdef MUT_PUBLISH_BEFORE_WRITE
      /* MUT_PUBLISH_BEFORE_WRITE: P is stored before the record's bytes are written (the
         release store no longer publishes them). */
      s_pos = q + size; W = s_pos; s_pub = s_pos; P = s_pos; goto s_late_write
    };
s_late_write:
    atomic {
#endif
      assert(q + size <= C + CAP);                 /* never over what is not freed */
      hdr[q % CAP] = size; val[q % CAP] = v; tag[q % CAP] = q;
      if :: size == 2 -> tag[q % CAP + 1] = q :: else fi;
      s_pos = q + size; W = s_pos; committed = v;
      v++; q = 0; size = 0; tail = 0; need = 0;
#ifdef MUT_PUBLISH_BEFORE_WRITE
      goto s_try
#else
      if
      :: goto s_publish
      :: goto s_try              /* held back (TypeScript: lazy publishing within a task) */
      fi
#endif
    };
s_publish:
    publish_p();
    goto s_try;

s_full:  /* try_put found the ring full: pad to the end now if that fits (and publish it),
            publish what is held back, then park (wait_to_write) */
    atomic {
      if
      :: size > tail && CAP - (s_pos - s_cc) >= tail ->
         assert(s_pos < C + CAP);
         hdr[s_pos % CAP] = PAD; tag[s_pos % CAP] = s_pos;
         s_pos = s_pos + tail; W = s_pos
      :: else
      fi;
      s_blocked = size; q = 0; size = 0; tail = 0; need = 0;
      if :: s_pos == s_pub -> goto s_park :: else fi
    };
    publish_p();
s_park:  /* wait.h FlagDoorbell: announce, re-check (has_room), sleep, withdraw */
    atomic {
      s_seen = r_deaths;
      s_need = ((s_blocked <= CAP - s_pos % CAP) -> s_blocked : CAP - s_pos % CAP);
      s_waiters++;
      /* layout.h "parking": SPSC counts are 0 or 1 (README "When a process dies": the next
         endpoint of a role clears what a parked one that died left) */
      assert(s_waiters == 1)
    };
    space_sig = 0;                                 /* arm */
#ifndef MUT_NO_RECHECK
    atomic {                                       /* has_room(): seq_cst load of C */
      ok = (C != s_cc && (s_pos - C > CAP || CAP - (s_pos - C) >= s_need));
      if :: ok -> goto s_withdraw :: else fi
    };
#else
    /* MUT_NO_RECHECK: sleeps without re-checking its condition after arming. */
#endif
    /* (check_peer of a dead receiver: ERR_RINGWIRE_PEER_DEAD and a retry; the sleep's slice
       ends when it died, see S_SLICE_ENDS) */
    atomic { if :: space_sig == 0 -> s_asleep = 1 :: else -> goto s_withdraw fi };  /* futex_wait */
    if
    :: atomic { !s_asleep -> skip }                                       /* woken */
    :: atomic { s_asleep && S_SLICE_ENDS -> s_asleep = 0 }                /* the slice ends */
    fi;
s_withdraw:
    atomic { s_waiters--; ok = 0; s_need = 0; s_seen = 0; goto s_try };

s_finish:  /* end(): what is held back goes out first, then STATE_ENDED (seq_cst OR), a wake */
    atomic { if :: s_pos == s_pub -> goto s_end :: else fi };
    publish_p();
s_end:
    ended = 1;
    tw = r_waiters;
    ring_data();
    s_pid = 0;                                     /* close(): the pid, then the lock */
    atomic { s_lock = FREE; s_alive = 0; goto s_gone };
s_refused:
    atomic { s_pid = 0; s_lock = FREE; s_alive = 0; goto s_gone }
  } unless {
    kill_s ->
    d_step {
      /* the process is gone: the kernel drops its lock and its futex wait; pid and count stay */
      s_asleep = 0;
      s_lock = FREE;
      s_alive = 0;
      kill_s = 0;
      s_deaths++;
      s_need = 0;
      v = 0; size = 0; tail = 0; need = 0; q = 0; s_pub = 0; s_blocked = 0;
      s_seen = 0; tw = 0; ok = 0;
      a_p = 0; a_w = 0; a_c = 0; a_pos = 0; a_u = 0; a_sz = 0; a_ok = 0
    };
    goto s_open
  };
s_gone:
  skip
}

/* ---------------------------------------------------------------- the receiver ---------- */

/* publish(): store the consumer position (seq_cst), load the sender's waiter count, wake. */
inline publish_c() {
#ifdef MUT_STORE_LOAD_REORDER
  atomic { r_pub = r_pos; tw = s_waiters };     /* (see publish_p) */
  C = r_pos;
#else
  atomic { r_pub = r_pos; C = r_pos };          /* seq_cst store: frees the space */
  tw = s_waiters;                               /* seq_cst load */
#endif
  ring_space()
}

/* The application gets value x (ghost checks). */
inline use(x) {
  if
  :: x > last ->
     i = last + 1;
     do
     :: i < x ->
        /* README "When a process dies" (a receiver): at most the message it held is lost;
           without deaths every message arrives exactly once, in order */
        assert(lost_ok & (1 << i));
        lost_ok = lost_ok & ~(1 << i);
        i++
     :: else -> break
     od;
     i = 0
  :: x == last ->
     /* README: ... or delivered again (it died inside a poll() handler) */
     assert(dup_ok & (1 << x));
     dup_ok = dup_ok & ~(1 << x)
  :: else ->
     /* messages arrive in the order sent */
     assert(false)
  fi;
  last = x
}

proctype Receiver() {
  byte p, h, u, v, d, r_pub, r_cp, r_seen, r_checked, tw, i;
  byte a_p, a_w, a_c, a_pos, a_u, a_sz;          /* adopt_written, for a dead sender */
  bit style, ok, a_ok, r_forced;
r_open:
  {
    atomic { r_lock == FREE && !kill_r -> r_lock = RCV; r_alive = 1 };   /* the role lock */
    /* Reset the count, set the pid, load C and delivered (the receiver lock's, relaxed),
       and walk (records_up_to) the records from C to delivered, which the producer never
       writes (only P can change meanwhile): one step. */
    atomic {
#ifndef MUT_NO_WAITER_RESET
      r_waiters = 0;
#endif
      r_pid = 1;
      r_pos = C; r_pub = r_pos; r_cp = r_pos;
      if
      :: style = 0                  /* recv(): copy, advance, use */
      :: R_KILLS > 0 -> style = 1   /* poll(): the handler uses it in the ring, then advance */
      fi;
#ifndef MUT_NO_DELIVERED_WALK
      d = D; p = P;
      ok = (d >= r_pos && p >= r_pos && p - r_pos <= CAP && d - r_pos <= p - r_pos);
      i = r_pos; v = 0;
      do
      :: !ok || i == d -> break
      :: else ->
         u = i % CAP;
         assert(tag[u] == i);     /* the walk reads only whole headers */
         if
         :: hdr[u] == PAD -> h = CAP - u
         :: else ->
            h = hdr[u];
            if :: h == 0 || h > CAP - u -> ok = 0 :: else -> v++ fi
         fi;
         if :: ok && h > d - i -> ok = 0 :: else fi;
         i = i + h
      od;
      p = 0; i = 0; u = 0; h = 0;
      if
      :: ok && v != 0 ->          /* adopt it, and publish it at once */
         r_pos = d; r_cp = d; ok = 0; v = 0; d = 0; goto r_open_pub
      :: else ->                  /* store our own position there */
         D = r_pos; ok = 0; v = 0; d = 0; goto r_loop
      fi
#else
      /* MUT_NO_DELIVERED_WALK: the "delivered" repair step is skipped: resume at the
         consumer position, which the dead receiver published lazily. */
      D = r_pos; goto r_loop
#endif
    };
r_open_pub:
    publish_c();

r_loop:  /* next_record: load P when the cached one is used up, read and check the header,
            copy. The record's bytes cannot change once P covers them (the producer writes
            only below C + CAP, which write_* assert), so the load, the header read and the
            copy are one step. */
    atomic {
      if
      :: r_cp == r_pos ->
         p = P;                                    /* acquire load */
         if
         :: p == r_pos ->
            p = 0;
#ifndef MUT_NO_PUBLISH_ON_EMPTY
            if :: r_pos != r_pub -> goto r_empty_pub :: else -> goto r_empty fi
#else
            /* MUT_NO_PUBLISH_ON_EMPTY: the consumer position is not stored when the ring is
               found empty (nor, so, before parking). */
            goto r_empty
#endif
         :: else
         fi;
         /* never ERR_RINGWIRE_CORRUPT with honest peers */
         assert(p > r_pos && p - r_pos <= CAP);
         r_cp = p; p = 0
      :: else
      fi;
      u = r_pos % CAP; h = hdr[u];
      /* the receiver never reads a record the producer has not finished writing */
      assert(tag[u] == r_pos);
      if
      :: h == PAD ->
         assert(CAP - u <= r_cp - r_pos);          /* padding past the published end */
         r_pos = r_pos + CAP - u; D = r_pos;       /* advance; delivered (relaxed) */
         u = 0; h = 0;
         if :: goto r_publish :: goto r_loop fi    /* publish now, or lazily */
      :: else
      fi;
      assert(h >= 1 && h <= CAP - u && h <= r_cp - r_pos);   /* within what was published */
      v = val[u];                                  /* the copy */
      assert(h == 1 || tag[u + 1] == r_pos);       /* its payload is written too */
      u = 0;
      if
      :: style == 0 ->                             /* recv(): advance now, use after */
         r_pos = r_pos + h; D = r_pos; h = 0;
         h_state = 1; h_val = v                    /* taken, not yet used */
      :: style == 1 ->                             /* poll(): the handler uses it first */
         use(v);
         h_state = 2; h_val = v; goto r_release    /* used, not yet advanced past */
      fi
    };
    atomic {                                       /* recv(): the application uses it */
      use(v);
      h_state = 0; h_val = 0; v = 0;
      if :: goto r_publish :: goto r_loop fi
    };
r_release:                                         /* poll(): the handler returned */
    atomic {
      r_pos = r_pos + h; D = r_pos;
      h_state = 0; h_val = 0; h = 0; v = 0;
      if :: goto r_publish :: goto r_loop fi
    };
r_publish:  /* at least every 32 records or a quarter ring: any time here */
    publish_c();
    goto r_loop;

r_empty_pub:  /* found the ring empty: always publish */
    publish_c();
r_empty:  /* drained_and_ended: the flag first, then the position once more (P cannot move
             after the flag: the sender stores it before, and no sender opens after it) */
    atomic {
      if
      :: ended ->
#ifndef MUT_END_NO_REREAD
         if :: P == r_pos -> goto r_end :: else fi
#else
         /* MUT_END_NO_REREAD: the producer position loaded before the flag is trusted. */
         goto r_end
#endif
      :: else
      fi
    };
    /* recv() parks: wait.h FlagDoorbell: announce, re-check, check the peer, re-check, sleep,
       withdraw */
    atomic {
      r_seen = s_deaths;
      r_waiters++;
      assert(r_waiters == 1)    /* layout.h "parking": SPSC counts are 0 or 1 */
    };
    data_sig = 0;                                  /* arm */
#ifndef MUT_NO_RECHECK
    atomic { if :: P != r_pos || ended -> goto r_withdraw :: else fi };  /* re-check (seq_cst) */
#else
    /* MUT_NO_RECHECK: sleeps without re-checking its condition after arming. */
#endif
    atomic {
      /* check_peer (at most every PEER_CHECK_MS): a sender that died without closing */
      if
      :: SENDER_DEAD && r_checked != s_deaths ->    /* its pid set, its lock free */
         r_checked = s_deaths; r_forced = 0; s_lock = RCV; goto r_adopt
      :: SENDER_DEAD && !r_forced -> goto r_recheck /* not now (checked at most every
                                                       PEER_CHECK_MS; always after a slice) */
      :: else -> r_forced = 0; goto r_recheck
      fi
    };
r_adopt:
    adopt_written();
    atomic { s_lock = FREE; a_ok = 0 };            /* (its result is not used here) */
    atomic {
      /* ready() ? 0 : PEER_DEAD (then the application's next recv() tries again) */
      if :: P != r_pos || ended -> goto r_recheck :: else -> goto r_withdraw fi
    };
r_recheck:
#if !defined(MUT_NO_RECHECK) && !defined(MUT_NO_RECHECK_AFTER_PEER_CHECK)
    /* ready() again after the peer check (spsc.h park; endpoint.ts parkAsync, waitSync): an
       adoption there made P move with no wake to come */
    atomic { if :: P != r_pos || ended -> goto r_withdraw :: else fi };
#else
    /* MUT_NO_RECHECK, MUT_NO_RECHECK_AFTER_PEER_CHECK: it sleeps right after its peer check,
       although that check may have adopted "written" and made it ready. */
#endif
r_sleep:
    atomic { if :: data_sig == 0 -> r_asleep = 1 :: else -> goto r_withdraw fi };  /* futex_wait */
    if
    :: atomic { !r_asleep -> skip }                                       /* woken */
    :: atomic { r_asleep && R_SLICE_ENDS -> r_asleep = 0; r_forced = 1 }  /* the slice ends */
    fi;
r_withdraw:
    atomic { r_waiters--; r_seen = 0; goto r_loop };

r_end:
    atomic {
      /* README "End and close": the end is reported only after every message sent (all of
         1..N: a dead sender's unwritten message is sent again by the next one), less what a
         dead receiver held */
      i = last + 1;
      do
      :: i <= N -> assert(lost_ok & (1 << i)); i++
      :: else -> break
      od;
      i = 0;
      assert(committed == N);
      r_finished = 1;
      if :: r_pos == r_pub -> goto r_close :: else fi
    };
    publish_c();               /* close(): publish, clear the pid, give the role back */
r_close:
    r_pid = 0;
    atomic { r_lock = FREE; r_alive = 0; goto r_gone }
  } unless {
    kill_r ->
    d_step {
      if
      :: h_state == 1 -> lost_ok = lost_ok | (1 << h_val)
      :: h_state == 2 -> dup_ok = dup_ok | (1 << h_val)
      :: else
      fi;
      h_state = 0; h_val = 0;
      r_asleep = 0;
      if :: s_lock == RCV -> s_lock = FREE :: else fi;
      r_lock = FREE;
      r_alive = 0;
      kill_r = 0;
      r_deaths++;
      p = 0; h = 0; u = 0; v = 0; d = 0; r_pub = 0; r_cp = 0; r_seen = 0;
      r_checked = 0; tw = 0; i = 0; style = 0; ok = 0; r_forced = 0;
      a_p = 0; a_w = 0; a_c = 0; a_pos = 0; a_u = 0; a_sz = 0; a_ok = 0
    };
    goto r_open
  };
r_gone:
  skip
}

/* ---------------------------------------------------------------- deaths --------------- */

#if S_KILLS > 0 || R_KILLS > 0
proctype Killer() {
  byte sk = S_KILLS, rk = R_KILLS;
end_killer:
  do
  :: atomic { sk > 0 && s_alive && !kill_s -> kill_s = 1; sk-- }
  :: atomic { rk > 0 && r_alive && !kill_r -> kill_r = 1; rk-- }
  od
}
#endif

init {
  byte k;
  atomic {
    for (k : 0 .. CAP - 1) { tag[k] = NONE };
    k = 0;
    run Sender();
    run Receiver();
#if S_KILLS > 0 || R_KILLS > 0
    run Killer()
#endif
  }
}
