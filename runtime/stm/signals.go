//go:build unix

package stm

import (
	"fmt"
	"os"
	ossignal "os/signal"
	"sync"
	"syscall"
)

// Signals. A program recorded through STMLOG that is stopped by SIGINT or
// SIGTERM should leave a complete log, and still end the way it would have
// ended without recording. So, while STMLOG records, stm asks for both
// signals (signal.Notify). When one arrives, stm completes the log
// (StopLog: flush and end marker), gives the signal up (signal.Stop) and
// sends it to the process again. If the program did not ask for the
// signal itself, it now takes its default effect: the process dies of it,
// with the exit status it would have had without stm. If the program did
// ask for it, os/signal delivers the second one to the program too (a
// package cannot tell whether others asked), so the program's own handling
// decides, as it would have without stm — but it sees the signal twice. A
// program that counts signals (a second ^C forces the exit, or signal.Stop
// right after the first so that a second one kills) should end recording
// itself (StopLog) and set STMLOG_SIGNALS=0, which leaves signals alone.

var sigOnce sync.Once

// catchSignals starts stm's handling of SIGINT and SIGTERM (once).
func catchSignals() {
	if os.Getenv("STMLOG_SIGNALS") == "0" {
		return
	}
	sigOnce.Do(func() {
		c := make(chan os.Signal, 1)
		ossignal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
		go onSignal(c)
	})
}

func onSignal(c chan os.Signal) {
	s := <-c
	sig, _ := s.(syscall.Signal)
	if err := StopLog(); err != nil && cur.Load() != nil {
		fmt.Fprintf(os.Stderr, "stm: %v on %v\n", err, sig)
	}
	ossignal.Stop(c)
	syscall.Kill(os.Getpid(), sig)
}
