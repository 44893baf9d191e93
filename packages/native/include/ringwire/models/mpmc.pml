// mpmc.pml: a Promela model (SPIN 6.5) of ringwire's MPMC protocol as layout.h states it.
//
// layout.h: lines 161-259 (MPMC protocol), 261-285 (Liveness and repair), 287-304 (What a death costs), 306-322 (Waking with several sleepers)
// layout.h digest: 97697ae29b79
//
// WHAT IS MODELLED. Senders (slots 0..NS-1) and receivers (slots NS..) share a ring of CAP
// units (a unit is 8 bytes; CAP 4 or 2), the claim hint C, the take position T, the release
// position R, STATE_ENDED, the slot table and the two doorbells. Positions count units and
// never wrap (no uint32 arithmetic). Each unit holds word0 (record size, or SKIP | size) and
// word1 = lap | slot | state, lap = position / CAP (the full lap number, so a header of an
// earlier lap never passes for a current one); a payload unit holds bytes that are not a
// header (state PAYLOAD) or, with ALIAS, bytes equal to the FREE header of that unit one lap
// earlier. Sender s sends M (or M0, M1) messages; message k takes 1 + bit k of SZ<s> units,
// so records wrap, skip records fill the end of the ring, and laps change. Following mpmc.h
// (MpmcSender, MpmcReceiver, MpmcEndpoint) and wait.h (EpochDoorbell):
//   - claim: C and R, the header at C; a record of C's lap there: help (CAS C past it, its size
//     from the owner's intent while CLAIMED, from word0 after); the full check; a claim that
//     would straddle the end of the ring first claims and commits a skip record to the end;
//     the free check (FREE of C's lap or RELEASED of the lap before); slot size and intent;
//     re-read of C; CAS of the header from the exact value read to lap | s | CLAIMED; the
//     check that R has not passed c (else CAS the bytes back and retry); CAS C (anyone may).
//   - commit: payload, then word1 COMMITTED; then wake receivers (ring the data doorbell).
//   - take: T and R, the header at T: CLAIMED: blocked; FREE: empty; the previous lap's
//     RELEASED (or its taken record, ring full): empty; COMMITTED/ABANDONED: slot end and
//     intent, CAS T t -> end (RUNS: the committed record after it too, a run); copy; release
//     (body FREE for the next lap, header RELEASED); if R == t CAS R on over every RELEASED
//     record of its lap, then wake senders; clear the intent. STATE_ENDED with nothing at T:
//     one more look at T before the end of the stream.
//   - repair (C++'s): a receiver blocked at a claim takes the owner's lock; if it gets it,
//     repair_claim: C moved past it, word0 = SKIP | intent size and ABANDONED at once. A sender
//     short of space: RELEASED at R: move R; a record at R taken (R < T): take the lock of every
//     receiver whose intent covers it (any live one: wait), repair_run of the lowest: release
//     what is left of its run before T, stop at a record a live receiver also covers, then R.
//     Liveness is the slot lock, which the kernel drops at death: a slot is OPEN (its lock
//     held by itself), CLOSED or DEAD (pid left, lock free until a repairer takes it).
//   - peers: with no endpoint of the other kind alive and one dead, a receiver with nothing to
//     take, and a sender with no space, stop (ERR_RINGWIRE_PEER_DEAD).
//   - doorbells: a parked bit per slot in a mask per kind; the epoch, kept exactly as "parity +
//     changed since endpoint i loaded it" (a 32-bit epoch never returns to a value in a run);
//     park = OR own bit (and clear the bits of dead slots whose lock is free), load the epoch,
//     if odd CAS it to even and load it again, re-check the condition, futex_wait while the
//     epoch still holds the value loaded, clear own bit; ring = after the publish load the
//     mask, load the epoch, CAS even -> odd and futex_wake every sleeper.
//   - deaths (DIE): at most one endpoint (DIE_MASK: which) dies at any step, asleep or not;
//     its locks are dropped; its pid, intent and parked bit stay. A sleep ends by itself (the
//     park slice) only once someone died.
//   - end: the last sender to finish (or the last alive, the application's choice) calls a plain
//     end(): STATE_ENDED, wake receivers. EARLY_END: every sender ends when it is done, so
//     another's claim can race an end() and is given up as an ABANDONED skip record (the send
//     fails). FLAG_END_WITH_LAST_SENDER is NOT modelled.
//
// WHAT IS ABSTRACTED AWAY (honestly):
//   - Memory is sequentially consistent: every ordering layout.h requires (seq_cst, acquire,
//     release) is assumed kept; no weak-memory reordering is explored.
//   - Steps merged into one atomic step, where only the merged process could tell them apart:
//     C and R (and T and R) are loaded as one snapshot (mpmc.h loads them one after the other;
//     the order only matters for a stale C or T, which the CAS after catches anyway); the
//     payload write with the COMMITTED store; the copy with the release stores (body FREE,
//     header RELEASED, and without deaths the intent clear); the slot's size with its intent;
//     without deaths a receiver's intent with its CAS on T (only repairers read it); the CAS
//     on the epoch with the futex wake; R with the header at R in repair_at_release; a
//     header read with the load of R that validates it; covers() with the lock attempt;
//     advance_release's first look at the header the releaser itself just stored. Without ALIAS
//     the re-read of C, the claim CAS and the R check are one step (no payload looks free, so
//     a claimer a lap late cannot win its CAS: asserted); with ALIAS they are three steps.
//   - Configurations with ABSTRACT_PARK replace the doorbell by an ideal one (sleep until the
//     condition holds) and the park slice by an oracle (a sleep ends by itself only when a dead
//     endpoint holds the sleeper up: a claim at T, R held by a record a dead receiver took or
//     released, or no live peer and a dead one). The doorbell itself is checked in the park-*
//     and wake-* configurations, on smaller rings and fewer messages.
//   - Not modelled: spinning before parking and the 50/100 ms rate limits (repair and peer
//     checks happen before every park); semaphores and their token give-back (futex only);
//     spurious futex returns; batches of claims by one sender; giving a run back (CAS T back);
//     poll() holding records across calls; endpoints opening into a dead slot (repair_slot),
//     closing before the end, or more than one death; FLAG_END_WITH_LAST_SENDER; fragments;
//     message counters, pids, threads; uint32 wrap-around; peers that write nonsense.
//   - Payload is one ghost value per unit (the message id), checked when copied.
//
// PROPERTIES (assertions are named at each; the Checker process runs once every endpoint has
// finished or died):
//   - at most once: a message is taken by one CAS on T and delivered at most once (took(),
//     consume(), Checker); no loss: every committed message is delivered, except one a
//     receiver took and had not released when it died (layout.h: lost, at most once), or one
//     committed when no receiver is left; a message never committed is never taken; without
//     deaths (and without EARLY_END) every message is delivered exactly once; a live sender
//     sends all its messages.
//   - per-sender order in T order: each sender's messages are taken (CAS on T) in its order.
//   - no read of an unwritten or released record: a taken record is COMMITTED of its lap and
//     its payload is what its sender wrote, unreleased, when copied; a sender never claims
//     space before R or more than a ring past it; R <= T <= C <= R + capacity.
//   - the "corrupt" checks of mpmc.h (suspect(): impossible header while the position still
//     stands there; an impossible run or claim size) never fire with honest peers.
//   - LTL wake (weak fairness): an endpoint asleep while the condition it re-checked holds
//     (receiver: T moved or the header at T changed, or the stream ended with nothing at T;
//     sender: R moved) is eventually woken. A committed record at T implies that condition.
//   - LTL done (weak fairness): every endpoint finishes (no livelock; with deaths, repairs and
//     slices unblock everyone). Safety runs also check for deadlocks (invalid end states).
//
// MUTATIONS (each must be rejected; what it weakens):
//   NO_RECHECK              the parker sleeps without re-checking after arming: lost wake-up (wake).
//   FLAG_NOT_EPOCH          a 0/1 flag instead of an epoch: a receiver re-arming (1 -> 0) between
//                           a ring and another's futex_wait swallows that one's wake (wake).
//   NO_R_CHECK              (ALIAS) no check that R has not passed c after the claim CAS: a claimer
//                           a lap late claims payload bytes and writes over a live record.
//   SKIP_REPAIR_ABANDON     a dead sender's claim at T is not turned into a skip: receivers are
//                           stuck behind it for ever (done).
//   REPAIR_NO_C             repair_claim does not move C past the claim: T passes C.
//   NO_BODY_REWRITE         release does not rewrite the body FREE: stale payload reads as a header.
//   COMMIT_BEFORE_PAYLOAD   COMMITTED stored before the payload: a receiver copies unwritten bytes.
//   CLAIM_INTENT_AFTER_CAS  the claimer's size and intent stored after its CAS: a helper finds a
//                           claim it cannot size.
//   TAKE_INTENT_AFTER_CAS   (DIE) a receiver's intent stored after its CAS on T: a record it took
//                           and died holding is never released; R is stuck (deadlock).
//   REPAIR_IGNORES_LIVE     (DIE) a repairer releases records a live receiver also covers: the live
//                           receiver copies a released record.
//   NO_END_REREAD           a receiver ends at STATE_ENDED without one more look at T: loses the
//                           last message.
//   CXX_READY_AT_TAKE       (DIE) the PEER_DEAD decision as mpmc.h's recv() and mpmc.ts's
//                           checkLiveness() made it before FINDINGS 1 was fixed: a claim at T
//                           counts as "nothing to take" (a committed message is never delivered).
//   NO_KNOWN_LIMIT_ALLOWANCE (ALIAS) not a weakening: the copy check without the known-limit
//                           allowance, to show that layout.h's known limit is reachable here.
//   NO_C_REREAD is defined too but not listed: under interleaving semantics it is not
//   observable (see FINDINGS).
//
// FINDINGS.
//   1. PEER_DEAD with a message left: found by this model, and fixed in mpmc.h (MpmcReceiver::recv)
//      and mpmc.ts (MpmcReceiverProtocol.checkLiveness): PEER_DEAD only with nothing at T.
//      layout.h: "With no sender left and one dead, receivers' waits fail with
//      ERR_RINGWIRE_PEER_DEAD once they have taken everything." The receiver decided on a
//      take() that found nothing at T, then looked at the peers and at T again, and counted a
//      CLAIMED record at T as not ready (C++ ready_at_take(), TypeScript's final isReady()).
//      Trail (mutant cxx-ready-at-take, 2 senders, 1 receiver): the receiver finds T = 0 FREE
//      (empty); sender 1 claims 0 and moves C; sender 0 claims 1, commits its message, finishes
//      and closes; sender 1 dies holding its claim; the receiver's liveness check finds no live
//      sender, a dead one and a claim at T, and threw PEER_DEAD: sender 0's committed message
//      stayed behind the dead claim, never delivered. Now, as here and in layout.h, a claim at
//      T is "go round" (recv() takes again, finds it blocked and repairs it; mpmc.ts repairs it
//      in the same check); the stream's end or a record at T goes round too. Tests:
//      test/stress_mpmc.cc (repair, claim_between_looks) and core's test/mpmc.test.ts ("a dead
//      sender's claim that appears at T ..."). The mutant keeps the old decision: still rejected.
//   2. The known limit (layout.h: "a reader copying that record during the instant between
//      the two CASes") is reachable in the ALIAS model (mutant no-known-limit-allowance):
//      a claimer re-reads C == c, pauses; the other sender fills the ring (a skip record, then a
//      2-unit record whose payload unit is c's unit a lap later and looks like FREE of c's lap);
//      the receiver takes it; the stale CAS succeeds on the payload; the receiver copies it
//      before the claimer's R check puts the bytes back. Nothing else goes wrong (check alias).
//   3. The re-read of C before the claim CAS only narrows a timing window: removing it
//      (NO_C_REREAD) changes no reachable outcome under interleaving semantics, since a claimer
//      may pause between the re-read and the CAS as well as before the re-read; the R check
//      after the CAS is what keeps a stale claim harmless (NO_R_CHECK fails).
//
// CONFIGURATIONS. -DNS/-DNR (2+1 or 1+2), -DCAP, -DM or -DM0/-DM1, -DSZ0/-DSZ1, -DDIE
// [-DDIE_MASK], -DABSTRACT_PARK, -DRUNS, -DALIAS, -DEARLY_END; mutations -DMUT_<NAME>.
// Checks. Data path with the ideal doorbell (ABSTRACT_PARK): 2 senders + 1 receiver, 1 + 2,
// with deaths, runs, ALIAS, EARLY_END. Then the doorbell itself (park-*: safety and deadlock;
// wake-*: LTL wake), with and without a death. done-*: LTL done.
//@ check s2r1 -DABSTRACT_PARK cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE cc:-DMEMLIM=1024 : -m200000
//@ check s1r2 -DNS=1 -DNR=2 -DM=3 -DSZ0=5 -DABSTRACT_PARK cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE cc:-DMEMLIM=1024 : -m200000
//@ check s2r1-die -DDIE -DM0=1 -DM1=2 -DABSTRACT_PARK cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE cc:-DMEMLIM=1024 : -m200000
//@ check s2r1-die-b -DDIE -DM0=2 -DM1=1 -DABSTRACT_PARK cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE cc:-DMEMLIM=1024 : -m200000
//@ check s1r2-die -DDIE -DNS=1 -DNR=2 -DCAP=2 -DM=2 -DSZ0=2 -DABSTRACT_PARK cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE cc:-DMEMLIM=1024 : -m200000
//@ check runs-rdie -DRUNS -DDIE -DDIE_MASK=6 -DNS=1 -DNR=2 -DCAP=2 -DM=3 -DSZ0=4 -DABSTRACT_PARK cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE cc:-DMEMLIM=1024 : -m200000
//@ check alias -DALIAS -DCAP=2 -DM0=2 -DM1=2 -DSZ0=0 -DSZ1=2 -DABSTRACT_PARK cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE cc:-DMEMLIM=1024 : -m200000
//@ check early-end -DEARLY_END -DABSTRACT_PARK cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE cc:-DMEMLIM=1024 : -m200000
//@ check done-s2r1-die -DDIE -DM0=1 -DM1=2 -DABSTRACT_PARK cc:-DCOLLAPSE cc:-DMEMLIM=1024 : -a -f -m200000 -N done
//@ check done-s2r1-die-b -DDIE -DM0=2 -DM1=1 -DABSTRACT_PARK cc:-DCOLLAPSE cc:-DMEMLIM=1024 : -a -f -m200000 -N done
//@ check done-s1r2-sdie -DDIE -DDIE_MASK=1 -DNS=1 -DNR=2 -DCAP=2 -DM=2 -DSZ0=2 -DABSTRACT_PARK cc:-DCOLLAPSE cc:-DMEMLIM=1024 : -a -f -m200000 -N done
//@ check done-s1r2-rdie -DDIE -DDIE_MASK=6 -DNS=1 -DNR=2 -DCAP=2 -DM=2 -DSZ0=2 -DABSTRACT_PARK cc:-DCOLLAPSE cc:-DMEMLIM=1024 : -a -f -m200000 -N done
//@ check park-s2r1 -DCAP=2 -DM=1 -DSZ0=1 -DSZ1=1 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE cc:-DMEMLIM=1024 : -m200000
//@ check park-s1r2 -DNS=1 -DNR=2 -DCAP=2 -DM=2 -DSZ0=3 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE cc:-DMEMLIM=1024 : -m200000
//@ check wake-s2r1 -DCAP=2 -DM=1 -DSZ0=1 -DSZ1=1 cc:-DCOLLAPSE cc:-DMEMLIM=1024 : -a -f -m200000 -N wake
//@ check wake-s1r2 -DNS=1 -DNR=2 -DCAP=2 -DM=2 -DSZ0=3 cc:-DCOLLAPSE cc:-DMEMLIM=1024 : -a -f -m200000 -N wake
//@ check park-s2r1-die -DDIE -DCAP=2 -DM=1 -DSZ0=1 -DSZ1=1 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE cc:-DMEMLIM=1024 : -m200000
//@ check park-s1r2-rdie -DDIE -DDIE_MASK=6 -DNS=1 -DNR=2 -DCAP=2 -DM=1 -DSZ0=1 cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE cc:-DMEMLIM=1024 : -m200000
//@ check done-park-s2r1-die -DDIE -DCAP=2 -DM=1 -DSZ0=1 -DSZ1=1 cc:-DCOLLAPSE cc:-DMEMLIM=1024 : -a -f -m200000 -N done
//@ check done-park-s1r2-rdie -DDIE -DDIE_MASK=6 -DNS=1 -DNR=2 -DCAP=2 -DM=1 -DSZ0=1 cc:-DCOLLAPSE cc:-DMEMLIM=1024 : -a -f -m200000 -N done
// Mutants (see MUTATIONS above).
//@ mutant no-recheck -DMUT_NO_RECHECK -DCAP=2 -DM=1 -DSZ0=1 -DSZ1=1 : -a -f -m200000 -N wake
//@ mutant flag-not-epoch -DMUT_FLAG_NOT_EPOCH -DNS=1 -DNR=2 -DCAP=2 -DM=1 -DSZ0=1 : -a -f -m200000 -N wake
//@ mutant no-r-check -DMUT_NO_R_CHECK -DALIAS -DCAP=2 -DM0=2 -DM1=2 -DSZ0=0 -DSZ1=2 -DABSTRACT_PARK cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m200000
//@ mutant skip-repair-abandon -DMUT_SKIP_REPAIR_ABANDON -DDIE -DM0=1 -DM1=2 -DABSTRACT_PARK : -a -f -m200000 -N done
//@ mutant repair-no-c -DMUT_REPAIR_NO_C -DDIE -DM0=1 -DM1=2 -DABSTRACT_PARK cc:-DSAFETY cc:-DNOCLAIM : -m200000
//@ mutant no-body-rewrite -DMUT_NO_BODY_REWRITE -DABSTRACT_PARK cc:-DSAFETY cc:-DNOCLAIM : -m200000
//@ mutant commit-before-payload -DMUT_COMMIT_BEFORE_PAYLOAD -DABSTRACT_PARK cc:-DSAFETY cc:-DNOCLAIM : -m200000
//@ mutant claim-intent-after-cas -DMUT_CLAIM_INTENT_AFTER_CAS -DABSTRACT_PARK cc:-DSAFETY cc:-DNOCLAIM : -m200000
//@ mutant take-intent-after-cas -DMUT_TAKE_INTENT_AFTER_CAS -DDIE -DDIE_MASK=6 -DNS=1 -DNR=2 -DCAP=2 -DM=2 -DSZ0=2 -DABSTRACT_PARK cc:-DSAFETY cc:-DNOCLAIM : -m200000
//@ mutant repair-ignores-live -DMUT_REPAIR_IGNORES_LIVE -DDIE -DDIE_MASK=6 -DNS=1 -DNR=2 -DCAP=2 -DM=2 -DSZ0=2 -DABSTRACT_PARK cc:-DSAFETY cc:-DNOCLAIM : -m200000
//@ mutant no-end-reread -DMUT_NO_END_REREAD -DABSTRACT_PARK cc:-DSAFETY cc:-DNOCLAIM : -m200000
//@ mutant cxx-ready-at-take -DMUT_CXX_READY_AT_TAKE -DDIE -DM0=1 -DM1=2 -DABSTRACT_PARK cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m200000
//@ mutant no-known-limit-allowance -DMUT_NO_KNOWN_LIMIT_ALLOWANCE -DALIAS -DCAP=2 -DM0=2 -DM1=2 -DSZ0=0 -DSZ1=2 -DABSTRACT_PARK cc:-DSAFETY cc:-DNOCLAIM cc:-DCOLLAPSE : -m200000

