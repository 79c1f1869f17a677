package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/stmlog/stmlog/runtime/stm"
)

// eventsNames are the --events values: the runtime's two recording levels
// under the names $STMLOG_EVENTS takes, so that a user who knows one knows
// the other.
var eventsNames = []string{"profile", "all"}

// registerEvents adds --events to a command that records.
func registerEvents(fl *pflag.FlagSet, p *string) {
	fl.StringVar(p, "events", "", "record at `LEVEL`: profile (conflicts, aborts and pauses in full, the other transactions counted; the default) or all (every attempt, which timeline and whatif need); unset, $STMLOG_EVENTS decides")
}

// eventsLevel returns the level --events selects. When the flag was not
// given, $STMLOG_EVENTS decides, as it would for the program itself.
func eventsLevel(value string) (stm.Level, error) {
	changed := value != ""
	if !changed {
		value = os.Getenv("STMLOG_EVENTS")
	}
	switch value {
	case "", "profile":
		return stm.LevelProfile, nil
	case "all", "full":
		return stm.LevelFull, nil
	}
	if !changed {
		return 0, usageError{fmt.Errorf("STMLOG_EVENTS=%s: want all or profile", value)}
	}
	return 0, usageError{fmt.Errorf("--events %s: want all or profile", value)}
}

// eventsEnv is STMLOG_EVENTS's value for a recorded child at level l.
func eventsEnv(l stm.Level) string {
	if l == stm.LevelFull {
		return "all"
	}
	return "profile"
}
