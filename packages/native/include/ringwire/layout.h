// ringwire/layout.h — the shared-memory layout of a ringwire channel, version 3.
//
// This file is the single source of truth for the segment format. The addon exports
// every constant below to TypeScript at load time; C and C++ peers include it directly.
//
// A channel is one POSIX shared-memory object named "/rw.<name>" (mode 0600), or the same bytes
// in a regular file (a name containing '/' is its path; mode 0600) or in an anonymous memfd
// sealed against shrinking and growing (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL):
//
//   offset 0                                                        HEADER_SIZE (4096)
//   +------------------------------------------------------------------+---------------------+
//   | identity line      (0..127)     written once by the creator      |  data ring          |
//   | producer line      (128..255)   producer position, messages sent |  `capacity` bytes,  |
//   | consumer line      (256..383)   consumer position, messages recv |  a power of two     |
//   | receiver wait line (384..511)   data signal, receiver waiters    |                     |
//   |                                 (SPSC a count, MPMC parked masks),|                     |
//   |                                 data semaphore (at 448)          |                     |
//   | sender wait line   (512..639)   space signal, sender waiters     |                     |
//   |                                 (likewise), space semaphore (576)|                     |
//   | state line         (640..767)   end flag, endpoint pids, threads |                     |
//   | release line       (768..895)   MPMC: release position;          |                     |
//   |                                 SPSC: what the sender wrote      |                     |
//   | delivered line     (896..1023)  SPSC: what the receiver delivered|                     |
//   | slot table         (1024..4095) MPMC: endpoint slots             |                     |
//   +------------------------------------------------------------------+---------------------+
//
// Identity line (all uint32, native endianness, written before `magic` is published):
//
//    0 magic  4 version  8 header_size  12 capacity  16 mode  20 wait_mechanism
//   24 default_wait  28 max_message  32 creator_uid  36 creator_pid
//   40 created_at_ms_low  44 created_at_ms_high  48 record_alignment  52 record_header_size
//   56 flags  60 identity_check (xor of words 1..14 and 16 with IDENTITY_SALT)
//   64 max_message_size (the largest message the channel carries, whole or in fragments:
//      SPSC and broadcast 1..MAX_MESSAGE_SIZE_LIMIT, MPMC at most max_message)
//
// Creation is atomic (Linux): the object is built nameless (O_TMPFILE in /dev/shm), its pages
// reserved (posix_fallocate, so a full /dev/shm fails creation instead of raising SIGBUS at
// the first write), its identity and semaphores written, and only then linked to its name
// (linkat, which fails with EEXIST if the name is taken). A creator killed at any instant
// leaves either nothing or a complete channel. Where that is unavailable (no O_TMPFILE) the
// object is created under its name with O_EXCL and openers wait up to 200 ms for the magic.
//
// Semaphores (wait mechanism SEMAPHORE) are unnamed, process-shared POSIX semaphores inside
// the header (sem_init with pshared = 1), one per signal word: nothing outside the segment to
// leak, plant or forget. Wait mechanism NAMED_SEMAPHORE (for systems without process-shared
// unnamed semaphores, such as macOS; selectable on Linux) uses two named semaphores instead,
// named after a random key in the header (OFF_SEMAPHORE_KEY), created exclusively (0600) with
// a fresh key when one is taken, so nobody can plant a name to block a channel. They go with
// the channel's name (unlink); an anonymous channel cannot have them. A waker posts at most as many tokens as there are parked endpoints
// minus the tokens still unconsumed, so tokens never pile up (a woken endpoint that finds its
// condition already true leaves its token for its next park).
//
// Each mutable word sits on its own 128-byte line (two 64-byte lines, so adjacent-line
// prefetch does not make producer and consumer share one) and is only accessed atomically.
//
// Positions are byte counts that grow without bound, kept as uint32 and compared with
// wrap-around arithmetic: (producer - consumer) mod 2^32 is the number of bytes in use,
// always in [0, capacity]. capacity <= 2^30 keeps that distance unambiguous. A position
// maps to the ring offset (position & (capacity - 1)).
//
// Records (8-byte aligned, never straddling the end of the ring):
//
//   +-----------------+-----------------+---------------------------+---------+
//   | length (uint32) | reserved        | payload (`length` bytes)  | pad to 8|
//   +-----------------+-----------------+---------------------------+---------+
//
//   `reserved` is not written by SPSC producers and must be ignored by readers.
//   length == PADDING_LENGTH marks a padding record: the rest of the ring up to its end is
//   unused and the next record starts at ring offset 0. A producer writes one when a record
//   would not fit before the end of the ring.
//
// Fragments (SPSC and broadcast; version 3). A message longer than max_message (the most one
// record carries) but at most max_message_size is written as a run of fragment records, each
// with FRAGMENT set in its length word (word0 = FRAGMENT | FRAGMENT_FIRST/LAST | bytes, the
// bytes in the low FRAGMENT_LENGTH_BITS; PADDING_LENGTH is checked first and is not one):
//
//   start   FRAGMENT | FRAGMENT_FIRST | 8    payload: total length (uint32), 0 (uint32)
//   data    FRAGMENT | n                     payload: the next n bytes of the message
//   last    FRAGMENT | FRAGMENT_LAST | n     payload: its last n bytes
//
//   Readers: a start record begins a message (its length word exactly FRAGMENT | FIRST | 8,
//   so never FIRST with LAST; 1 <= total <= max_message_size; a message being put together is
//   dropped); data and last records append (n <= what the total leaves; a last record must
//   complete it exactly, and a data record must not; broadcast: each carries the start
//   record's sequence number); the message is handed out whole only once its last record is
//   read. A whole record (no FRAGMENT bit) drops a message
//   being put together. A data or last record with no message begun is skipped: a receiver
//   that joined (broadcast), resumed (SPSC, from the delivered line) or was lapped ('drop')
//   in the middle of a message never sees part of it. So a sender that dies or gives up
//   mid-message (a send that timed out) leaves nothing torn: its next record, or the next
//   sender's, is a start or a whole record. Records between a start and its last are the
//   message's; padding may lie between them. A record that breaks these rules while its
//   bytes can be trusted (broadcast: I says they were not overwritten) is ERR_RINGWIRE_CORRUPT.
//   Writers (TypeScript and C++ alike, not part of the format): only messages longer than
//   max_message are fragmented; a data record carries at most a quarter of the ring
//   (fragment_bytes_for(capacity)) and, rather than pad, ends at the ring's end when that is
//   nearer (a padding record only when fewer than 16 bytes are left there). Positions move and are published per record, as for whole records (a receiver
//   frees each fragment's space once it has copied it), so a message may be any number of
//   rings long. The message counters and the walks that count messages ("written",
//   "delivered") count whole records and last records only; a delivered walk that ends no
//   message is not adopted (the receiver before died inside a message it never handed out:
//   the next one reads it again from its start record if that is still at or after the
//   consumer position, and otherwise skips the rest of it). Broadcast: every record of a
//   message carries its sequence number (padding between them too).
//   MPMC carries no fragments (max_message_size <= max_message): a message split over
//   records would have to be taken by one receiver as a unit, while every MPMC record is
//   claimed and taken on its own; a receiver holding the start of a message would keep every
//   other receiver waiting for the rest.
//   MAX_MESSAGE_SIZE_LIMIT: the start record carries the total as a uint32, and a Node 20
//   Buffer holds at most 4 GiB (the TypeScript receiver keeps 8 bytes before the message).
//
// SPSC protocol (the orderings every implementation must keep):
//   producer: write record bytes; store producer position (seq_cst: release publishes the
//             bytes, and the store must not pass the load after it); then load
//             receiver_waiters (seq_cst, pairs with the receiver's increment) and, if nonzero
//             and data_signal CAS 0 -> 1 succeeds, wake data_signal. A release store alone is
//             NOT enough: store-load reordering would lose wakes (use a seq_cst store, or a
//             release store followed by a seq_cst fence).
//   consumer: load producer position (acquire: pairs with the producer's store), read and
//             validate records; store consumer position (seq_cst, as above: frees the space)
//             at least every 32 records or a quarter of the ring, and always before it parks,
//             blocks, or finds the ring empty; then load sender_waiters (seq_cst) and wake
//             space_signal the same way.
//   parking:  increment own waiters (seq_cst; SPSC counts are 0 or 1, and an opener that took
//             the role lock resets its own to 0: one left by an endpoint that died parked);
//             store 0 to own signal; re-check the
//             condition (seq_cst load of the peer position); sleep while signal == 0;
//             decrement waiters. The seq_cst increment and the waker's seq_cst load after
//             its position store form a Dekker pair: either the waker sees the waiter, or
//             the waiter's re-check sees the new position. No wake is lost. (C++: wait.h's
//             FlagDoorbell.)
//   delivered: after each message it hands out (and after each padding record it passes) the
//             consumer stores its position to `delivered_position` (relaxed: only a later
//             receiver reads it, after it has taken the role lock the dead one held, which
//             orders it). The producer never reads that line, so this costs no cache-line
//             traffic between the two. A receiver that opens walks the records from the
//             consumer position towards the delivered one (they are intact: the producer never
//             writes past the consumer position), checking each header; if the walk lands on it
//             exactly, the delivered position is its own (and the messages walked are added to
//             the count), and it publishes it at once. Either way it then stores its own
//             position there, so a value it rejected is never adopted later. So when a receiver
//             dies, at most the one message it held is lost (taken with try_recv, not yet used)
//             or delivered again (a poll() handler that died inside the handler), although the
//             consumer position is published lazily: up to 32 records or a quarter ring behind.
//   written:  a producer may hold back its position store (the TypeScript sender publishes
//             the first message of a task at once and the rest of the task's messages every
//             32, at the end of the task or before it waits). After each record it writes it
//             stores its position, published or not, to `written_position` (relaxed: a line
//             the consumer never reads while the producer lives). Whoever takes the sender's
//             role lock after the producer died (a sender opening; a receiver that found the
//             producer dead, for as long as it holds that lock) walks the records from the
//             producer position to the written one, checking each header, and if the walk
//             lands on it exactly and it is within a ring of the consumer position, stores it
//             as the producer position and wakes as a publish does (a receiver re-checks before
//             it sleeps). So a producer killed between a write and its publish loses nothing it
//             wrote. (Implementations that publish every record store it in both words.)
//   end:      the sender sets STATE_ENDED in `state` after its last position store; a
//             receiver that finds the ring empty and STATE_ENDED set re-reads the producer
//             position once more before it reports end of stream.
//
// MPMC protocol (mode MPMC: any number of senders and receivers, up to MAX_SLOTS in all).
//
// The same header lines, read differently, plus a release line and an endpoint slot table:
//
//   producer line  (128)  claim position C  (a hint: where the next claim is tried)
//   consumer line  (256)  take position T   (records before T are taken)
//   receiver wait  (384)  data epoch; parked receivers: a bit per slot (392: slots 32..47)
//   sender wait    (512)  space epoch; parked senders: a bit per slot (520: slots 32..47)
//   state line     (640)  STATE_ENDED (set by any sender's end())
//   release line   (768)  release position R (space before R is free for producers)
//   slot table     (1024..4095)  MAX_SLOTS slots of SLOT_SIZE bytes, one per open endpoint:
//        +0 pid  +4 thread  +8 kind  +12 intent  +16 messages (float64)  +24 intent end/size
//        +28 ended (a sender's: see "Ending with the last sender")
//
// An opener takes, under its lock, a slot never used or closed cleanly by an endpoint of its
// own kind; else any slot closed cleanly; else one whose holder died (so a dead holder's pid
// stays, for stats and ERR_RINGWIRE_PEER_DEAD, while another slot is free). A slot's
// `messages` counts what its holders of one kind sent or received: an opener taking a slot
// last used by the other kind first adds the slot's count to the channel's retired total of
// that kind (the messages-sent and messages-received words of the producer and consumer
// lines, which MPMC does not otherwise use) and starts the slot from zero. Messages sent =
// the retired sent total + every sender slot's count; received likewise.
//
// R <= T <= C <= R + capacity (wrapping uint32 arithmetic). Records use the same 8-byte
// header, with both words meaningful:
//
//   word0 (+0): the payload length, or SKIP | record size for a skip record (padding to the
//               end of the ring, or the space of a claim whose sender died);
//   word1 (+4): lap | slot << 3 | state.  lap = the record position & ~(capacity - 1): with
//               the ring offset (where the header sits) it names the record's position, so a
//               header left from an earlier lap can never pass for a current one. slot is
//               the endpoint that last moved the record; state is FREE, CLAIMED, COMMITTED,
//               RELEASED or ABANDONED (a claim whose sender died; a skip record to receivers).
//               A record between R and T is taken (its receiver is copying it) until RELEASED.
//
// Every 8-byte unit of the ring is at any time either inside a live record, a header of the
// previous lap in state RELEASED, or FREE for the current lap: (0, lap). A new segment is
// all zero, which is FREE for lap 0. When a record is released its taker first rewrites
// every unit after its header as FREE for the next lap, so stale payload bytes can never
// read as a header. (This is the MPMC cost of robustness: released space is written once
// more. Aeron's many-to-one ring zeroes consumed space for the same reason.)
//
//   claim (sender, slot s, `size` bytes at position c — one record, or a run of records a
//     batch writes at once): load C = c, then R (acquire), then word1 at c. If it holds a
//     record of lap(c), help: CAS C c -> c + its size (from the owner slot's intent size
//     while CLAIMED, from word0 after), retry. If c + size - R > capacity the ring is full.
//     If the claim would straddle the end of the ring, first claim a skip record to the end
//     (and commit it at once). Store slot.size = size, then slot.intent = c | 1. Then the
//     claim itself: CAS word1 from FREE(lap(c)) or RELEASED(lap(c) - capacity) (the exact
//     value read) to lap | s << 3 | CLAIMED. The CAS cannot succeed twice for one position,
//     and the claimer's slot says how big the claim is, so anyone who finds the claim can
//     size it even if the sender dies the next instant (its intent stays until its next
//     claim, after this one is committed). Then CAS C c -> c + size (anyone may).
//     A stale claimer: one that read C a lap or more before its CAS finds that unit inside
//     a later record, whose payload bytes could happen to equal the free header it expects.
//     So it re-reads C just before the CAS (and retries if C moved), and after a successful
//     CAS checks that R has not passed c (a genuine claim keeps R at or before it); if R
//     has, it CASes the word back and retries. What remains is a reader copying that record
//     during the instant between the two CASes, after a pause of a whole lap at exactly the
//     wrong instruction: a known limit of the format, like the 32-bit positions.
//     Ending: after its claim, a sender loads `state`; if STATE_ENDED is set (another
//     sender's end() raced it) it gives the claim up as a skip record (word0 = SKIP | size,
//     ABANDONED) and the send fails: a receiver that saw the end with nothing at T may
//     already have finished reading.
//     Ending with the last sender (flag FLAG_END_WITH_LAST_SENDER): a sender's end() does
//     not set STATE_ENDED at once. It stores 1 in its slot's `ended` word, ORs
//     STATE_SENDER_ENDED into `state` (both seq_cst), then looks at every other sender
//     slot: if none is held by a live endpoint (its lock) with `ended` still 0, it sets
//     STATE_ENDED and wakes receivers. Two senders ending at once each store, then load the
//     other's word: with seq_cst one of them sees both and ends the channel. Whoever takes
//     a slot clears its `ended`. A sender closing without ending stores 1 in its `ended`
//     too (it is gone), then, if STATE_SENDER_ENDED is set, takes the same look; and a
//     parked receiver checking its peers takes it as well: once
//     some sender has ended or died and no live sender that has not ended remains, the
//     channel ends (a sender that died counts as ended; one that closed without ending
//     counts as gone). A sender that opens after the channel ended gets ERR_RINGWIRE_CLOSED,
//     as on any ended channel: the senders of such a stream open before any of them ends.
//   commit: write the payload and word0 (a batch writes each record of its run, headers
//     committed with plain stores, word0 and state of the first record last) and store
//     word1 = lap | s | COMMITTED (seq_cst: release publishes everything before it). Then
//     wake receivers (below).
//   take (receiver, slot s): load T = t (acquire); load word1 at t (acquire): COMMITTED or
//     ABANDONED of lap(t) means a record is there (anything else: empty, or a claim not yet
//     committed). Read word0 and bounds-check it. A receiver may take a run of consecutive
//     committed records at once (up to the end of the ring). Store slot.size = end of the
//     run, slot.intent = t | 1, then CAS T t -> end: the winner owns the records (a loser
//     clears its intent and retries). A receiver that will not hand out the rest of a run
//     (its poll() handler threw or closed it) gives it back with CAS T end -> first record
//     not handed out; that fails if anyone took after it (T only grows otherwise), and
//     then the rest stays its own: delivered by its next receive, or released unread if it
//     closes, as its death would.
//   release: the owner copies a payload out, rewrites the body as FREE(lap + capacity),
//     stores word1 = lap | s | RELEASED (seq_cst), and if R == t CASes R past it, then moves
//     R over every RELEASED record of the right lap at R. It clears its intent once its
//     run is released. Then wake senders (below). A producer never claims space before R,
//     so a slow receiver still copying a record keeps it from being overwritten.
//
//   Messages from one sender are delivered in its order: its records have increasing
//   positions, and receivers take records only at T.
//
// Liveness and repair. Each open endpoint holds an open-file-description lock on byte
// SLOT_LOCK_BASE + slot of the segment file; the kernel drops it when the process dies.
// Whoever wants to repair a record left by slot x first takes x's lock (non-blocking): if
// it gets it, x is dead (or closed) and the repairer now owns x's leftovers, alone:
//   - CLAIMED by x at T (sender died between claim and commit): CAS C past it if it is still
//     at it (x may have died before doing so: T must never pass C), word0 = SKIP | x's
//     intent size, then CAS word1 -> ABANDONED. Receivers take it like any record and skip
//     it. Nothing x committed is lost.
//   - COMMITTED at R < T, inside the run x's intent covers (receiver died while copying):
//     every record of x's run not yet RELEASED is released as if x had finished. Those
//     messages are lost: delivery is at most once (they cannot be handed back, since other
//     receivers have moved past them). When several dead slots cover the record, the lowest
//     is used, so two repairers never work on one run; a live one covering it means wait.
//     Only records before T are released (a receiver that lost its CAS on T and died
//     before clearing its intent covers records that were never its own).
//   - RELEASED at R (a receiver died after releasing, before moving R): anyone short of
//     space moves R over released records; no lock is needed, R only moves by CAS.
// An endpoint opening into a slot whose pid is nonzero (its last holder died without
// closing) repairs what that slot's intent covers the same way before using the slot. A
// sender's intent is a claim only where the walk of records from T meets it, in [R, C].
// Receivers waiting at a CLAIMED record, and senders waiting for space at a taken one,
// check the owner's lock before every park and after every park slice. Parking endpoints also
// clear the parked bits of slots whose lock they can take (their holder died parked), and
// bits of slots that do not exist (48..63: a peer's scribble); see "Waking with several
// sleepers".
//
// What a death costs (SPSC and MPMC; the README's "When a process dies" says the same):
//   - a sender: everything it wrote is delivered (SPSC: also what it had not yet published,
//     from the written line); a record it had claimed and not committed (tryClaim without
//     commit, SPSC; MPMC: skipped once a waiting receiver finds the claimer dead) never is.
//     With no sender left and one dead, receivers' waits fail with ERR_RINGWIRE_PEER_DEAD
//     once they have taken everything.
//   - a receiver: at most the message it held (one per operation it had pending: a C++
//     receiver has one). SPSC: resumed from the delivered line, so a message taken and not
//     used is lost, or one whose poll() handler it died in is delivered again. MPMC: a taken
//     record not yet released is released by a repairer and its message lost (at most once);
//     a receiver that dies inside poll() loses what is left of the run it took (up to the
//     call's limit, at most 64 KiB of records). With no receiver left and one dead, senders' waits for
//     space fail with ERR_RINGWIRE_PEER_DEAD.
//   - an endpoint parked: SPSC, the next holder of its role resets the count; MPMC, its
//     parked bit is cleared within a park slice of a live endpoint parking.
//   - a creator: nothing, or a complete channel (creation is atomic).
// C++ endpoints follow the same rules (spsc.h, mpmc.h, broadcast.h; contract.h lists what
// they throw).
//
// Waking with several sleepers: a data or space word is an epoch, not a flag. A parker
// sets its slot's bit in the parked mask of its kind (an atomic OR, seq_cst), loads the epoch; if it is odd (signalled) it CASes
// it to the next even value (armed) and loads it again; re-checks its condition; sleeps
// while the word equals the even value it loaded, and clears its bit (atomic AND). A waker,
// after its seq_cst publish, loads both mask words and, if either is nonzero, CASes an even
// epoch to odd and wakes every sleeper (semaphores: one token per bit set). A bit per slot
// rather than a count: an endpoint that dies parked leaves exactly its own bit, which anyone
// holding that slot's lock clears (an opener taking the slot, or a live endpoint's liveness
// check, which takes the lock of every slot whose bit is set and whose lock is free), so
// dead sleepers stop costing wake-ups within a park slice.
// Unlike a 0/1 flag, an epoch never returns to a value a sleeper loaded, so one receiver
// re-arming cannot swallow the wake meant for another. Semaphore tokens are not tied to an
// epoch, though: a sleeper that re-armed may take a token posted for one still asleep on the
// earlier epoch. So a sleeper that takes a token while the word still holds the epoch it
// armed (never signalled: the token is not its own) gives it back and waits a moment before
// it takes one again; only one nobody takes for 2 ms is kept (a stray: one spurious wake).
// (C++: wait.h's EpochDoorbell and Signal::sleep_epoch.)
//
// Why this design (and not Aeron's or Vyukov's alone): Aeron's multi-producer ring claims
// by a fetch-add on the tail and has one consumer; its records are variable-size and its
// headers carry negative lengths until commit, but a producer dying between the fetch-add
// and its header write leaves a zeroed gap only a timeout can unblock. Vyukov's bounded
// MPMC queue claims through a per-slot sequence, which makes every claim and take
// self-identifying, but its slots are fixed-size. Here the claim is a CAS on the record
// header itself, stamped with its lap the way Vyukov's sequence is, over Aeron-style
// variable records, and the claim position is only a hint that anyone advances. Taking is
// one CAS on T, and both sides can move a run of records per CAS (batches).
//
// Broadcast protocol (mode BROADCAST: one sender, any number of receivers up to MAX_SLOTS,
// every receiver gets every message sent while it is joined, in order, each exactly once).
//
// One sender, holding ROLE_SENDER's lock as in SPSC (a second sender gets ERR_RINGWIRE_BUSY).
// Several senders would need MPMC's claims: a CAS per record, and a lap stamp per record
// written by whoever claims it, which the single-sender path does not pay today.
//
//   producer line  (128)  tail P: the end of the records published (seq_cst store)
//   consumer line  (256)  oldest O: the first record still intact (written by the sender)
//   receiver wait  (384)  data epoch; parked receivers: a bit per slot, as MPMC
//   sender wait    (512)  space signal and sender waiter count, as SPSC (a count, not a
//                         parked mask: the parked bits cleaned up are the receivers' only)
//   state line     (640)  STATE_ENDED, the sender's pid and thread, as SPSC
//   release line   (768)  "written", as SPSC (what the sender wrote, published or not)
//   delivered line (896)  intent I: the end of what the sender may be writing
//   slot table     (1024)  one slot per receiver: +0 pid  +4 thread  +8 kind (KIND_RECEIVER)
//        +12 cursor (where it reads next, published lazily)  +16 messages (float64)
//        +32 lost (float64)  +40 cut (set by the sender: see "lag limit")
//     A slot is taken as MPMC's (the same three passes), and its count is retired to the
//     received total every time it is reused, not only when its kind changes.
//
// Records are SPSC's (PADDING_LENGTH pads to the end of the ring), and word1 carries the
// message's sequence number (the count of messages sent before it, mod 2^32; a padding
// record carries the next message's). O <= P <= I and I - O <= capacity (uint32 wrapping
// arithmetic); positions are record boundaries. With 'drop' the header at P also carries the
// next message's sequence number before that message is written (the sender writes it
// before each store of P, and I covers it: I >= P + 8), so a receiver joining at P knows
// where it starts counting what it misses; a record and that header must fit the ring, so a
// 'drop' sender sends at most capacity - 16 bytes (max_message - 8).
//
//   send: a record of `size` at position p (after padding, if it would straddle the end)
//     ends at e. While e <= I the sender just writes the header, payload and written
//     position (plain) and publishes P (seq_cst) as SPSC does (lazily within a task, at
//     least every PUBLISH_EVERY records). Beyond I it first raises I, to
//     min(limit, max(e, p + capacity / 8)) — a step, so that I is stored once per eighth of
//     the ring and not per record — where limit is unbounded with overflow 'drop' and, with
//     'block', capacity past the slowest joined receiver's cursor (e > limit: the ring is
//     full; the sender waits for receivers, its space signal as SPSC's). First O moves past
//     every record that starts before the new I - capacity (the sender reads the headers it
//     wrote, checking each), stored seq_cst, so that whoever sees the new I sees an O it may
//     read from (a joiner's or a lapped receiver's "again" below relies on it). Then I is
//     stored seq_cst, before any byte past the old I is written (C++: a release fence after
//     it, the writer's half of the receive check). Then 'block' loads the slots again (a
//     Dekker pair with a joining receiver, below): a cursor it had not seen bounds I afresh,
//     and I is lowered to that bound before anything is written past it (or, if that is
//     below e, put back and the ring is full).
//   receive: at cursor c, with c != P (P loaded seq_cst): read the header at c, check it
//     (length <= max_message, inside the ring, not past P), copy the payload, then load I
//     (seq_cst; C++ puts an acquire fence before it). If I - c > capacity the sender may
//     have written over the record while it was copied: the copy is discarded and the
//     receiver has been lapped. A header that fails its checks is ERR_RINGWIRE_CORRUPT only
//     if I says it cannot have been overwritten.
//   lapped ('drop'): the receiver loads O, reads the sequence number at O (checked against
//     I again), adds what it skipped (that number minus the one it expected) to `lost`, and
//     reads on from O. With 'block' a joined receiver is never lapped unless it was cut off
//     (below) — except that I may have been raised for an instant past it while it joined and
//     lowered again: a receiver that finds itself lapped and not cut off loads I again. (If
//     the sender died between raising I and lowering it, whoever next takes its lock — a
//     sender opening, a receiver finding it dead — lowers I to that bound: nothing was
//     written past it.)
//   join: take a slot (as MPMC; its cursor = P, loaded before the pid is stored). From
//     'next': cursor = that first cursor (not P loaded again: a message published once the
//     slot counts, as stats() lists it and a 'block' sender waits for it, is never behind
//     it). From 'oldest': cursor = O. Store the cursor (seq_cst), read the sequence number at
//     the cursor ('drop': where counting what it misses starts), then load I: if I - cursor >
//     capacity, O has moved on: again, from O. (The first cursor is lapped only by a sender
//     that went a ring past it: 'drop', or 'block' with I raised past it by a claim whose look
//     at the slots came before the slot counted; O is never past a message begun after that.)
//     Either the sender's reload of the slots sees the cursor, or the receiver's load of I
//     sees the raised I and starts later; so once joined, a 'block' sender never writes over
//     what the receiver has not read.
//   cursor: a receiver stores its cursor to its slot lazily, as the SPSC consumer stores its
//     position (every PUBLISH_EVERY records or a quarter of the ring, before it parks, at the
//     end of its task), then wakes a parked sender (SPSC's flag and count on the space line).
//   lag limit ('block'): a sender opened with a lag limit that has waited that long for the
//     same slowest receiver sets that slot's `cut` (seq_cst) and stops waiting for it; the
//     receiver's next receive fails with ERR_RINGWIRE_CUT_OFF (and every one after: it must
//     close and may join again).
//   dead receivers: a sender short of space checks the slowest receiver's lock before it
//     parks (at most every PEER_CHECK_MS) and after every park slice; a dead one (its lock
//     free, its pid unchanged across the lock check) is cut off like a lagging one, `cut`
//     set while the sender holds its slot's lock (so a receiver taking the slot meanwhile
//     cannot inherit the cut), and no longer counts; its pid stays, for stats and gc. With
//     no receiver joined the sender never waits: what it sends then reaches only a later
//     'oldest' joiner.
//   dead sender: as SPSC (the "written" walk, bounded by O instead of the consumer position,
//     and by I; 'drop': the next sequence number is written at the new P); receivers that
//     have read everything get ERR_RINGWIRE_PEER_DEAD.
//   end: as SPSC; a receiver has read everything once its cursor reaches P.
//
// Nothing read from the segment is trusted: readers check every position for alignment
// before they read the header it names (a position whose ring offset is in the last 4 bytes
// would put word1 past the ring), every position distance against capacity, every length
// against max_message and the bytes actually published, every slot index against MAX_SLOTS,
// and every intent for the form position | INTENT_VALID, and report ERR_RINGWIRE_CORRUPT
// otherwise. (What no check can stop: a peer with write access to the
// object may shrink it with ftruncate, and touching the lost pages raises SIGBUS. Objects
// from shm_open cannot be sealed against that; the 0600 mode limits peers to the same user.)
#ifndef RINGWIRE_LAYOUT_H
#define RINGWIRE_LAYOUT_H