/* ------------------------------------------------------------------ parameters */
#ifndef CAP
#define CAP 4            /* ring units (one unit = 8 bytes) */
#endif
#ifndef NS
#define NS 2             /* senders: slots 0..NS-1 */
#endif
#ifndef NR
#define NR 1             /* receivers: slots NS..NS+NR-1 */
#endif
#define N (NS + NR)
#ifndef M
#define M 2              /* messages per sender ... */
#endif
#ifndef M0
#define M0 M             /* ... or per sender: M0, M1 */
#endif
#ifndef M1
#define M1 M
#endif
#if NS > 1
#define NMSG (M0 + M1)
#else
#define NMSG M0
#endif
#define MCOUNT(s) ((s) == 0 -> M0 : M1)
/* Record size in units of message k of sender s: 1 + bit k of SZ<s> (so 1 or 2). */
#ifndef SZ0
#define SZ0 1            /* sender 0: 2, 1, 1, ... */
#endif
#ifndef SZ1
#define SZ1 2            /* sender 1: 1, 2, 1, ... */
#endif
#define SIZE_OF(s, k) (1 + ((((s) == 0 -> SZ0 : SZ1) >> (k)) & 1))
/* MUT_REPAIR_IGNORES_LIVE: a repairer releases a run although a live receiver covers it too */
#ifdef MUT_REPAIR_IGNORES_LIVE
#define IGNORE_LIVE 1
#else
#define IGNORE_LIVE 0
#endif
/* MUT_NO_KNOWN_LIMIT_ALLOWANCE (ALIAS): the copy check without layout.h's known-limit allowance */
#ifdef MUT_NO_KNOWN_LIMIT_ALLOWANCE
#define STRICT_COPY 1
#endif
#ifndef STRICT_COPY
#define STRICT_COPY 0
#endif

