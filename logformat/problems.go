package logformat

import "fmt"

// Problems judges a log's integrity from the Stats its reader ended with and
// the error Next ended with (nil at io.EOF): what is wrong, one phrase each,
// or nothing for a whole log. It is the one judgement there is: `stmlog
// check` fails a log when Problems says anything, and package analyze warns
// with these phrases for a reader that does not describe the damage in
// Stats.Warnings itself.
//
// Damage (a read error, chunks skipped under salvage), a cut-off tail and a
// native log without its end marker (the recording did not stop cleanly)
// are problems. Events the recorder dropped are not: the log says how many,
// and is whole otherwise.
func (s Stats) Problems(readErr error) []string {
	var out []string
	if readErr != nil {
		out = append(out, "damaged")
	}
	if s.Skipped > 0 {
		out = append(out, fmt.Sprintf("%d damaged chunks (%d bytes) skipped", s.Skipped, s.SkippedBytes))
	}
	switch {
	case s.TruncatedBytes > 0 && s.TruncatedBytes == s.Bytes && s.Chunks == 0:
		out = append(out, fmt.Sprintf("cut off inside its header: %d bytes, no %s", s.TruncatedBytes, s.Unit()))
	case s.TruncatedBytes > 0:
		out = append(out, fmt.Sprintf("cut off: the last %d bytes are an incomplete %s (ignored)", s.TruncatedBytes, s.Unit()))
	case s.Native() && !s.CleanEnd && readErr == nil:
		out = append(out, "no end marker: recording was not stopped cleanly (StopLog not called, or the program was killed)")
	}
	return out
}

// Unit names what Chunks counts: "chunk" for a native log, "record" for a
// PyPy-STM log (a sequence of records).
func (s Stats) Unit() string {
	if s.Native() {
		return "chunk"
	}
	return "record"
}