#include <cstdint>

namespace ringwire {
namespace layout {

constexpr uint32_t MAGIC = 0x52574952u;  // "RIWR" read as little-endian bytes 'R','I','W','R'
constexpr uint32_t VERSION = 3;
constexpr uint32_t HEADER_SIZE = 4096;
constexpr uint32_t LINE_SIZE = 128;
constexpr uint32_t IDENTITY_SALT = 0x9E3779B9u;

// Identity line (byte offsets).
constexpr uint32_t OFF_MAGIC = 0;
constexpr uint32_t OFF_VERSION = 4;
constexpr uint32_t OFF_HEADER_SIZE = 8;
constexpr uint32_t OFF_CAPACITY = 12;
constexpr uint32_t OFF_MODE = 16;
constexpr uint32_t OFF_WAIT_MECHANISM = 20;
constexpr uint32_t OFF_DEFAULT_WAIT = 24;
constexpr uint32_t OFF_MAX_MESSAGE = 28;
constexpr uint32_t OFF_CREATOR_UID = 32;
constexpr uint32_t OFF_CREATOR_PID = 36;
constexpr uint32_t OFF_CREATED_AT_LOW = 40;
constexpr uint32_t OFF_CREATED_AT_HIGH = 44;
constexpr uint32_t OFF_RECORD_ALIGNMENT = 48;
constexpr uint32_t OFF_RECORD_HEADER_SIZE = 52;
constexpr uint32_t OFF_FLAGS = 56;
constexpr uint32_t OFF_IDENTITY_CHECK = 60;
constexpr uint32_t OFF_MAX_MESSAGE_SIZE = 64;
constexpr uint32_t IDENTITY_WORDS = 17;

// Mutable lines.
constexpr uint32_t OFF_PRODUCER_POSITION = 1 * LINE_SIZE;
constexpr uint32_t OFF_CONSUMER_POSITION = 2 * LINE_SIZE;
constexpr uint32_t OFF_DATA_SIGNAL = 3 * LINE_SIZE;
constexpr uint32_t OFF_RECEIVER_WAITERS = 3 * LINE_SIZE + 4;
constexpr uint32_t OFF_SPACE_SIGNAL = 4 * LINE_SIZE;
constexpr uint32_t OFF_SENDER_WAITERS = 4 * LINE_SIZE + 4;
constexpr uint32_t OFF_STATE = 5 * LINE_SIZE;
constexpr uint32_t OFF_SENDER_PID = 5 * LINE_SIZE + 4;
constexpr uint32_t OFF_RECEIVER_PID = 5 * LINE_SIZE + 8;
// The thread of each endpoint within its process: a Node worker's threadId (0 for the main
// thread), or a native peer's own thread id.
constexpr uint32_t OFF_SENDER_THREAD = 5 * LINE_SIZE + 12;
constexpr uint32_t OFF_RECEIVER_THREAD = 5 * LINE_SIZE + 16;
// Message counters for stats (float64, exact to 2^53; a single aligned 8-byte store each),
// each on its writer's line: the sender's beside the producer position, updated with every
// publish; the receiver's beside the consumer position, updated with every publish. (MPMC:
// the totals retired from slots that changed kind; see the slot table.)
constexpr uint32_t OFF_MESSAGES_SENT = 1 * LINE_SIZE + 8;
constexpr uint32_t OFF_MESSAGES_RECEIVED = 2 * LINE_SIZE + 8;
// SPSC: what the receiver has handed out (see "delivered" in the protocol), on a line of its
// own that the producer never reads.
constexpr uint32_t OFF_DELIVERED_POSITION = 7 * LINE_SIZE;
// Wait mechanism SEMAPHORE: an unnamed process-shared sem_t per signal word, in the second
// half of that word's line.
constexpr uint32_t OFF_DATA_SEMAPHORE = 3 * LINE_SIZE + 64;
constexpr uint32_t OFF_SPACE_SEMAPHORE = 4 * LINE_SIZE + 64;
constexpr uint32_t SEMAPHORE_BYTES = 64;
// Wait mechanism NAMED_SEMAPHORE: two named POSIX semaphores, "/rws.<key>.d" (data) and
// "/rws.<key>.s" (space), <key> 16 lowercase hex digits of a random 64-bit key the creator
// stores as two uint32 (low, high) at OFF_DATA_SEMAPHORE, where an unnamed sem_t would be.
constexpr uint32_t OFF_SEMAPHORE_KEY = OFF_DATA_SEMAPHORE;

// MPMC (see the protocol above).
constexpr uint32_t OFF_CLAIM_POSITION = OFF_PRODUCER_POSITION;
constexpr uint32_t OFF_TAKE_POSITION = OFF_CONSUMER_POSITION;
constexpr uint32_t OFF_RELEASE_POSITION = 6 * LINE_SIZE;
// SPSC: the producer position including records written and not yet published ("written").
// The release line is MPMC's; SPSC uses it for this.
constexpr uint32_t OFF_WRITTEN_POSITION = 6 * LINE_SIZE;
// Parked MPMC endpoints: bit (slot & 31) of the word for slots 0..31 (the SPSC waiter count's
// word) or 32..47 (the next word), per kind.
constexpr uint32_t OFF_RECEIVER_WAITERS_HIGH = 3 * LINE_SIZE + 8;
constexpr uint32_t OFF_SENDER_WAITERS_HIGH = 4 * LINE_SIZE + 8;
constexpr uint32_t OFF_SLOTS = 8 * LINE_SIZE;
constexpr uint32_t SLOT_SIZE = 64;
constexpr uint32_t MAX_SLOTS = (HEADER_SIZE - OFF_SLOTS) / SLOT_SIZE;  // 48
constexpr uint32_t SLOT_PID = 0;
constexpr uint32_t SLOT_THREAD = 4;
constexpr uint32_t SLOT_KIND = 8;
constexpr uint32_t SLOT_INTENT = 12;
constexpr uint32_t SLOT_MESSAGES = 16;
constexpr uint32_t SLOT_SIZE_OR_END = 24;  // sender: size of its claim; receiver: end of its run
constexpr uint32_t SLOT_ENDED = 28;  // sender, FLAG_END_WITH_LAST_SENDER: 1 once it has ended
// BROADCAST receivers (see "Broadcast protocol").
constexpr uint32_t SLOT_CURSOR = 12;
constexpr uint32_t SLOT_LOST = 32;  // float64
constexpr uint32_t SLOT_CUT = 40;
// BROADCAST: the oldest record still intact, and the end of what the sender may be writing.
constexpr uint32_t OFF_OLDEST_POSITION = OFF_CONSUMER_POSITION;
constexpr uint32_t OFF_INTENT_POSITION = OFF_DELIVERED_POSITION;
constexpr uint32_t SLOT_LOCK_BASE = 2;  // slot i is locked at byte SLOT_LOCK_BASE + i
constexpr uint32_t KIND_SENDER = 1;
constexpr uint32_t KIND_RECEIVER = 2;
constexpr uint32_t INTENT_VALID = 1;
// Record states (word1 & STATE_MASK) and the owner slot field.
constexpr uint32_t STATE_MASK = 7;
constexpr uint32_t SLOT_SHIFT = 3;
constexpr uint32_t SLOT_FIELD_MASK = 63u << SLOT_SHIFT;
constexpr uint32_t REC_FREE = 0;
constexpr uint32_t REC_CLAIMED = 1;
constexpr uint32_t REC_COMMITTED = 2;
constexpr uint32_t REC_RELEASED = 3;
constexpr uint32_t REC_ABANDONED = 4;
// word0 of a skip record: SKIP | its size in bytes (a multiple of 8, at most capacity).
constexpr uint32_t SKIP = 0x80000000u;

// Bits of `state`.
constexpr uint32_t STATE_ENDED = 1u << 0;
// FLAG_END_WITH_LAST_SENDER channels: some sender has ended (see "Ending with the last sender").
constexpr uint32_t STATE_SENDER_ENDED = 1u << 1;

// Bits of `flags` (identity line, fixed at creation).
constexpr uint32_t FLAG_PERSISTENT = 1u << 0;  // gc() never removes the channel
// MPMC: the channel ends when its last sender ends, not at the first sender's end().
constexpr uint32_t FLAG_END_WITH_LAST_SENDER = 1u << 1;
// BROADCAST: the sender never waits; a receiver a ring behind skips to the oldest record.
constexpr uint32_t FLAG_OVERFLOW_DROP = 1u << 2;

// Modes.
constexpr uint32_t MODE_SPSC = 1;
constexpr uint32_t MODE_MPMC = 2;
constexpr uint32_t MODE_BROADCAST = 3;

// How parked endpoints sleep and are woken (fixed per channel at creation).
constexpr uint32_t WAIT_FUTEX = 1;
constexpr uint32_t WAIT_SEMAPHORE = 2;
constexpr uint32_t WAIT_NAMED_SEMAPHORE = 3;

// What endpoints do by default when they must wait (they may override it when opening).
constexpr uint32_t DEFAULT_WAIT_PARK = 0;  // spin briefly, then park
constexpr uint32_t DEFAULT_WAIT_SPIN = 1;  // never park

// Records.
constexpr uint32_t RECORD_ALIGNMENT = 8;
constexpr uint32_t RECORD_HEADER_SIZE = 8;
constexpr uint32_t PADDING_LENGTH = 0xFFFFFFFFu;
// Fragments (see "Fragments"): bits of a fragment record's length word.
constexpr uint32_t FRAGMENT = 0x80000000u;
constexpr uint32_t FRAGMENT_FIRST = 0x40000000u;
constexpr uint32_t FRAGMENT_LAST = 0x20000000u;
constexpr uint32_t FRAGMENT_LENGTH_BITS = 29;
constexpr uint32_t FRAGMENT_LENGTH_MASK = (1u << FRAGMENT_LENGTH_BITS) - 1;
constexpr uint32_t FRAGMENT_START_BYTES = 8;  // the start record's payload: total, 0
// The largest max_message_size, and the default for SPSC and broadcast channels.
constexpr uint32_t MAX_MESSAGE_SIZE_LIMIT = 0xFFFFFFF8u;  // 4 GiB - 8
constexpr uint32_t DEFAULT_MAX_MESSAGE_SIZE = 1u << 30;   // 1 GiB

// Capacity limits (bytes of ring, power of two).
constexpr uint32_t MIN_CAPACITY = 1u << 10;
constexpr uint32_t MAX_CAPACITY = 1u << 30;
constexpr uint32_t DEFAULT_CAPACITY = 1u << 20;

// Names: "/rw." + name for the segment (/dev/shm/rw.<name> on Linux). macOS limits shared-
// memory names to 31 characters.
constexpr uint32_t MAX_NAME_LENGTH = 26;

// Endpoint roles: each open endpoint holds a lock on byte `role` of its segment file.
constexpr uint32_t ROLE_SENDER = 0;
constexpr uint32_t ROLE_RECEIVER = 1;

// Timing and batching every implementation shares (not part of the format: peers may differ,
// but ringwire's own TypeScript and C++ take these).
// A parked endpoint re-checks (and looks for a dead peer) at least this often, woken or not.
constexpr uint32_t PARK_SLICE_MS = 1000;
// An endpoint about to park looks at its peer's liveness (a system call) at most this often.
constexpr uint32_t PEER_CHECK_MS = 100;
// SPSC endpoints store their position once per this many records in a stream (or a quarter
// of the ring), not per record (see "Publishing" in the README).
constexpr uint32_t PUBLISH_EVERY = 32;
// A semaphore wake posts the tokens missing for the endpoints parked, at most this many.
constexpr uint32_t SEMAPHORE_POST_CAP = 1024;

// Every constant above, by name: the addon exports each (layout.test.ts checks that this
// list, the constants declared here and the TypeScript's Layout interface are the same set).
#define RINGWIRE_LAYOUT_CONSTANTS(X) \
  X(MAGIC) X(VERSION) X(HEADER_SIZE) X(LINE_SIZE) X(IDENTITY_SALT) X(OFF_MAGIC) X(OFF_VERSION) \
  X(OFF_HEADER_SIZE) X(OFF_CAPACITY) X(OFF_MODE) X(OFF_WAIT_MECHANISM) X(OFF_DEFAULT_WAIT) \
  X(OFF_MAX_MESSAGE) X(OFF_CREATOR_UID) X(OFF_CREATOR_PID) X(OFF_CREATED_AT_LOW) \
  X(OFF_CREATED_AT_HIGH) X(OFF_RECORD_ALIGNMENT) X(OFF_RECORD_HEADER_SIZE) X(OFF_FLAGS) \
  X(OFF_IDENTITY_CHECK) X(OFF_MAX_MESSAGE_SIZE) X(IDENTITY_WORDS) X(OFF_PRODUCER_POSITION) X(OFF_CONSUMER_POSITION) \
  X(OFF_DATA_SIGNAL) X(OFF_RECEIVER_WAITERS) X(OFF_SPACE_SIGNAL) X(OFF_SENDER_WAITERS) \
  X(OFF_STATE) X(OFF_SENDER_PID) X(OFF_RECEIVER_PID) X(OFF_SENDER_THREAD) X(OFF_RECEIVER_THREAD) \
  X(OFF_MESSAGES_SENT) X(OFF_MESSAGES_RECEIVED) X(OFF_DELIVERED_POSITION) X(OFF_DATA_SEMAPHORE) \
  X(OFF_SPACE_SEMAPHORE) X(SEMAPHORE_BYTES) X(OFF_SEMAPHORE_KEY) X(OFF_CLAIM_POSITION) X(OFF_TAKE_POSITION) \
  X(OFF_RELEASE_POSITION) X(OFF_WRITTEN_POSITION) X(OFF_RECEIVER_WAITERS_HIGH) \
  X(OFF_SENDER_WAITERS_HIGH) X(OFF_SLOTS) X(SLOT_SIZE) X(MAX_SLOTS) X(SLOT_PID) X(SLOT_THREAD) \
  X(SLOT_KIND) X(SLOT_INTENT) X(SLOT_MESSAGES) X(SLOT_SIZE_OR_END) X(SLOT_ENDED) \
  X(SLOT_LOCK_BASE) X(KIND_SENDER) X(KIND_RECEIVER) X(INTENT_VALID) X(STATE_MASK) X(SLOT_SHIFT) \
  X(SLOT_FIELD_MASK) X(REC_FREE) X(REC_CLAIMED) X(REC_COMMITTED) X(REC_RELEASED) X(REC_ABANDONED) \
  X(SKIP) X(STATE_ENDED) X(STATE_SENDER_ENDED) X(FLAG_PERSISTENT) X(FLAG_END_WITH_LAST_SENDER) \
  X(FLAG_OVERFLOW_DROP) X(SLOT_CURSOR) X(SLOT_LOST) X(SLOT_CUT) X(OFF_OLDEST_POSITION) X(OFF_INTENT_POSITION) \
  X(MODE_SPSC) X(MODE_MPMC) X(MODE_BROADCAST) X(WAIT_FUTEX) X(WAIT_SEMAPHORE) X(WAIT_NAMED_SEMAPHORE) X(DEFAULT_WAIT_PARK) \
  X(DEFAULT_WAIT_SPIN) X(RECORD_ALIGNMENT) X(RECORD_HEADER_SIZE) X(PADDING_LENGTH) \
  X(FRAGMENT) X(FRAGMENT_FIRST) X(FRAGMENT_LAST) X(FRAGMENT_LENGTH_BITS) X(FRAGMENT_LENGTH_MASK) \
  X(FRAGMENT_START_BYTES) X(MAX_MESSAGE_SIZE_LIMIT) X(DEFAULT_MAX_MESSAGE_SIZE) \
  X(MIN_CAPACITY) X(MAX_CAPACITY) X(DEFAULT_CAPACITY) X(MAX_NAME_LENGTH) X(ROLE_SENDER) \
  X(ROLE_RECEIVER) X(PARK_SLICE_MS) X(PEER_CHECK_MS) X(PUBLISH_EVERY) X(SEMAPHORE_POST_CAP)

inline constexpr bool is_power_of_two(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }
inline constexpr bool is_known_mode(uint32_t mode) {
  return mode == MODE_SPSC || mode == MODE_MPMC || mode == MODE_BROADCAST;
}
inline constexpr uint32_t max_message_for(uint32_t capacity) {
  return capacity - RECORD_HEADER_SIZE;
}
// The most a data fragment carries (a quarter of the ring, with its header).
inline constexpr uint32_t fragment_bytes_for(uint32_t capacity) {
  return capacity / 4 - RECORD_HEADER_SIZE;
}
inline constexpr uint32_t record_size(uint32_t payload_length) {
  return (RECORD_HEADER_SIZE + payload_length + RECORD_ALIGNMENT - 1) & ~(RECORD_ALIGNMENT - 1);
}

// The layout's invariants.
static_assert(MAX_SLOTS <= 48 && SLOT_LOCK_BASE + MAX_SLOTS <= 64, "lock bytes 0..63 hold the roles and slots");
static_assert(MAX_SLOTS <= 64, "two 32-bit parked masks per kind");
static_assert(OFF_SLOTS + MAX_SLOTS * SLOT_SIZE <= HEADER_SIZE, "the slot table fits the header");
static_assert(OFF_DELIVERED_POSITION >= OFF_RELEASE_POSITION + LINE_SIZE &&
                  OFF_DELIVERED_POSITION + LINE_SIZE <= OFF_SLOTS,
              "the delivered line sits between the release line and the slots");
static_assert(OFF_DATA_SEMAPHORE + SEMAPHORE_BYTES <= OFF_SPACE_SIGNAL &&
                  OFF_SPACE_SEMAPHORE + SEMAPHORE_BYTES <= OFF_STATE,
              "each semaphore stays on its signal's line");
static_assert(OFF_DATA_SEMAPHORE % 16 == 0 && OFF_SPACE_SEMAPHORE % 16 == 0, "semaphores are aligned");
static_assert(OFF_IDENTITY_CHECK == 60 && OFF_MAX_MESSAGE_SIZE == 64 && IDENTITY_WORDS * 4 == OFF_MAX_MESSAGE_SIZE + 4 &&
                  IDENTITY_WORDS * 4 <= LINE_SIZE,
              "the identity words fill the first part of the identity line (version 3 added word 16)");
static_assert(fragment_bytes_for(MAX_CAPACITY) <= FRAGMENT_LENGTH_MASK && FRAGMENT_START_BYTES <= FRAGMENT_LENGTH_MASK &&
                  (FRAGMENT_FIRST | FRAGMENT_LAST | FRAGMENT_LENGTH_MASK) == ~FRAGMENT &&
                  (FRAGMENT | FRAGMENT_FIRST | FRAGMENT_START_BYTES) != PADDING_LENGTH &&
                  MAX_MESSAGE_SIZE_LIMIT % RECORD_ALIGNMENT == 0 && DEFAULT_MAX_MESSAGE_SIZE >= MAX_CAPACITY,
              "a fragment's length fits its bits; no start record reads as padding; any ring's messages may exceed it");
// Each word one side writes on the hot path has a line of its own (SPSC: the producer,
// consumer, written and delivered positions; MPMC: claim, take and release), apart from the
// identity line and from each other; the signals and the state line too.
constexpr uint32_t line_of(uint32_t offset) { return offset / LINE_SIZE; }
static_assert(line_of(OFF_PRODUCER_POSITION) == 1 && line_of(OFF_CONSUMER_POSITION) == 2 &&
                  line_of(OFF_DATA_SIGNAL) == 3 && line_of(OFF_SPACE_SIGNAL) == 4 && line_of(OFF_STATE) == 5 &&
                  line_of(OFF_WRITTEN_POSITION) == 6 && line_of(OFF_DELIVERED_POSITION) == 7,
              "SPSC: each mutable word on its own line, after the identity line");
static_assert(OFF_CLAIM_POSITION == OFF_PRODUCER_POSITION && OFF_TAKE_POSITION == OFF_CONSUMER_POSITION &&
                  line_of(OFF_RELEASE_POSITION) == 6,
              "MPMC: C, T and R on lines of their own (the SPSC lines, read differently)");
static_assert(line_of(OFF_MESSAGES_SENT) == line_of(OFF_PRODUCER_POSITION) &&
                  line_of(OFF_MESSAGES_RECEIVED) == line_of(OFF_CONSUMER_POSITION),
              "each message counter sits on its writer's line");
static_assert(line_of(OFF_RECEIVER_WAITERS) == line_of(OFF_DATA_SIGNAL) &&
                  line_of(OFF_RECEIVER_WAITERS_HIGH) == line_of(OFF_DATA_SIGNAL) &&
                  line_of(OFF_SENDER_WAITERS) == line_of(OFF_SPACE_SIGNAL) &&
                  line_of(OFF_SENDER_WAITERS_HIGH) == line_of(OFF_SPACE_SIGNAL),
              "the waiter counts and parked masks sit on their signal's line");
static_assert(line_of(OFF_SLOTS) > line_of(OFF_DELIVERED_POSITION) && SLOT_SIZE % 64 == 0 &&
                  SLOT_ENDED + 4 <= SLOT_SIZE && SLOT_MESSAGES % 8 == 0,
              "the slot table starts after the mutable lines; a slot's fields fit it");
static_assert(SLOT_CURSOR == SLOT_INTENT && SLOT_LOST % 8 == 0 && SLOT_LOST >= SLOT_ENDED + 4 &&
                  SLOT_CUT >= SLOT_LOST + 8 && SLOT_CUT + 4 <= SLOT_SIZE,
              "broadcast: a receiver slot's fields fit it, apart from the MPMC fields it does not use");
static_assert(line_of(OFF_OLDEST_POSITION) == 2 && line_of(OFF_INTENT_POSITION) == 7,
              "broadcast: O and I on lines of their own, apart from P (line 1) and written (line 6)");
static_assert(HEADER_SIZE % LINE_SIZE == 0 && (MIN_CAPACITY & (MIN_CAPACITY - 1)) == 0 &&
                  (MAX_CAPACITY & (MAX_CAPACITY - 1)) == 0 && DEFAULT_CAPACITY >= MIN_CAPACITY &&
                  DEFAULT_CAPACITY <= MAX_CAPACITY,
              "capacities are powers of two within bounds");

}  // namespace layout
}  // namespace ringwire

#endif  // RINGWIRE_LAYOUT_H