/* ------------------------------------------------------------------ constants */
#define FREE 0
#define CLAIMED 1
#define COMMITTED 2
#define RELEASED 3
#define ABANDONED 4
#define PAYLOAD 7        /* not a header: payload bytes (never a valid state) */
#define SKIPF 128        /* word0: SKIP | size */

#define OPEN 0
#define CLOSED 1
#define DEAD 2

#define DATA 0           /* receivers park on the data epoch */
#define SPACE 1          /* senders park on the space epoch */

#define MESSAGE 0
#define EMPTY 1
#define BLOCKED 2

#define NONE 255

#define LAP(p) ((p) / CAP)
#define OFF(p) ((p) % CAP)
#define ROOM(p) (CAP - OFF(p))

/* How a payload unit looks if read as a header. By default it is not a header (PAYLOAD).
 * ALIAS: its bytes equal the FREE header of the unit one lap earlier, exactly what a claimer
 * that read C a lap ago expects (layout.h: "whose payload bytes could happen to equal the
 * free header it expects"). */
#ifdef ALIAS
#define PAYST FREE
#define PAYLAP(p) ((LAP(p) + 255) % 256)
#else
#define PAYST PAYLOAD
#define PAYLAP(p) (LAP(p))
#endif

/* An epoch word is a counter that never returns to a value (32 bits, no wrap in a run):
 * "the word still holds the value I loaded" is "nobody changed it since my load". So the model
 * keeps its parity (even: armed, odd: signalled) and, per endpoint, whether it changed since
 * that endpoint last loaded it: exact, and bounded. MUT_FLAG_NOT_EPOCH: a 0/1 flag instead,
 * where "still holds the value" compares values only (a signal and a re-arm in between look
 * like no change). */
#define LOAD_EPOCH(kd, v) v = epar[kd]; echg[(kd) * N + me] = 0
#ifdef MUT_FLAG_NOT_EPOCH
#define EPOCH_IS(kd, v) (epar[kd] == (v))
#else
#define EPOCH_IS(kd, v) (echg[(kd) * N + me] == 0)
#endif
#define END_EPOCH(kd) echg[(kd) * N + me] = 1   /* done comparing: canonical value */
#define BUMP_EPOCH(kd) \
    epar[kd] = 1 - epar[kd]; \
    i_ = 0; do :: i_ < N -> echg[(kd) * N + i_] = 1; i_++ :: else -> break od; i_ = 0

/* ------------------------------------------------------------------ shared state */
byte C, T, R;                    /* claim hint, take, release positions (in units) */
bit ended;                       /* state: STATE_ENDED */
/* ring units: word0 (size | SKIPF), word1 = lap | slot | state, and the payload value (ghost) */
byte uw0[CAP];
byte ulap[CAP];
byte uslot[CAP];
byte ust[CAP];
byte uval[CAP];                  /* ghost: message id whose bytes the unit holds */
/* slot table */
byte st[N];                      /* OPEN (lock held by itself), CLOSED, DEAD (pid left, lock free) */
byte lockh[N];                   /* 0, or holder + 1 once someone else took the free lock */
byte ipos[N];                    /* intent position ... */
bit iok[N];                      /* ... | INTENT_VALID */
byte isz[N];                     /* sender: size of its claim; receiver: end of its run */
/* waking */
byte pmask[2];                   /* parked masks: [DATA] receivers, [SPACE] senders */
bit epar[2];                     /* data and space epochs: parity (even: armed, odd: signalled) */
bit echg[2 * N] = 1;             /* [kd * N + i]: changed since endpoint i loaded it (1 when not comparing) */
bit asleep[N];                   /* in futex_wait */
/* deaths */
byte deaths;
/* application bookkeeping */
byte sdone, sdead, rdead, nfin;

/* ghost state for the properties */
byte msgst[NMSG + 1];            /* 0 not committed, 2 committed, 3 send failed (EARLY_END: ended) */
byte dlv[NMSG + 1];              /* times handed out */
byte takenby[NMSG + 1];          /* receiver slot + 1 whose CAS on T took it */
byte lastk[NS];                  /* per sender: index + 1 of its last message taken (T order) */
byte known_limit;                /* ALIAS: copies made while a stale claim marked the bytes */
bit stalemark[CAP];              /* ALIAS: unit carries a stale claimer's CLAIMED mark */

