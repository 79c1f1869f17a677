package main

// `stmlog web` serves the web UI of package internal/webui (pprof's UI for
// the three views of the logs' conflicts, an index page, offline timelines)
// on a server of its own: it loads the logs once (loadPprofProfiles, shared
// with `stmlog pprof`), chooses the address and refuses non-loopback ones,
// and shuts down cleanly on Ctrl-C.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/stmlog/stmlog/internal/webui"
	"github.com/stmlog/stmlog/report"
)

type webFlags struct {
	load        loadFlags
	http        string
	allowRemote bool
	open        bool
	// opener shows a URL in a browser (tests replace it).
	opener func(url string) error
}

func newWebCmd() *cobra.Command {
	f := &webFlags{opener: webui.OpenBrowser}
	cmd := &cobra.Command{
		Use:   "web [flags] LOG...",
		Short: "Browse time lost to conflicts in pprof's web UI (flame graph, top, source)",
		Long: `Serve pprof's web UI for the logs: flame graph, top, source listing and peek,
for three views of each conflict (this: the side that lost time; other: the
other side; pair: this side on top of the conflict kind on top of the other
side) and four sample types (lost, aborted, paused, conflicts). Pages
start at line granularity (one box per source line; pprof's VIEW menu
switches to functions) and link back to the index, which also links an
offline timeline of each log (the drawing of stmlog timeline --format html).

The server listens on 127.0.0.1 only (a random port by default); naming
another interface in --http needs --allow-remote, since the UI shows source
code. Ctrl-C stops it.`,
		Example: `  stmlog web stm.log                             # on a free port of 127.0.0.1
  stmlog web --open --http 127.0.0.1:8080 a.log b.log`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.load.input.stdin = cmd.InOrStdin()
			return runWeb(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args, f)
		},
	}
	fl := cmd.Flags()
	f.load.registerInput(fl)
	fl.StringVar(&f.http, "http", "127.0.0.1:0", "`host:port` to listen on (port 0: any free port)")
	fl.BoolVar(&f.allowRemote, "allow-remote", false, "allow --http to name a non-loopback interface")
	fl.BoolVar(&f.open, "open", false, "open the UI in the default browser")
	return cmd
}

// spoolStdin copies standard input, if paths name it ("-"), to a temporary
// file that stands in for it: the timeline pages read a log again for each
// window, which a stream cannot do. cleanup removes the file.
func spoolStdin(paths []string, stdin io.Reader) (_ []string, cleanup func(), err error) {
	cleanup = func() {}
	if err := checkStdinArgs(paths); err != nil || !slices.Contains(paths, "-") {
		return paths, cleanup, err
	}
	fh, err := os.CreateTemp("", "stmlog-stdin-*.log")
	if err != nil {
		return nil, cleanup, err
	}
	cleanup = func() { os.Remove(fh.Name()) }
	_, err = io.Copy(fh, stdin)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return nil, func() {}, fmt.Errorf("copying standard input to %s: %w", fh.Name(), err)
	}
	paths = slices.Clone(paths)
	paths[slices.Index(paths, "-")] = fh.Name()
	return paths, cleanup, nil
}

// runWeb serves until ctx is done or the process gets SIGINT/SIGTERM, then
// shuts the server down and returns nil. Signals are caught only once the
// logs are loaded: Ctrl-C during a long load just ends the process.
func runWeb(ctx context.Context, stdout, stderr io.Writer, paths []string, f *webFlags) error {
	if err := webui.CheckListenAddr(f.http, f.allowRemote); err != nil {
		return usageError{err}
	}
	paths, cleanup, err := spoolStdin(paths, f.load.input.stdin)
	if err != nil {
		return err
	}
	defer cleanup()
	profiles, info, err := loadPprofProfiles(paths, &f.load, report.PprofViews, report.SampleLost, stderr)
	if err != nil {
		return err
	}
	for _, w := range info.Warnings {
		fmt.Fprintln(stderr, "stmlog web: warning:", w)
	}
	_, lo, err := f.load.options()
	if err != nil {
		return err
	}
	h, err := webui.NewHandler(profiles, info.index(), lo)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", f.http)
	if err != nil {
		return err // "listen tcp 127.0.0.1:80: bind: permission denied"
	}
	url := "http://" + ln.Addr().String() + "/"
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	fmt.Fprintf(stdout, "Serving the stmlog web UI on %s (Ctrl-C to stop)\n", url)
	if f.open && f.opener != nil {
		if err := f.opener(url); err != nil {
			fmt.Fprintf(stderr, "stmlog web: could not open a browser (%v); open %s yourself\n", err, url)
		}
	}

	select {
	case err := <-served:
		return fmt.Errorf("serving %s: %w", url, err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	fmt.Fprintln(stdout, "stmlog web: stopped")
	return nil
}
