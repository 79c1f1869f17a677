package timeline

import (
	"strconv"
	"unicode/utf8"
)

// Low-level writers. Every trace event goes through begin, which counts it
// and enforces the cap.

func (cw *writer) begin(ph string, tid uint32) bool {
	if cw.stats.Capped || cw.err != nil {
		return false
	}
	if cw.max >= 0 && cw.stats.TraceEvents >= cw.max {
		cw.stats.Capped = true
		cw.stats.CappedAt = cw.now - cw.origin
		return false
	}
	cw.stats.TraceEvents++
	b := cw.buf[:0]
	if cw.first {
		cw.first = false
		b = append(b, '\n')
	} else {
		b = append(b, ",\n"...)
	}
	b = append(b, `{"ph":"`...)
	b = append(b, ph...)
	b = append(b, `","pid":1,"tid":`...)
	b = strconv.AppendUint(b, uint64(tid), 10)
	cw.buf = b
	return true
}

func (cw *writer) end() {
	cw.buf = append(cw.buf, '}')
	if _, err := cw.w.Write(cw.buf); err != nil && cw.err == nil {
		cw.err = err
	}
}

func (cw *writer) raw(s string) {
	if _, err := cw.w.WriteString(s); err != nil && cw.err == nil {
		cw.err = err
	}
}

func (cw *writer) meta(tid uint32, name, value string) {
	if !cw.begin("M", tid) {
		return
	}
	cw.buf = append(cw.buf, `,"name":`...)
	cw.buf = appendJSONString(cw.buf, name)
	cw.buf = append(cw.buf, `,"args":{"name":`...)
	cw.buf = appendJSONString(cw.buf, value)
	cw.buf = append(cw.buf, '}')
	cw.end()
}

func (cw *writer) metaSort(tid uint32) {
	if !cw.begin("M", tid) {
		return
	}
	cw.buf = append(cw.buf, `,"name":"thread_sort_index","args":{"sort_index":`...)
	cw.buf = strconv.AppendUint(cw.buf, uint64(tid), 10)
	cw.buf = append(cw.buf, '}')
	cw.end()
}

func (cw *writer) slice(tid uint32, start, end int64, name, cname, cat string, args []byte) {
	cw.track(tid)
	if !cw.begin("X", tid) {
		return
	}
	b := append(cw.buf, `,"ts":`...)
	b = appendMicros(b, start)
	b = append(b, `,"dur":`...)
	b = appendMicros(b, end-start)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, name)
	b = append(b, `,"cat":"`...)
	b = append(b, cat...)
	b = append(b, '"')
	if cname != "" {
		b = append(b, `,"cname":"`...)
		b = append(b, cname...)
		b = append(b, '"')
	}
	if len(args) > 0 {
		b = append(b, `,"args":`...)
		b = append(b, args...)
	}
	cw.buf = b
	cw.end()
}

func (cw *writer) instant(tid uint32, ts int64, name, cat string, args []byte) {
	cw.track(tid)
	if !cw.begin("i", tid) {
		return
	}
	b := append(cw.buf, `,"s":"t","ts":`...)
	b = appendMicros(b, ts)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, name)
	b = append(b, `,"cat":"`...)
	b = append(b, cat...)
	b = append(b, `","args":`...)
	b = append(b, args...)
	cw.buf = b
	cw.end()
}

func (cw *writer) flow(ph string, tid uint32, ts int64, id uint64) {
	cw.track(tid)
	if !cw.begin(ph, tid) {
		return
	}
	b := append(cw.buf, `,"ts":`...)
	b = appendMicros(b, ts)
	b = append(b, `,"name":"conflict","cat":"conflict","id":`...)
	b = strconv.AppendUint(b, id, 10)
	if ph == "f" {
		b = append(b, `,"bp":"e"`...) // bind to this side's enclosing attempt
	}
	cw.buf = b
	cw.end()
}

// appendMicros writes nanoseconds as the microseconds the format wants, with
// all three decimals so no precision is lost.
func appendMicros(b []byte, ns int64) []byte {
	if ns < 0 {
		b = append(b, '-')
		if ns == -1<<63 {
			return append(b, "9223372036854775.808"...)
		}
		ns = -ns
	}
	b = strconv.AppendInt(b, ns/1000, 10)
	f := ns % 1000
	return append(b, '.', byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10))
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD;
// U+2028/U+2029 are escaped so the output is also valid JavaScript.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, `\u202`...)
			b = append(b, hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