/* what a parked endpoint waits for (its re-check), for the LTL properties */
byte svt[N];
byte svw0[N];
byte svlap[N];
byte svslot[N];
byte svst[N];
bit svempty[N];
byte svr[N];

/* message ids: sender 0's k-th is k + 1, sender 1's k-th is M0 + k + 1 */
#define MSG_SENDER(m) ((m) > M0)
#define MSG_INDEX(m) ((m) - 1 - ((m) > M0 -> M0 : 0))

/* the unit at position p equals the header read into hw0..hst */
#define UNIT_IS(p) (uw0[OFF(p)] == hw0 && ulap[OFF(p)] == hlap && uslot[OFF(p)] == hslot && ust[OFF(p)] == hst)
#define READ_UNIT(p) hw0 = uw0[OFF(p)]; hlap = ulap[OFF(p)]; hslot = uslot[OFF(p)]; hst = ust[OFF(p)]
#define SET_UNIT(p, w0, lp, sl, s) uw0[OFF(p)] = w0; ulap[OFF(p)] = lp; uslot[OFF(p)] = sl; ust[OFF(p)] = s

/* whether receiver slot y's intent (a taken run) covers position p */
#define COVERS(y, p) (iok[y] && (p) >= ipos[y] && isz[y] > (p))
/* a slot's lock can be taken: its holder died or closed, and no one else holds it now */
#define LOCK_FREE(y) (st[y] != OPEN && lockh[y] == 0)
/* the park slice: a sleep may end by itself only once someone died (what the slice is for) */
#define SLICE (deaths > 0)

/* the parkers' re-check conditions (C++: MpmcReceiver::recv's `moved`, MpmcSender::send's
 * `space_came_back`), over the values saved in sv*[] */
#define RCOND(i) (T != svt[i] || uw0[OFF(svt[i])] != svw0[i] || ulap[OFF(svt[i])] != svlap[i] || \
                  uslot[OFF(svt[i])] != svslot[i] || ust[OFF(svt[i])] != svst[i] || (svempty[i] && ended))
#define SCOND(i) (R != svr[i])

/* ------------------------------------------------------------------ deaths */

/* DIE: at most one endpoint dies, at any step (DIE_MASK: the slots that may, a bit each).
 * A death is the victim's own move, offered before each of its steps that touches shared
 * memory (every `atomic { DIEPT ...`) and while it sleeps (BLOCK_OR_DIE): between two such
 * steps it touches only its own registers, so this is dying at any instant. The kernel's
 * part: its locks (its slot's and any it took to repair) are dropped; its pid, intent and
 * parked bit stay. */
#ifdef DIE
#ifndef DIE_MASK
#define DIE_MASK 7
#endif
#else
#define DIE_MASK 0
#endif
#define CANDIE(v) ((DIE_MASK >> (v)) & 1)

#define KILL(v) \
  st[v] = DEAD; deaths++; nfin++; \
  i_ = 0; do :: i_ < N -> if :: lockh[i_] == v + 1 -> lockh[i_] = 0 :: else fi; i_++ :: else -> break od; i_ = 0; \
  if :: v < NS -> sdead++ :: else -> rdead++ fi

#ifdef DIE
#define DIEPT if :: CANDIE(me) && deaths == 0 -> KILL(me); goto dead :: skip fi;
#define BLOCK_OR_DIE(g) if :: CANDIE(me) && deaths == 0 -> KILL(me); goto dead :: g -> skip fi
#else
#define DIEPT
#define BLOCK_OR_DIE(g) g
#endif

/* ------------------------------------------------------------------ waking */

/* futex_wake(word, INT_MAX): every endpoint asleep on that word */
#define WAKE(kd) \
    i_ = 0; \
    do \
    :: i_ < N -> if :: (kd == DATA && i_ >= NS) || (kd == SPACE && i_ < NS) -> asleep[i_] = 0 :: else fi; i_++ \
    :: else -> break \
    od; \
    i_ = 0

/* EpochDoorbell::ring, after the caller's seq_cst publish: load the masks; if anyone is
 * parked, load the epoch, and if it is even CAS it to odd and wake every sleeper (the futex
 * wake is folded into the successful CAS: a sleeper that sleeps after the CAS compares an
 * epoch that moved on and does not sleep). */
inline ring(kd) {
  atomic { DIEPT rm = pmask[kd] }
  if
  :: rm != 0 ->
     atomic { DIEPT LOAD_EPOCH(kd, re); if :: (re & 1) -> END_EPOCH(kd) :: else fi }
     if
     :: (re & 1) == 0 ->
        atomic { DIEPT if :: EPOCH_IS(kd, re) -> BUMP_EPOCH(kd); WAKE(kd) :: else fi; END_EPOCH(kd) }
     :: else
     fi
  :: else
  fi;
  d_step { rm = 0; re = 0 }
}

/* slots.h clear_dead_parked: clear the bits of slots whose holder died parked (their lock
 * free), folded into the parker's own OR (both are read-modify-writes of the masks) */
#define CLEAR_DEAD_PARKED \
    i_ = 0; \
    do \
    :: i_ < N -> \
       if :: i_ != me && st[i_] == DEAD && lockh[i_] == 0 -> \
             pmask[DATA] = pmask[DATA] & ~(1 << i_); pmask[SPACE] = pmask[SPACE] & ~(1 << i_) \
       :: else fi; \
       i_++ \
    :: else -> break \
    od; \
    i_ = 0

/* MpmcEndpoint::park = EpochDoorbell::arm, the caller's re-check COND, sleep, clear. */
#define SAVE_WAIT(kd) \
    if \
    :: kd == DATA -> svt[me] = t; svw0[me] = hw0; svlap[me] = hlap; svslot[me] = hslot; svst[me] = hst; \
                     svempty[me] = (tk == EMPTY) \
    :: else -> svr[me] = fullr \
    fi
#define CLEAR_WAIT \
    svt[me] = 0; svw0[me] = 0; svlap[me] = 0; svslot[me] = 0; svst[me] = 0; svempty[me] = 0; svr[me] = 0

#ifdef ABSTRACT_PARK
/* The doorbell abstracted: a parked endpoint sleeps until its condition holds (or, once
 * someone died, until a slice runs out). Used where the data path is the subject; the
 * configurations without ABSTRACT_PARK check the doorbell itself. */
#define RCONDL (T != t || uw0[OFF(t)] != hw0 || ulap[OFF(t)] != hlap || uslot[OFF(t)] != hslot || \
                ust[OFF(t)] != hst || (tk == EMPTY && ended))
#define SCONDL (R != fullr)
/* The slice, abstracted: a sleep ends by itself only when the sleeper is held up by a dead
 * endpoint, which is what the slice is for (layout.h: "check the owner's lock before every
 * park and after every park slice"; ERR_RINGWIRE_PEER_DEAD): a receiver at a claim whose
 * sender is dead, or with no live sender and one dead; a sender whose R is held by a record
 * a dead receiver took or released, or with no live receiver and one dead. */
#define ALL_SENDERS_GONE (st[0] != OPEN && (NS < 2 || st[1] != OPEN))
#define ALL_RECEIVERS_GONE (st[N - 1] != OPEN && (NR < 2 || st[N - 2] != OPEN))
#define DEAD_COVERS_R(y) (y >= NS && st[y] == DEAD && COVERS(y, R))
#define SLICE_R (deaths > 0 && \
                 ((ulap[OFF(T)] == LAP(T) && ust[OFF(T)] == CLAIMED && st[uslot[OFF(T)]] == DEAD) || \
                  (ALL_SENDERS_GONE && sdead > 0)))
#define SLICE_S (deaths > 0 && \
                 ((ulap[OFF(R)] == LAP(R) && ust[OFF(R)] == RELEASED && st[uslot[OFF(R)]] == DEAD) || \
                  (R < T && ulap[OFF(R)] == LAP(R) && (DEAD_COVERS_R(1) || DEAD_COVERS_R(2))) || \
                  (ALL_RECEIVERS_GONE && rdead > 0)))
