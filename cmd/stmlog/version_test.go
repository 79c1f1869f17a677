package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionText(t *testing.T) {
	stamped := &debug.BuildInfo{
		GoVersion: "go1.26.0",
		Main:      debug.Module{Path: "github.com/stmlog/stmlog", Version: "(devel)"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-12-02T19:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	clean := *stamped
	clean.Settings = append(clean.Settings[:3:3], debug.BuildSetting{Key: "vcs.modified", Value: "false"})
	released := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.3"}}
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"clone, dirty", stamped, `stmlog (devel) (go1.26.0, linux/amd64)
revision: 0123456789abcdef0123456789abcdef01234567
committed: 2026-12-02T19:00:00Z
modified: yes (built with uncommitted changes)
`},
		{"clone, clean", &clean, `stmlog (devel) (go1.26.0, linux/amd64)
revision: 0123456789abcdef0123456789abcdef01234567
committed: 2026-12-02T19:00:00Z
modified: no
`},
		{"installed by version", released, `stmlog v1.2.3 (go1.26.0, linux/amd64)
revision: not in the build info (built outside a clone, by go run, or with -buildvcs=false)
`},
	} {
		if got := versionText(tc.bi, "linux/amd64"); got != tc.want {
			t.Errorf("%s:\n%s\nwant\n%s", tc.name, got, tc.want)
		}
	}
	// -ldflags -X main.version wins over the build info's version.
	version = "v9.9.9"
	defer func() { version = "" }()
	if got := versionText(released, "linux/amd64"); !strings.HasPrefix(got, "stmlog v9.9.9 (go1.26.0, linux/amd64)\n") {
		t.Errorf("with main.version set: %q", got)
	}
}

// A binary built from this clone reports the commit it was built from, as
// git names it. In a linked git worktree (.git is a file there) the go
// command finds no repository and stamps nothing; the binary says so.
func TestVersionOfBuiltBinary(t *testing.T) {
	git := func(args ...string) string {
		out, err := exec.Command("git", args...).Output()
		if err != nil {
			t.Fatalf("git %s (the tests run in a clone): %v", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out))
	}
	head := git("rev-parse", "HEAD")
	top := git("rev-parse", "--show-toplevel")
	fi, err := os.Stat(filepath.Join(top, ".git"))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "stmlog")
	// -buildvcs=true overrides a GOFLAGS=-buildvcs=false in the environment.
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	// The go command puts a pseudo-version made of the commit time and
	// revision in the module version (go1.24 and later), "+dirty" after it
	// when the tree has changes.
	wants := []string{"stmlog v0.0.0-", head[:12], "revision: " + head + "\n", "committed: 20", "modified: "}
	if !fi.IsDir() {
		wants = []string{"stmlog (devel) (go", "revision: not in the build info"}
	}
	for _, want := range wants {
		if !strings.Contains(got, want) {
			t.Errorf("stmlog version printed\n%s\nwant it to contain %q", got, want)
		}
	}
}
