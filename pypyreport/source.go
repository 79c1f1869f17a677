package pypyreport

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"

	"github.com/stmlog/stmlog/logformat/pypy"
)

// sourceCache is linecache: source files read once, split into lines.
type sourceCache struct {
	root  string
	files map[string][][]byte
}

// marker writes print_marker(marker): "  marker", then "\n    line" with
// the stripped source line if the marker names a readable file (c8 skips
// .pyc/.pyo files; pypy.SourceRef says where the original looks).
func (p *sourceCache) marker(w *bufio.Writer, marker string, c7 bool) {
	w.WriteString("  ")
	w.WriteString(marker)
	file, n, ok := pypy.SourceRef(marker, c7)
	if !ok || !c7 && (strings.HasSuffix(file, ".pyc") || strings.HasSuffix(file, ".pyo")) {
		return
	}
	if line := pyStrip(p.line(file, n)); len(line) > 0 {
		w.WriteString("\n    ")
		w.Write(line)
	}
}

// pyStrip is Python 2's str.strip() on a byte string: it removes the six
// ASCII whitespace bytes only. bytes.TrimSpace would also remove Unicode
// spaces such as U+00A0 or U+3000 that the original prints.
func pyStrip(b []byte) []byte { return bytes.Trim(b, " \t\n\v\f\r") }

// line is linecache.getline: the n-th line (from 1), "" if missing.
func (p *sourceCache) line(file string, n int) []byte {
	lines, ok := p.files[file]
	if !ok {
		path := file
		if p.root != "" && !filepath.IsAbs(path) {
			path = filepath.Join(p.root, path)
		}
		if data, err := os.ReadFile(path); err == nil {
			lines = splitLines(data)
		}
		p.files[file] = lines
	}
	if n < 1 || n > len(lines) {
		return nil
	}
	return lines[n-1]
}

// splitLines splits on universal newlines (\n, \r\n, \r), as Python's
// text-mode readlines does.
func splitLines(data []byte) [][]byte {
	var lines [][]byte
	for len(data) > 0 {
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			lines = append(lines, data)
			break
		}
		lines = append(lines, data[:i])
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	return lines
}