inline park(kd, COND) {
  if
  :: kd == DATA -> atomic { BLOCK_OR_DIE(RCONDL || SLICE_R) }
  :: else -> atomic { BLOCK_OR_DIE(SCONDL || SLICE_S) }
  fi
}
#else
inline park(kd, COND) {
  atomic { DIEPT
    SAVE_WAIT(kd);                                                   /* (ghost: what it waits for) */
    CLEAR_DEAD_PARKED;
    pmask[kd] = pmask[kd] | (1 << me)                                /* OR own bit (seq_cst) */
  }
  atomic { DIEPT LOAD_EPOCH(kd, pe) }                                      /* load the epoch */
  if
  :: (pe & 1) ->                                                     /* odd: signalled */
     atomic { DIEPT if :: EPOCH_IS(kd, pe) -> BUMP_EPOCH(kd) :: else fi }   /* CAS to the next even */
     /* and load it again; still odd: a wake came in between, re-check instead of sleeping */
     atomic { DIEPT LOAD_EPOCH(kd, pe); cnd = (pe & 1); if :: cnd -> END_EPOCH(kd) :: else fi }
  :: else
  fi;
  if
  :: !cnd ->
#ifdef MUT_NO_RECHECK
     skip;                                                           /* MUTATION: no re-check */
#else
     atomic { DIEPT cnd = (COND); if :: cnd -> END_EPOCH(kd) :: else fi }   /* re-check the condition */
#endif
     if
     :: !cnd ->
        /* futex_wait(word, pe): sleeps only while the word still holds pe */
        atomic { DIEPT if :: EPOCH_IS(kd, pe) -> asleep[me] = 1 :: else -> cnd = 1 fi; END_EPOCH(kd) }
     :: else
     fi
  :: else
  fi;
  if
  :: cnd -> atomic { DIEPT pmask[kd] = pmask[kd] & ~(1 << me); CLEAR_WAIT }   /* clear own bit */
  :: else ->
     if                                                              /* asleep until woken */
     :: atomic { BLOCK_OR_DIE(asleep[me] == 0); pmask[kd] = pmask[kd] & ~(1 << me); CLEAR_WAIT }
     :: atomic { SLICE && asleep[me] -> asleep[me] = 0; pmask[kd] = pmask[kd] & ~(1 << me); CLEAR_WAIT }  /* slice ran out */
     fi
  fi;
  d_step { pe = 0; cnd = 0 }
}
#endif

/* ------------------------------------------------------------------ release */

/* release_record: the body rewritten FREE for the next lap, then the header RELEASED (seq_cst).
 * One step: the body is the releaser's own until the RELEASED store publishes it. */
#ifdef MUT_NO_BODY_REWRITE
#define REWRITE_BODY(p, sz) skip
#else
#define REWRITE_BODY(p, sz) \
    if \
    :: sz == 2 -> SET_UNIT(p + 1, 0, LAP(p) + 1, 0, FREE); uval[OFF(p + 1)] = 0; stalemark[OFF(p + 1)] = 0 \
    :: else \
    fi
#endif
#define RELEASE_REC(p, w0v, sz, owner) \
    REWRITE_BODY(p, sz); \
    SET_UNIT(p, w0v, LAP(p), owner, RELEASED); stalemark[OFF(p)] = 0

/* advance_release from ar: while the header at R is RELEASED of its lap, CAS R past it */
inline advance_release() {
  moved = 0;
  do
  :: if
     :: known -> known = 0; ok_ = 1                                  /* our own record, just released */
     :: else -> atomic { DIEPT aw0 = uw0[OFF(ar)]; ok_ = (ulap[OFF(ar)] == LAP(ar) && ust[OFF(ar)] == RELEASED) }
     fi;
     if
     :: ok_ ->
        asz = aw0 & 127;
        if
        :: asz >= 1 && asz <= ROOM(ar) ->
           atomic { DIEPT
             if
             :: R == ar -> R = ar + asz; ok_ = 1;
                assert(R <= T)                                       /* R <= T: space is freed only behind takes */
             :: else -> ok_ = 0
             fi
           }
           if :: ok_ -> moved = 1; ar = ar + asz :: else -> break fi
        :: else ->
           atomic { DIEPT assert(R != ar) };                               /* suspect(): corrupt if R still there */
           break
        fi
     :: else -> break
     fi
  od;
  skip;
  d_step { ar = 0; aw0 = 0; asz = 0; ok_ = 0 }
  if :: moved -> ring(SPACE) :: else fi
  /* the caller reads and resets `moved` */
}

/* ------------------------------------------------------------------ locks */

inline adopt(y) {
  atomic { DIEPT if :: LOCK_FREE(y) && y != me -> lockh[y] = me + 1; got = 1 :: else -> got = 0 fi }
}
inline disown() {
  d_step {
    i_ = 0;
    do
    :: i_ < N -> if :: (held >> i_) & 1 -> assert(lockh[i_] == me + 1); lockh[i_] = 0 :: else fi; i_++   /* we hold what we release */
    :: else -> break
    od;
    i_ = 0; held = 0
  }
}

/* ------------------------------------------------------------------ repair (senders) */

/* repair_run(x): slot x (its lock held: dead) took a run and died before releasing it all:
 * release what is left of it, from R or the run's start up to its end or T; a record a live
 * receiver covers too stops it. Then move R. */
inline repair_run(x) {
  atomic { DIEPT ok_ = iok[x]; rs = ipos[x]; rend = isz[x] }
  if
  :: ok_ ->
     assert(rend > rs && rend - rs <= CAP);                           /* else: impossible run (corrupt) */
     atomic { DIEPT rt = T }
     p_ = rs; whole = 1;
     do
     :: atomic { DIEPT if :: R > p_ -> p_ = R :: else fi }                 /* records before R are released */
        if
        :: rend <= p_ || rt <= p_ -> break
        :: else ->
           atomic { DIEPT READ_UNIT(p_); again = (R > p_) }                 /* the header, read while R <= p */
           if
           :: again -> skip                                          /* R moved meanwhile: look again */
           :: else ->
              sz_ = hw0 & 127;
              /* corrupt otherwise: a run holds only records of its lap, taken (not CLAIMED) */
              assert(hlap == LAP(p_) && hst != FREE && hst != CLAIMED && hst <= ABANDONED &&
                     sz_ >= 1 && sz_ <= ROOM(p_));
              if
              :: hst == COMMITTED || hst == ABANDONED ->
                 /* whoever else covers it must be dead too */
                 live = 0; y_ = NS;
                 do
                 :: y_ < N && !live ->
                    atomic { DIEPT                                         /* covers(y, p), then its lock */
                      if
                      :: y_ != x && y_ != me && ((held >> y_) & 1) == 0 && COVERS(y_, p_) ->
                         if :: LOCK_FREE(y_) -> lockh[y_] = me + 1; held = held | (1 << y_) :: else -> live = !IGNORE_LIVE fi
                      :: else
                      fi
                    }
                    y_++
                 :: else -> break
                 od;
                 y_ = 0; cov = 0; got = 0;
                 if
                 :: live -> whole = 0; break
                 :: else ->
                    /* still not released (compare, then release: x's lock and every coverer's are
                     * ours, so nobody else writes it): release it, its message lost; else look again */
                    atomic { DIEPT if :: UNIT_IS(p_) -> RELEASE_REC(p_, hw0, sz_, x); p_ = p_ + sz_ :: else fi }
                 fi
              :: else -> p_ = p_ + sz_                               /* RELEASED already */
              fi
           fi
        fi
     od;
     if :: whole -> atomic { DIEPT iok[x] = 0 } :: else fi
  :: else
  fi;
  d_step { ok_ = 0; rs = 0; rend = 0; rt = 0; p_ = 0; whole = 0; again = 0; sz_ = 0; live = 0 }
  atomic { DIEPT ar = R };
  advance_release();
  moved = 0
}

/* MpmcSender::repair_at_release: waiting for space, R may be held by a RELEASED record whose
 * releaser died before moving R, or by a record taken by a dead receiver. rep: R moved. */
inline repair_at_release() {
  rep = 0;
  atomic { DIEPT rr = R; READ_UNIT(rr) }      /* R and the header at R (C++ re-reads R to check: one snapshot) */
  if
  :: true ->
     if
     :: hlap == LAP(rr) && hst == RELEASED ->
        ar = rr; advance_release(); rep = moved; moved = 0
     :: hlap == LAP(rr) && (hst == COMMITTED || hst == ABANDONED) ->
        atomic { DIEPT rt = T }
        if
        :: rt > rr ->                                              /* taken: some receiver covers it */
           lowest = NONE; y_ = NS; failed = 0;
           do
           :: y_ < N ->
              atomic { DIEPT                                               /* covers(y, r), then its lock */
                if
                :: y_ != me && COVERS(y_, rr) ->
                   if
                   :: LOCK_FREE(y_) -> lockh[y_] = me + 1; held = held | (1 << y_); if :: lowest == NONE -> lowest = y_ :: else fi
                   :: else -> failed = !IGNORE_LIVE                    /* alive (still copying): wait */
                   fi
                :: else
                fi
              };
              if :: failed -> break :: else fi;
              y_++
           :: else -> break
           od;
           y_ = 0; cov = 0; got = 0;
           if
           :: !failed && lowest != NONE ->
              atomic { DIEPT cov = (UNIT_IS(rr) && COVERS(lowest, rr)) }
              if
              :: cov -> cov = 0; repair_run(lowest); atomic { DIEPT rep = (R != rr) }
              :: else
              fi
           :: else
           fi;
           disown();
           lowest = 0; failed = 0; cov = 0
        :: else
        fi
     :: else
     fi
  fi;
  d_step { rr = 0; hw0 = 0; hlap = 0; hslot = 0; hst = 0; rt = 0 }
}

