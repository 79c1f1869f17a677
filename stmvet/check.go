package stmvet

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/tools/go/analysis"
	achecker "golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"
)

// Finding is one diagnostic with its position resolved, for programs that
// run the Analyzer themselves (cmd/stmlog joins them to a report's sites).
type Finding struct {
	File    string // absolute
	Line    int
	Column  int
	Message string
}

func (f Finding) String() string {
	return f.File + ":" + strconv.Itoa(f.Line) + ":" + strconv.Itoa(f.Column) + ": " + f.Message
}

// Check loads the packages that patterns name, from dir (a directory of a
// Go module), and runs the Analyzer on them. It type-checks the packages and
// their dependencies from source, as go vet does: seconds, not milliseconds.
func Check(dir string, patterns ...string) ([]Finding, error) {
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	cfg := &packages.Config{Mode: packages.LoadAllSyntax, Dir: dir, Tests: false}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		return nil, fmt.Errorf("stmvet: loading %s in %s: %w", strings.Join(patterns, " "), dir, err)
	}
	var errs []string
	packages.Visit(pkgs, nil, func(p *packages.Package) {
		for _, e := range p.Errors {
			errs = append(errs, e.Error())
		}
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("stmvet: %s in %s: %s", strings.Join(patterns, " "), dir, errs[0])
	}
	g, err := achecker.Analyze([]*analysis.Analyzer{Analyzer}, pkgs, nil)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for act := range g.All() {
		if !act.IsRoot || act.Analyzer != Analyzer {
			continue
		}
		if act.Err != nil {
			return nil, act.Err
		}
		for _, d := range act.Diagnostics {
			p := act.Package.Fset.Position(d.Pos)
			file, _ := filepath.Abs(p.Filename)
			out = append(out, Finding{File: file, Line: p.Line, Column: p.Column, Message: d.Message})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line || out[i].Line == out[j].Line && out[i].Column < out[j].Column
	})
	return out, nil
}
