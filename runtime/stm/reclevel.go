package stm

// Recording levels, and StartLog's options (record.go starts and stops
// recordings).

import "github.com/stmlog/stmlog/logformat"

// Level is how much a recording logs: LevelProfile (the default) or
// LevelFull. See the package doc, "Recording".
type Level = logformat.Level

const (
	// LevelProfile logs every conflict, abort and pause in full, with both
	// sides' stacks and exact times, and counts the transactions that meet
	// no contention (their time is sampled) and the Retry waits of calls
	// that meet nothing else (their times exact).
	LevelProfile = logformat.LevelProfile
	// LevelFull logs every attempt of every transaction: what timelines
	// and what-if replay need; it costs more.
	LevelFull = logformat.LevelFull
)

// A LogOption configures StartLog.
type LogOption func(*logConfig)

type logConfig struct {
	level     Level
	everySite bool
}

// WithLevel makes StartLog record at level l (LevelProfile or LevelFull).
func WithLevel(l Level) LogOption { return func(c *logConfig) { c.level = l } }

// WithEverySite makes a full-level recording capture the site of every
// Store, so that a Var's first conflict names the other side's write site
// too; without it a Store captures its site only once its Var has been in
// a conflict, and while others conflict with its goroutine, at either
// level (see the package doc, "Recording"). It costs a stack lookup a
// Store. STMLOG_SITES=all does the same for STMLOG.
func WithEverySite() LogOption { return func(c *logConfig) { c.everySite = true } }

// parseLevel reads $STMLOG_EVENTS: "all" (or "full") is the full level;
// "" and "profile" the profile level.
func parseLevel(s string) (Level, bool) {
	switch s {
	case "", "profile":
		return LevelProfile, true
	case "all", "full":
		return LevelFull, true
	}
	return LevelProfile, false
}

// parseSites reads $STMLOG_SITES: "all" has a full-level recording
// capture every Store's site (WithEverySite); "" and "contended" the
// default, the sites of Vars that have been in a conflict.
func parseSites(s string) (all, ok bool) {
	switch s {
	case "", "contended":
		return false, true
	case "all":
		return true, true
	}
	return false, false
}