/* ------------------------------------------------------------------ claim (senders) */

/* MpmcSender::claim(size): cres = 1 with the record claimed at c, or 0 (ring full, fullr = the
 * R that said so). A claim that would straddle the end of the ring first claims and commits a
 * skip record to the end. */
inline claim() {
  do
  :: atomic { DIEPT c = C; r = R }        /* C, then R (one snapshot: see "abstractions"), then the header */
     if
     :: r > c -> atomic { DIEPT assert(C != c) }                           /* our C was stale (R past it) */
     :: else ->
        assert(c - r <= CAP);                                        /* C <= R + capacity */
        atomic { DIEPT READ_UNIT(c) }
        if
        :: hlap == LAP(c) && hst != FREE ->
           /* a record of this lap at C: claimed already, C not yet moved past it: help */
           if
           :: hst == CLAIMED ->                                      /* its size from the owner's slot */
              atomic { DIEPT ok_ = (hslot < N && iok[hslot] && ipos[hslot] == c); rec = isz[hslot] }
              ok_ = ok_ && rec >= 1 && rec <= ROOM(c)
           :: hst != CLAIMED && hst <= ABANDONED ->
              rec = hw0 & 127; ok_ = (rec >= 1 && rec <= ROOM(c))
           :: else -> ok_ = 0
           fi;
           if
           :: ok_ && c - r + rec > CAP -> atomic { DIEPT ok_ = (c + rec - R <= CAP) }
           :: else
           fi;
           if
           :: !ok_ -> atomic { DIEPT assert(C != c) }                      /* suspect(): corrupt if C still c */
           :: else ->
              atomic { DIEPT if :: C == c -> C = c + rec; assert(C <= R + CAP) :: else fi }   /* CAS C c -> c + size */
           fi
        :: else ->
           tail = ROOM(c);
           skp = (size > tail);
           tk = (skp -> tail : size);
           if
           :: c - r + tk > CAP -> fullr = r; cres = 0; break         /* the ring is full */
           :: else ->
              if
              :: !((hlap == LAP(c) && hst == FREE && hslot == 0) ||
                   (hlap + 1 == LAP(c) && hst == RELEASED)) ->
                 atomic { DIEPT assert(C != c) }                           /* not free although released: corrupt if C still c */
              :: else ->
#ifndef MUT_CLAIM_INTENT_AFTER_CAS
                 atomic { DIEPT isz[me] = tk; ipos[me] = c; iok[me] = 1 }  /* slot.size, then slot.intent = c | 1 */
#endif
#ifdef ALIAS
                 /* The re-read of C, the CAS and the R check as separate steps: a claimer may
                  * pause between any two of them while the ring moves on a lap. */
#ifdef MUT_NO_C_REREAD
                 ok_ = 1;
#else
                 atomic { DIEPT ok_ = (C == c) }                           /* C still c just before the CAS */
#endif
                 if
                 :: ok_ ->
                    atomic { DIEPT                                         /* the claim CAS (exact value read) */
                      if
                      :: UNIT_IS(c) ->
                         SET_UNIT(c, hw0, LAP(c), me, CLAIMED); ok_ = 1;
                         if :: R > c -> stalemark[OFF(c)] = 1 :: else fi   /* a lap late: payload bytes */
                      :: else -> ok_ = 0
                      fi
                    }
#ifndef MUT_NO_R_CHECK
                    if
                    :: ok_ ->
                       atomic { DIEPT stale = (R > c) }                    /* R passed c: we were a lap late */
                       if
                       :: stale ->
                          atomic { DIEPT                                   /* CAS the bytes back */
                            if
                            :: uw0[OFF(c)] == hw0 && ulap[OFF(c)] == LAP(c) && uslot[OFF(c)] == me &&
                               ust[OFF(c)] == CLAIMED ->
                               SET_UNIT(c, hw0, hlap, hslot, hst); stalemark[OFF(c)] = 0
                            :: else
                            fi
                          };
                          ok_ = 0; stale = 0
                       :: else
                       fi
                    :: else
                    fi;
#endif
#else
                 /* Without ALIAS no payload ever reads as a free header, so a claimer that read C
                  * a lap ago cannot win its CAS (asserted): the re-read of C, the CAS and the R
                  * check are one step. */
                 atomic { DIEPT
                   if
#ifndef MUT_NO_C_REREAD
                   :: C != c -> ok_ = 0                              /* C moved: retry */
#endif
                   :: else ->
                      if
                      :: UNIT_IS(c) ->                               /* the claim CAS (exact value read) */
                         SET_UNIT(c, hw0, LAP(c), me, CLAIMED); ok_ = 1;
                         assert(R <= c)                              /* only ALIAS payload can look free */
                      :: else -> ok_ = 0
                      fi
                   fi
                 }
                 if
                 :: ok_ ->
#endif
#ifdef MUT_CLAIM_INTENT_AFTER_CAS
                    if :: ok_ -> atomic { DIEPT isz[me] = tk; ipos[me] = c; iok[me] = 1 } :: else fi;   /* MUTATION: intent after the CAS */
#endif
                    if
                    :: ok_ ->
                       /* a genuine claim: never space before R, never more than a ring past it */
                       atomic { DIEPT
                         assert(R <= c && c + tk <= R + CAP);        /* a sender never claims space before R */
                         if :: C == c -> C = c + tk; assert(C <= R + CAP) :: else fi   /* CAS C c -> c + size (anyone may) */
                       }
                       if
                       :: !skp -> cres = 1; break
                       :: else ->
                          /* the skip record to the end of the ring, committed at once */
                          atomic { DIEPT SET_UNIT(c, SKIPF | tail, LAP(c), me, COMMITTED); uval[OFF(c)] = 0 }
                          ring(DATA)
                       fi
                    :: else
                    fi
                 :: else
                 fi
              fi
           fi
        fi
     fi;
     d_step { hw0 = 0; hlap = 0; hslot = 0; hst = 0; rec = 0; tail = 0; skp = 0; tk = 0; ok_ = 0 }
  od;
  skip;
  d_step { hw0 = 0; hlap = 0; hslot = 0; hst = 0; rec = 0; tail = 0; tk = 0; ok_ = 0; r = 0 }
}

/* ------------------------------------------------------------------ repair (receivers) */

/* MpmcEndpoint::repair_claim(p, x), x's lock held: a claim whose sender died becomes a skip
 * record of the claim's size (ABANDONED), C moved past it first. rep: repaired. */
inline repair_claim(p, x) {
  rep = 0;
  atomic { DIEPT rr = R }
  atomic { DIEPT cc_ = C }
  if
  :: p >= rr && p <= cc_ ->                                          /* in [R, C] */
     atomic { DIEPT READ_UNIT(p) }
     atomic { DIEPT ok_ = (R <= p) }                                       /* R at or before p after the read */
     if
     :: ok_ && hlap == LAP(p) && hslot == x && hst == CLAIMED ->
        atomic { DIEPT ok_ = (iok[x] && ipos[x] == p); sz_ = isz[x] }      /* the claim's size from x's slot */
        assert(ok_ && sz_ >= 1 && sz_ <= ROOM(p) && p + sz_ <= rr + CAP);   /* else corrupt */
#ifndef MUT_SKIP_REPAIR_ABANDON
#ifndef MUT_REPAIR_NO_C
        atomic { DIEPT if :: C == p -> C = p + sz_ :: else fi }            /* CAS C past it: T must never pass C */
#endif
        atomic { DIEPT                                                     /* word0 = SKIP | size, ABANDONED, at once */
          if
          :: UNIT_IS(p) -> SET_UNIT(p, SKIPF | sz_, LAP(p), x, ABANDONED); rep = 1
          :: else
          fi
        }
        if :: rep -> ring(DATA) :: else fi
#endif
     :: else
     fi
  :: else
  fi;
  d_step { rr = 0; cc_ = 0; hw0 = 0; hlap = 0; hslot = 0; hst = 0; ok_ = 0; sz_ = 0 }
}

/* MpmcReceiver::repair_at_take: blocked at a CLAIMED record (seen at t, owner hslot) */
inline repair_at_take() {
  rep = 0;
  x_ = hslot;
  adopt(x_);                                                         /* alive: still writing */
  if
  :: got ->
     held = 1 << x_;
     tq = t;
     repair_claim(tq, x_);
     disown()
  :: else
  fi;
  got = 0; x_ = 0
}

