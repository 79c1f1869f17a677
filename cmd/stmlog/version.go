package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version is set at link time (-ldflags "-X main.version=v1.2.3"); otherwise
// the module version from the build info is shown.
var version = ""

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print stmlog's version and the commit it was built from",
		Long: `Print stmlog's version, the Go release that built it, and, for a binary
built from a clone (go install ./cmd/stmlog, go build), the VCS revision, its
commit time and whether the tree had uncommitted changes, as the go command
stamped them into the binary's build info.`,
		Example: `  stmlog version`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			bi, _ := debug.ReadBuildInfo()
			fmt.Fprint(cmd.OutOrStdout(), versionText(bi, runtime.GOOS+"/"+runtime.GOARCH))
			return nil
		},
	}
}

// versionText is what `stmlog version` prints for the build info bi (nil if
// the binary has none) on platform.
func versionText(bi *debug.BuildInfo, platform string) string {
	v, goVersion := version, runtime.Version()
	var rev, when, modified string
	if bi != nil {
		if v == "" {
			v = bi.Main.Version
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "stmlog %s (%s, %s)\n", v, goVersion, platform)
	if rev == "" {
		// go run, go test and -buildvcs=false leave the VCS stamp out; a
		// module installed by version has its version above instead.
		b.WriteString("revision: not in the build info (built outside a clone, by go run, or with -buildvcs=false)\n")
		return b.String()
	}
	fmt.Fprintf(&b, "revision: %s\n", rev)
	if when != "" {
		fmt.Fprintf(&b, "committed: %s\n", when)
	}
	switch modified {
	case "true":
		b.WriteString("modified: yes (built with uncommitted changes)\n")
	case "false":
		b.WriteString("modified: no\n")
	}
	return b.String()
}
