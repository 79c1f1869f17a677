// Package logformat is stmlog's event model (event.go) and its native binary
// log format: a Writer used by runtime/stm's recorder and a streaming Reader
// used by the analyzer. Package logformat/pypy reads PyPy-STM logs into the
// same model.
//
// The format is shaped by how logs are made and read. A program being
// profiled appends to the log for as long as it runs and may die at any
// moment, so the file is a sequence of self-delimiting, checksummed chunks,
// each written whole: whatever prefix reached the disk stays readable, and a
// reader can tell a cut-off tail (normal after a crash) from damage (a bug or a
// bad disk). Logs can be gigabytes, so the reader streams chunk by chunk with
// memory bounded by the chunk-size cap, and events are small (time deltas and
// varints, call stacks written once and referred to by number). Everything
// below is version 2 of the format, complete enough to write a reader from;
// version 1 is version 2 without the process-info, processor-usage and
// aggregates chunks (see "Version 2"), and readers read both.
//
// # Encoding conventions
//
// All fixed-size integers are little-endian. "uvarint" is an unsigned LEB128
// varint as written by encoding/binary.AppendUvarint (7 bits per byte, low
// group first, high bit set on every byte but the last, at most 10 bytes,
// value < 2^64). "varint" is a signed integer zigzag-mapped to a uvarint
// ((n << 1) ^ (n >> 63)), as encoding/binary.AppendVarint writes it. Writers
// use the shortest form, but readers must accept a uvarint or varint written
// with more bytes than it needs (high groups of 0 with the continuation bit
// set, still at most 10 bytes) as the value it encodes. A "string" is a
// uvarint byte length followed by that many bytes (normally UTF-8, but readers
// must not rely on it). CRC-32C is the Castagnoli CRC (polynomial 0x1EDC6F41,
// bit-reflected, initial value and final XOR 0xFFFFFFFF: the CRC of iSCSI, of
// Go's hash/crc32 with crc32.Castagnoli and of the SSE4.2 and ARMv8 crc32c
// instructions), stored little-endian.
//
// # File header
//
// A log starts with 10 bytes:
//
//	offset size  field
//	0      8     magic    "\x89STMLOG\n" (see Magic); the non-ASCII first byte
//	                      keeps text files from matching, the newline catches
//	                      newline translation
//	8      2     version  uint16, 2 for this format (1 for version-1 logs)
//
// A reader refuses other magics ("not an stmlog log") and versions it does
// not know. A file of 1 to 9 bytes that are a prefix of a valid header is a
// log cut off before its first chunk (empty, truncated). The version is judged
// only when both of its bytes are there: the magic followed by one byte, of
// whatever value, is such a cut-off log, not one of an unknown version. A
// 0-byte file is not a log: nothing in it tells its format, and a Writer
// writes the header at once, before anything else, so no program leaves an
// empty native log behind; NewReader refuses it (an error wrapping
// ErrNotNative), IsNative reports false for an empty prefix, and every stmlog
// command says "empty file, not a log".
//
// # Chunks
//
// After the header come chunks until the end of the file. Each chunk is a
// 13-byte chunk header followed by its payload:
//
//	offset size  field
//	0      1     type     chunk type, see below
//	1      4     length   payload length in bytes, uint32, at most
//	                      MaxChunkSize (1 MiB); a reader never allocates more
//	                      than that for one chunk
//	5      4     dataCRC  CRC-32C of the payload bytes
//	9      4     headCRC  CRC-32C of bytes 0..8 of this chunk header
//
// The header has its own checksum so that a damaged length is reported as
// damage rather than mistaken for a cut-off file, and so that a salvaging
// reader can find the next chunk after a damaged header by scanning for 13
// bytes whose headCRC matches.
//
// A chunk whose header or payload does not fit in what remains of the file is
// a truncated tail: the reader keeps every chunk before it and reports how
// many bytes it ignored. A chunk with a bad headCRC, a length above the cap, a
// bad dataCRC, or a payload that does not decode as described below is
// corrupt: the reader reports the byte offset and stops, or, when salvaging,
// skips that one chunk and goes on. A reader checks a chunk in this order:
// whether its 13-byte header fits (if not: truncated), the headCRC, the length
// against the cap, whether the payload fits (if not: truncated), the dataCRC,
// then the content; so a header whose length runs past the end of the file is
// corrupt, not truncated, when its headCRC is bad or its length is above the
// cap.
//
// The byte offset an error names (CorruptError.Offset) is the file offset of
// the first byte of the smallest thing found bad: the chunk header's first
// byte for a bad headCRC, length or dataCRC and for a chunk type that must not
// be skipped; the first byte after the end chunk for data after it; the
// payload's first byte when the payload's leading fields (a table's first id
// and count, a batch's thread, base and count, a dropped-events count) are bad
// or a batch is rejected whole (it goes back in time); otherwise the first
// byte of the string, stack, frame, var-name entry or event that does not
// decode (an event's first byte is its delta, even when the bad part is one of
// its fields).
//
// Chunk types 1..7 and 128 are defined below (7 and 128 from version 2 on). A reader skips a chunk of a type it
// does not know if the type is below 128 (a future version may add optional
// chunks such as metadata or indexes that old readers can ignore), and
// refuses to go on past an unknown type of 128 or more (a future version will
// use those for data an old reader must not silently lose, for example events
// with new fields). Type 0 is never written; a reader that meets one (with
// valid checksums) skips it like any other unknown type below 128.
//
// Within every payload, a future version may append new fields after the last
// field described here (after the last entry of a table, after the last event
// of a batch, after the count of a dropped-events chunk, in the end chunk); a
// version-1 reader ignores payload bytes after the fields it knows. Nothing
// may be inserted before or between the fields described here.
//
// # Strings (type 1)
//
// Strings are interned: each distinct string is written once and referred to
// by its id. Id 0 is the empty string and is never written. The payload is
//
//	uvarint first  id of the first string in this chunk
//	uvarint n      number of strings that follow
//	n × string     the strings with ids first, first+1, ..., first+n-1
//
// Writers number strings 1, 2, 3, ... in file order, so first is always one
// more than the number of strings defined before the chunk; readers reject any
// other first (a salvaging reader accepts a gap left by chunks it skipped and
// resolves the missing ids to "(lost)"). A writer truncates strings longer
// than MaxStringLen bytes; the limit binds writers only, and a reader accepts
// any string that fits in its chunk (MaxFrames and MaxBatchEvents, in
// contrast, bind readers too).
//
// # Stacks (type 2)
//
// Call stacks are written once and referred to by id (Event.Site,
// Event.OtherSite). Id 0 means "no stack" and is never written.
//
//	uvarint first  id of the first stack in this chunk
//	uvarint n      number of stacks that follow
//	n × stack:
//	  uvarint label    string id of Stack.Label (0: none)
//	  uvarint nframes  number of frames, at most MaxFrames
//	  nframes × frame, leaf (innermost) first:
//	    uvarint func   string id of the function name
//	    uvarint file   string id of the file name
//	    uvarint line   line number, < 2^31, 0 = unknown
//
// Ids are numbered like string ids. Every string id used must have been
// defined by an earlier strings chunk.
//
// # Var names (type 3)
//
//	uvarint n      number of entries
//	n × (uvarint var id, uvarint string id)
//
// Names a transactional variable (Event.Var) for reports. A later entry for
// the same var id replaces the earlier name. The string must be defined by an
// earlier chunk.
//
// # Event batch (type 4)
//
// A run of events of one thread, in the order they happened:
//
//	uvarint thread  Event.Thread, 1..2^32-1 (readers reject 0 and 2^32
//	                or more: Event.Thread is a uint32)
//	varint  base    time base in nanoseconds
//	uvarint n       number of events, 1..MaxBatchEvents, and at most half
//	                the rest of the payload (an event takes at least 2 bytes)
//	n × event:
//	  uvarint delta   Event.Time = previous event's time + delta; the
//	                  previous time of the first event is base. The sum
//	                  must not overflow int64.
//	  uvarint head    head & 0x1f is Event.Kind (a valid Kind); head >> 5 is
//	                  the field mask, < 128. For each mask bit that is set,
//	                  in increasing bit order, one field follows:
//	    bit 0  1 byte    Event.Cause     (a valid AbortCause)
//	    bit 1  1 byte    Event.Reason    (a valid WaitReason)
//	    bit 2  1 byte    Event.Conflict  (a ConflictKind, 0 none included)
//	    bit 3  uvarint   Event.Other     (< 2^32)
//	    bit 4  uvarint   Event.Var
//	    bit 5  uvarint   Event.Site      (a stack id defined by an earlier chunk, or 0)
//	    bit 6  uvarint   Event.OtherSite (likewise)
//	  A field whose bit is clear is zero. Writers leave zero fields out,
//	  but readers must accept a field whose bit is set and whose value is
//	  0: it decodes as if the bit were clear.
//
// Time never goes backwards within a thread across the whole log: the first
// event of a batch is not earlier than the last event of the previous batch
// of the same thread, and readers reject a log where it is. Batches of
// different threads are interleaved in the order the writer flushed them, so
// events of different threads are not globally sorted by time; consumers that
// need a global order merge by Event.Time.
//
// # Enumerations
//
// The byte and 5-bit values of the event fields (the names are what
// the String methods return):
//
//	Kind          1 start, 2 commit, 3 abort, 4 conflict, 5 wait,
//	              6 wait-done, 7 become-inevitable, 8 detach, 9 reattach,
//	              10 gc-minor-start, 11 gc-minor-done, 12 gc-major-start,
//	              13 gc-major-done (0 and 14..31 are invalid)
//	ConflictKind  1 write-write, 2 write-read, 3 inevitable (0 is none;
//	              4..255 invalid)
//	AbortCause    0 unknown, 1 conflict, 2 retry, 3 error, 4 panic,
//	              5 inevitable (6..255 invalid)
//	WaitReason    0 unknown, 1 inevitable, 2 retry, 3 backoff,
//	              4 commit-lock, 5 free-segment, 6 syncing, 7 sync-pause,
//	              8 contention (9..255 invalid)
//
// A version-1 reader rejects values it does not know, so new values need a new
// version (or a critical chunk type).
//
// # Dropped events (type 5)
//
//	uvarint count   number of events the recorder lost (for example to a
//	                full buffer) since the previous dropped-events chunk
//
// Readers add the counts up (Stats.Dropped).
//
// # End (type 6)
//
// An empty payload, written once by Writer.Close as the last chunk. A log
// without it was not closed (the program crashed, or is still running);
// readers say so but keep everything before. Bytes after the end chunk are
// corruption.
//
// # Process info (type 7, version 2)
//
// Written by version-2 writers as the first chunk after the header, when
// they know what it holds; a log may lack it. Zero means unknown.
//
//	uvarint level       what the log holds as events: 1 full (every
//	                    attempt), 2 profile (see Aggregates); 0 unknown,
//	                    3 and more invalid
//	uvarint gomaxprocs  runtime.GOMAXPROCS of the recording process when
//	                    recording started (< 2^31)
//	uvarint numcpu      runtime.NumCPU of the recording process (< 2^31)
//
// Readers expose it as Meta (Reader.Meta), with the file's version. It is
// optional (type < 128): a reader that does not know it loses only this
// description.
//
// # Processor usage (type 8, version 2)
//
// How much processor time the recording had, written by recorders now and
// then (runtime/stm: at most every 100 ms, at a flush, and at the last
// one); a log may have none. The figures are totals from the start of
// recording, so the last record covers the whole log:
//
//	uvarint time     ns since recording started (the clock of event
//	                 times), >= 1
//	uvarint cpu      CPU time (user and system) of the recording process
//	                 since then, ns (< 2^63)
//	uvarint idle     time the machine's processors were idle since then
//	                 (idle and waiting for I/O), summed over them, ns
//	                 (< 2^63)
//	uvarint cpus     the processors idle counts (< 2^31); 0: the machine's
//	                 idle time is not known, and idle is 0
//
// (cpu + idle) / time is how many processors the recording process could
// have used: what other processes used was not available to it. Readers
// expose the last record read as Meta.Usage. It is optional (type < 128);
// in a version-1 log it is skipped.
//
// # Aggregates (type 128, version 2)
//
// At the profile level a recorder logs as events only the transactions
// that met contention: every attempt of an Atomically call that had a
// conflict, an abort of any cause, a pause or became inevitable, from the
// start of the attempt that met it on. The others, calls of one attempt
// that committed without meeting anything, are counted per thread in
// aggregate records, written at every flush:
//
//	uvarint n          number of records, >= 1
//	n × record:
//	  uvarint thread   >= 1
//	  varint  start    start of the period the record covers, ns
//	  uvarint length   end = start + length (must not overflow int64)
//	  uvarint commits  commits in the period not logged as events
//	  uvarint timed    of these, commits timed exactly (timed <= commits)
//	  uvarint timedNs  their total duration, ns (< 2^63)
//	  uvarint sampled  of the others, commits timed as a random sample
//	                   (timed + sampled <= commits)
//	  uvarint sampledNs  their total duration, ns (< 2^63)
//	  8 bytes sampledSq  float64, little-endian IEEE 754: the sum of their
//	                   squared durations, ns² (finite, >= 0)
//	  uvarint estimated  attempts of this thread in the period that are in
//	                   the log as events but whose start event's time is an
//	                   estimate (see below)
//
// The type is critical (>= 128): a reader that skipped it would count too
// few transactions.
//
// Type 129 (version 2) is the same chunk for records that also count Retry
// waits; a writer puts a record in it only when one of its three fields
// below is not 0, so that logs of programs that never wait in Retry stay
// readable by readers that know only type 128. Each record is type 128's,
// followed by:
//
//	uvarint retryWaits      Retry waits of the thread in the period not
//	                        logged as events: in a call that had met no
//	                        other contention, an attempt that ended in a
//	                        Retry (an abort of cause retry) and the pause
//	                        of reason retry that followed it
//	uvarint retryPausedNs   their pauses' total duration, ns (< 2^63):
//	                        exact, from two clock reads a wait
//	uvarint retryAbortedNs  the total run time of the attempts that
//	                        retried, ns (< 2^63): exact, but for an
//	                        attempt whose start was not timed, whose
//	                        start is estimated as for an event (counted
//	                        in estimated; see "Estimated starts")
//
// A call that so waited and then committed without meeting anything else
// is one of commits, its duration that of the attempt that committed (from
// the end of its last wait), timed or not as any call. A full
// level log holds these waits as events (an abort and a pause each); a
// reader charges an aggregated one as it would those events, with no
// pending conflict: the abort's time and the pause's to the thread and to
// the totals of cause retry and reason retry, attributed to no conflict.
// It is critical for the same reason as type 128. (The profile level logs a
// Retry that follows a conflict, or a pause of any other reason, as events.) Records of one thread cover consecutive periods; their
// times follow the events' clock but are not ordered with the thread's
// events (a record is not an event). The sum of the records of a thread is
// exact for commits: the log holds commits + the commit events of the
// thread.
//
// Time committed. The recorder times a call from the start of its attempt
// to its commit when the call is drawn for the sample: one call in 64 on
// average, at intervals drawn uniformly from 1..127 calls, independently
// of what the calls do (sampled), or every call of a thread that made
// fewer than 100,000 such calls a second over the last flush interval (and
// a new thread's first calls, up to 1000 per 10 ms), where two clock reads
// a call cost a few tenths of a percent of a processor: those are timed
// (timed: exact); so is every call of a thread whose timed calls average
// at least 200 clock reads (about 2 µs here), whose two reads cost at
// most 1 %. Whether a call is timed depends only on the calls before it,
// so the sample stays a uniform draw from the calls not timed exactly. The time of the untimed commits,
// u = commits - timed - sampled, is estimated as u times the sample mean
// m = sampledNs / sampled, so the time committed is
//
//	timedNs + sampledNs + u × m
//
// with standard error u × s / sqrt(sampled), where s² = (sampledSq -
// sampled × m²) / (sampled - 1) is the sample variance. Readers pool the
// records of a thread (or of all threads, for the totals) before
// estimating: the sums add up, and a pooled sample is larger. A report
// calls such a figure an estimate; with 1000 sampled commits and durations
// whose standard deviation is their mean, the 95 % bound is about ±6 % of
// the untimed part. The bound assumes durations of finite variance: where
// a descheduled call counts milliseconds among calls of a microsecond (a
// loaded machine), one sampled outlier moves the estimate by far more, and
// the bound of a sample that holds none is too narrow (runtime/stm's
// BenchmarkLevelEstimate measures it; BENCHMARKS.md has figures).
//
// Estimated starts. The recorder reads no clock at the start of an untimed
// call; when such an attempt then meets contention, the start event it logs
// is placed at the time the contention was met minus the thread's mean
// sampled duration (never before the thread's previous event), and counted
// in estimated. Every later attempt of the call has an exact start. The
// error of an estimated start is the difference between that attempt's
// time until it met contention and the thread's mean sampled duration: it
// shifts the time lost by the first aborted attempt of a call (not its
// count, kind, sites, or the pauses, which are exact), by about one
// committed transaction's length for an attempt that was not descheduled.
// The sum of estimated says how many attempts had such a start.
//
// # Version 2
//
// Version 2 adds the four chunks above and nothing else: a version-2
// reader reads a version-1 log as one without process info (Meta.Version
// 1, Level unknown) and without aggregates, which is a log of every
// attempt. A version-2 log of the full level holds no aggregates chunk and
// reads like a version-1 log otherwise. A version-1 reader refuses version
// 2 by its header. An aggregates chunk in a version-1 log is corruption.
//
// # Chunk order
//
// Every id a chunk uses is defined by an earlier chunk: strings before the
// stacks and var names that use them, stacks before the batches that refer to
// them. A reader can therefore resolve everything in one pass, holding only
// the string, stack and var-name tables.
//
// # Example
//
// A whole log (46 bytes) with two events of thread 1, a start at time 1000
// and an abort (cause retry) at 1300, then the end chunk:
//
//	89 53 54 4d 4c 4f 47 0a  magic
//	02 00                    version 2
//	04                       chunk type 4: event batch
//	0a 00 00 00              payload length 10
//	55 f5 84 97              CRC-32C of the 10 payload bytes
//	2c 65 dc 44              CRC-32C of the 9 bytes 04 .. 97
//	  01                     thread 1
//	  d0 0f                  base: varint 1000 (zigzag 2000)
//	  02                     2 events
//	  00 01                  delta 0 (time 1000), head 1: kind 1 (start), no fields
//	  ac 02 23 02            delta 300 (time 1300), head 0x23: kind 3 (abort) and
//	                         mask 1 (cause); cause 2 (retry)
//	06 00 00 00 00           chunk type 6: end, empty payload
//	00 00 00 00              CRC-32C of nothing
//	f1 70 bb 88              CRC-32C of the 9 bytes 06 .. 00
//
// For checking a CRC-32C implementation: the CRC-32C of the ASCII bytes
// "123456789" is 0xe3069283.
//
// # Writer and Reader
//
// Writer produces this format with no allocation per event: each thread's
// events are appended to a byte buffer that becomes one chunk when it reaches
// 64 KiB or at Flush, and stacks are deduplicated by content. Reader decodes
// it as a Source, streaming, one chunk in memory at a time. The numbers are
// the constants Magic, Version, MaxChunkSize, MaxBatchEvents, MaxStringLen
// and MaxFrames.
package logformat