/* ------------------------------------------------------------------ take (receivers) */

/* Copies (if a message) and releases our taken record at q (C++ take(): copy_out, then
 * release()), then moves R if it stood there. One step for the copy and the release stores:
 * the record is ours since the CAS on T (the copy is checked against what the sender wrote);
 * with LASTQ the intent is cleared in the same step, after the RELEASED store. */
inline consume(q, LASTQ) {
  atomic { DIEPT
    /* the record is ours since the CAS on T: still COMMITTED/ABANDONED of its lap */
    w0q = uw0[OFF(q)]; szq = w0q & 127;
    assert(ulap[OFF(q)] == LAP(q) && (ust[OFF(q)] == COMMITTED || ust[OFF(q)] == ABANDONED) &&
           szq >= 1 && szq <= ROOM(q));                              /* no read of a released record */
    if
    :: ust[OFF(q)] == COMMITTED && (w0q & SKIPF) == 0 ->
       /* copy_out: the payload the sender wrote before its commit, not released, not rewritten */
       mq = uval[OFF(q)];
       assert(mq >= 1 && mq <= NMSG && takenby[mq] == me + 1);        /* no read of an unwritten record */
       if
       :: szq == 2 ->
          if
          :: uval[OFF(q + 1)] == mq && ust[OFF(q + 1)] == PAYST && ulap[OFF(q + 1)] == PAYLAP(q + 1) &&
             uslot[OFF(q + 1)] == 0 && uw0[OFF(q + 1)] == 0 -> skip
#ifdef ALIAS
          :: stalemark[OFF(q + 1)] && uval[OFF(q + 1)] == mq && ust[OFF(q + 1)] == CLAIMED ->
             known_limit++;                                          /* layout.h's known limit */
             assert(!STRICT_COPY)                                   /* (only without the allowance) */
#endif
          :: else -> assert(false)                                   /* payload overwritten or released */
          fi
       :: else
       fi;
       assert(dlv[mq] == 0);                                         /* never delivered twice */
       dlv[mq]++;
       gotmsg = 1
    :: else
    fi;
    mq = 0;
    RELEASE_REC(q, w0q, szq, me);
#ifndef DIE
    if :: LASTQ -> iok[me] = 0 :: else fi                            /* run released: clear the intent */
#endif
  }
  atomic { DIEPT rel = (R == q) }                                          /* if R == q, CAS R past it and on */
  if :: rel -> ar = q; aw0 = w0q; known = 1; advance_release(); moved = 0 :: else fi;
  d_step { rel = 0; w0q = 0 }
}

/* ghost, at a successful CAS on T: the messages of the record at q are now taken by me */
inline took(q) {
  if
  :: ust[OFF(q)] == COMMITTED && (uw0[OFF(q)] & SKIPF) == 0 ->
     mq = uval[OFF(q)];
     assert(mq >= 1 && mq <= NMSG && msgst[mq] == 2);               /* only committed messages are taken */
     assert(takenby[mq] == 0);                                       /* taken once */
     takenby[mq] = me + 1;
     /* per-producer order, in T order */
     assert(MSG_INDEX(mq) + 1 > lastk[MSG_SENDER(mq)]);            /* one sender's messages taken in its order */
     lastk[MSG_SENDER(mq)] = MSG_INDEX(mq) + 1;
     mq = 0
  :: else
  fi
}

/* MpmcReceiver::take: tk = MESSAGE (one or more delivered), EMPTY or BLOCKED (CLAIMED at T). */
inline take() {
  gotmsg = 0;
  do
  :: atomic { DIEPT t = T; r = R }        /* T, then R (one snapshot: see "abstractions"), then the header */
     if
     :: r > t -> atomic { DIEPT assert(T != t) }                           /* our T was stale */
     :: else ->
        assert(t - r <= CAP);                                        /* T <= R + capacity */
        atomic { DIEPT READ_UNIT(t) }                                      /* (acquire) seen_take_, seen_header_ */
        if
        :: hlap == LAP(t) && hst == CLAIMED -> tk = BLOCKED; break
        :: hlap == LAP(t) && hst == FREE && hslot == 0 -> tk = EMPTY; break
        :: hlap == LAP(t) && hst != CLAIMED && !(hst == FREE && hslot == 0) ->
           sz_ = hw0 & 127;
           ok_ = ((hst == COMMITTED || hst == ABANDONED) && sz_ >= 1 && sz_ <= ROOM(t));
           if
           :: ok_ && t - r + sz_ > CAP -> atomic { DIEPT ok_ = (t + sz_ - R <= CAP) }
           :: else
           fi;
           if
           :: !ok_ -> atomic { DIEPT assert(T != t) }                      /* suspect(): corrupt if T still t */
           :: else ->
              rend = t + sz_;
#ifdef RUNS
              /* a run: the committed record right after it too (up to the end of the ring) */
              if
              :: OFF(rend) != 0 ->
                 atomic { DIEPT
                   if
                   :: ulap[OFF(rend)] == LAP(rend) && (ust[OFF(rend)] == COMMITTED || ust[OFF(rend)] == ABANDONED) &&
                      (uw0[OFF(rend)] & 127) >= 1 && (uw0[OFF(rend)] & 127) <= ROOM(rend) ->
                      rend = rend + (uw0[OFF(rend)] & 127)
                   :: else
                   fi
                 }
              :: else
              fi;
#endif
#if defined(DIE) && !defined(MUT_TAKE_INTENT_AFTER_CAS)
              atomic { DIEPT isz[me] = rend; ipos[me] = t; iok[me] = 1 }  /* slot.size = end of the run, slot.intent = t | 1 */
#endif
              atomic { DIEPT                                               /* CAS T t -> end */
#ifndef DIE
                /* (no deaths: only a repairer reads a receiver's intent; stored with the CAS) */
                isz[me] = rend; ipos[me] = t; iok[me] = 1;
#endif
                if
                :: T == t ->
                   T = rend; won = 1;
                   assert(T <= C);                                   /* T never passes C */
                   took(t);
#ifdef RUNS
                   if :: rend != t + sz_ -> took(t + sz_) :: else fi;
#endif
                   skip
                :: else -> won = 0
#ifndef DIE
                   ; iok[me] = 0
#endif
                fi
              }
#ifdef MUT_TAKE_INTENT_AFTER_CAS
              if :: won -> atomic { DIEPT isz[me] = rend; ipos[me] = t; iok[me] = 1 } :: else fi;   /* MUTATION: intent after the CAS */
#endif
              if
              :: !won ->
#ifdef DIE
                 atomic { DIEPT iok[me] = 0 }                              /* lost: clear the intent, retry */
#else
                 skip
#endif
              :: else ->
                 won = 0;
                 q_ = t;
                 do
                 :: q_ < rend -> consume(q_, q_ + szq == rend); q_ = q_ + szq; szq = 0
                 :: else -> break
                 od;
                 q_ = 0;
#ifdef DIE
                 atomic { DIEPT iok[me] = 0 };                             /* clear the intent once the run is released */
#endif
                 if :: gotmsg -> tk = MESSAGE; break :: else fi
              fi
           fi
        :: hlap + 1 == LAP(t) &&
           (hst == RELEASED || ((hst == COMMITTED || hst == ABANDONED) && t - r == CAP)) ->
           tk = EMPTY; break                                         /* the previous lap's header */
        :: else -> atomic { DIEPT assert(T != t) }                         /* suspect(): corrupt if T still t */
        fi
     fi;
     d_step { hw0 = 0; hlap = 0; hslot = 0; hst = 0; sz_ = 0; ok_ = 0; rend = 0 }
  od;
  skip;
  d_step { sz_ = 0; ok_ = 0; rend = 0; r = 0; gotmsg = 0 }     /* t and the header stay: what it saw */
}

/* ------------------------------------------------------------------ endpoints */

#define SHARED_LOCALS \
  byte me; byte i_; byte rm, re; byte pe; bit cnd; \
  byte ar, aw0, asz; bit moved, ok_, known; byte held, got; \
  byte hw0, hlap, hslot, hst; byte r, rr, rt, sz_; bit rep; bit en; byte t, tk, fullr

#ifdef EARLY_END
#define LAST_SENDER 1            /* every sender ends the channel when it is done */
#else
#define LAST_SENDER (sdone + sdead >= NS)   /* the application: the last sender to finish ends it */
#endif

active [NS] proctype Sender() {
  SHARED_LOCALS;
  byte k, size, msg, c, rec, tail;
  bit skp, cres, stale, gone, last;
  /* repair_run */
  byte rs, rend, p_, y_, lowest; bit whole, again, live, cov, failed;
  byte pl, pd;
  me = _pid;
  {
    k = 0;
    do
    :: k < MCOUNT(me) ->
       size = SIZE_OF(me, k); msg = (me == 0 -> 0 : M0) + k + 1;
       do
       ::
#ifdef EARLY_END
          atomic { DIEPT en = ended }                                      /* attempt(): ended -> the send fails */
          if :: en -> atomic { DIEPT msgst[msg] = 3; en = 0 }; goto finish :: else fi;
#endif
          claim();
          if
          :: cres ->
             cres = 0;
#ifdef EARLY_END
             atomic { DIEPT en = ended }                   /* a claim racing another sender's end() */
             if
             :: en ->                                                /* give it up: a skip record, the send fails */
                atomic { DIEPT SET_UNIT(c, SKIPF | size, LAP(c), me, ABANDONED); msgst[msg] = 3; en = 0 };
                ring(DATA);
                goto finish
             :: else
             fi;
#else
             /* (STATE_ENDED is set only by the last sender once every send is done: the load of
              * the state after the claim always finds it clear here; see EARLY_END) */
#endif
#ifdef MUT_COMMIT_BEFORE_PAYLOAD
             atomic { DIEPT SET_UNIT(c, size, LAP(c), me, COMMITTED); msgst[msg] = 2 }   /* MUTATION */
             atomic { DIEPT uval[OFF(c)] = msg; if :: size == 2 -> SET_UNIT(c + 1, 0, PAYLAP(c + 1), 0, PAYST); uval[OFF(c + 1)] = msg; stalemark[OFF(c + 1)] = 0 :: else fi }
#else
             /* write the payload, then commit: word1 COMMITTED (seq_cst: publishes the payload).
              * One step: nobody reads a claimed record's body before the commit. */
             atomic { DIEPT
               uval[OFF(c)] = msg;
               if
               :: size == 2 -> SET_UNIT(c + 1, 0, PAYLAP(c + 1), 0, PAYST); uval[OFF(c + 1)] = msg; stalemark[OFF(c + 1)] = 0
               :: else
               fi;
               SET_UNIT(c, size, LAP(c), me, COMMITTED); msgst[msg] = 2
             }
#endif
             ring(DATA);                                             /* wake receivers */
             c = 0;
             break
          :: else ->
             /* the ring is full: repair what a dead receiver holds at R, else park */
             repair_at_release();
             if
             :: rep -> rep = 0
             :: else ->
                atomic { DIEPT                                             /* peers(KIND_RECEIVER) (liveness check) */
                  pl = 0; pd = 0; i_ = NS;
                  do
                  :: i_ < N -> if :: st[i_] == OPEN -> pl++ :: st[i_] == DEAD -> pd++ :: else fi; i_++
                  :: else -> break
                  od;
                  i_ = 0;
                  gone = (pl == 0 && pd > 0 && R == fullr)               /* ... and space_came_back() */
                }
                if
                :: gone -> goto finish                               /* ERR_RINGWIRE_PEER_DEAD */
                :: !gone && pl == 0 && pd > 0 -> skip                /* space came back: try again */
                :: else -> park(SPACE, SCOND(me))
                fi;
                pl = 0; pd = 0
             fi;
             fullr = 0
          fi
       od;
       k++
    :: else -> break
    od;
finish:
    atomic { DIEPT
      sdone++; last = LAST_SENDER;                                   /* (the application's choice) */
      if :: last -> ended = 1 :: else fi                             /* end(): OR STATE_ENDED (seq_cst) */
    }
    if :: last -> ring(DATA) :: else fi;                             /* and wake receivers */
    atomic { DIEPT iok[me] = 0; st[me] = CLOSED; nfin++ }                 /* close(): intent, pid, lock */
  };
dead:
  skip
}

active [NR] proctype Receiver() {
  SHARED_LOCALS;
  byte rend, q_, szq, w0q, mq, x_, cc_, tq;
  bit won, gotmsg, rel, rdy;
  byte pl, pd;
  me = _pid;
  {
    do
    :: take();
       if
       :: tk == MESSAGE -> skip
       :: else ->
          if
          :: tk == EMPTY ->
             atomic { DIEPT
               en = ended;                                           /* end_marked() */
               if
               :: !en ->                                             /* peers(KIND_SENDER) (liveness check) */
                  pl = 0; pd = 0; i_ = 0;
                  do
                  :: i_ < NS -> if :: st[i_] == OPEN -> pl++ :: st[i_] == DEAD -> pd++ :: else fi; i_++
                  :: else -> break
                  od;
                  i_ = 0
               :: else
               fi
             }
             if
#ifdef MUT_NO_END_REREAD
             :: en -> break                                          /* MUTATION: ended and empty: the end */
#else
             :: en ->                                                /* STATE_ENDED: one more look at T */
                en = 0;
                take();
                if
                :: tk == MESSAGE -> goto next
                :: tk == EMPTY -> break                              /* end of stream */
                :: else
                fi
#endif
             :: else
             fi
          :: else
          fi;
          if
          :: tk == BLOCKED ->
             repair_at_take();                                       /* a dead sender's claim at T? */
             if :: rep -> rep = 0; goto next :: else fi
          :: pl == 0 && pd > 0 ->                                    /* no sender alive, one dead */
             atomic { DIEPT                                   /* what is at T (state_at_take(), ended) */
               rdy = (ulap[OFF(T)] == LAP(T) && ust[OFF(T)] != FREE && ust[OFF(T)] != CLAIMED) ||
                     (!(ulap[OFF(T)] == LAP(T) && ust[OFF(T)] == CLAIMED) && ended);
#ifndef MUT_CXX_READY_AT_TAKE
               /* a claim at T (its sender dead: none is alive) is not the end: take() finds it
                * BLOCKED and repairs it (mpmc.h recv() goes round; mpmc.ts checkLiveness repairs
                * it at once). The mutant CXX_READY_AT_TAKE is the decision before FINDINGS 1 was
                * fixed. */
               rdy = rdy || (ulap[OFF(T)] == LAP(T) && ust[OFF(T)] == CLAIMED);
#endif
               pl = 0; pd = 0
             }
             if :: !rdy -> break :: else -> rdy = 0; goto next fi   /* ERR_RINGWIRE_PEER_DEAD */
          :: else
          fi;
          park(DATA, RCOND(me))
       fi;
next:  skip;
       d_step { tk = 0; t = 0; hw0 = 0; hlap = 0; hslot = 0; hst = 0; pl = 0; pd = 0 }
    od;
    atomic { DIEPT iok[me] = 0; st[me] = CLOSED; nfin++ }                 /* close(): intent, pid, lock */
  };
dead:
  skip
}

/* ------------------------------------------------------------------ the end: no loss, no duplicate */

active proctype Checker() {
  byte m;
  nfin == N;                                                         /* every endpoint finished or died */
  d_step {
    m = 1;
    do
    :: m <= NMSG ->
       assert(dlv[m] <= 1);                                          /* at most once: never delivered twice */
       if
       :: msgst[m] == 2 ->
          /* a committed message is delivered, unless the receiver that took it died (its run
           * is released unread: lost at most once) or no receiver is left (rdead == NR) */
          assert(dlv[m] == 1 || (takenby[m] != 0 && st[takenby[m] - 1] == DEAD) ||
                 (takenby[m] == 0 && rdead == NR))
       :: else ->
          /* never committed (unsent, claimed by a sender that died, or its send failed): never
           * taken, never delivered */
          assert(dlv[m] == 0 && takenby[m] == 0)                      /* never committed: never taken or delivered */
       fi;
#ifndef EARLY_END
       /* a live sender sends everything (unless no receiver is left: ERR_RINGWIRE_PEER_DEAD) */
       assert(msgst[m] == 2 || st[MSG_SENDER(m)] == DEAD || rdead == NR);
#endif
#if !defined(DIE) && !defined(EARLY_END)
       assert(msgst[m] == 2 && dlv[m] == 1);                         /* no deaths: every message exactly once */
#endif
       m++
    :: else -> break
    od
  }
}

/* ------------------------------------------------------------------ liveness (LTL) */

/* the condition slot i re-checks before it sleeps (sv*: what it saw, saved while parked) */
#define COND(i) ((i) < NS && SCOND(i) || (i) >= NS && RCOND(i))
#define WOKEN(i) ((asleep[i] && COND(i)) -> <> !asleep[i])

/* No lost wake-up: an endpoint asleep while what it waits for has happened (a record or
 * a change at T for a receiver, R moved for a sender) is eventually woken. */
ltl wake { [] (WOKEN(0) && WOKEN(1) && WOKEN(2)) }
/* Every endpoint finishes (no deadlock, no livelock; with deaths: repairs unblock them). */
ltl done { <> (nfin == N) }
