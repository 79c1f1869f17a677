package stmvet

import (
	"go/types"
	"strings"
)

// Kind names a class of finding. Kinds are part of the message a user reads
// and of the report's join (cmd/stmlog matches diagnostics to sites by line,
// and shows the kind).
type Kind string

const (
	KindIO       Kind = "io"         // fmt/os/net/log/exec/print output or input
	KindClock    Kind = "clock"      // time.Now, Sleep, timers
	KindChannel  Kind = "channel"    // send, receive, select, close, range over a channel
	KindGo       Kind = "go"         // go statement
	KindMutex    Kind = "mutex"      // sync locks and waits
	KindRand     Kind = "rand"       // the global math/rand source
	KindNested   Kind = "nested"     // stm.Atomically inside a body
	KindPeek     Kind = "peek"       // Var.Peek inside a body
	KindRecover  Kind = "recover"    // recover() inside a body
	KindCaptured Kind = "captured"   // append or += to a captured variable
	KindRetry    Kind = "retry"      // Retry / ErrRetry with nothing read before it
	KindEscape   Kind = "escape"     // the *Tx leaves the body
	KindNeedless Kind = "inevitable" // tx.Inevitable() that nothing after it needs
)

// sideEffect reports whether findings of kind k are what tx.Inevitable()
// makes safe: once a transaction is inevitable it runs exactly once, so its
// output, clock reads and hand-offs happen once too.
func (k Kind) sideEffect() bool {
	switch k {
	case KindIO, KindClock, KindChannel, KindGo, KindMutex, KindRand:
		return true
	}
	return false
}

// propagates reports whether a finding of kind k inside a called function
// matters to the transaction that calls it.
func (k Kind) propagates() bool {
	return k.sideEffect() || k == KindNested || k == KindPeek || k == KindRecover
}

// classifyCall says what calling fn from a transaction body does, for the
// functions whose package stmvet knows by name (the standard library, which
// is not analyzed for facts). argType is the type of the first argument, or
// nil.
func classifyCall(fn *types.Func, firstArg types.Type) (Kind, bool) {
	pkg := fn.Pkg()
	if pkg == nil {
		return "", false
	}
	path, name := pkg.Path(), fn.Name()
	recv := fn.Type().(*types.Signature).Recv()
	switch {
	case path == "fmt":
		switch {
		case strings.HasPrefix(name, "Print"), strings.HasPrefix(name, "Scan"):
			return KindIO, true
		case strings.HasPrefix(name, "Fprint"), strings.HasPrefix(name, "Fscan"):
			// Formatting into an in-memory buffer is not I/O.
			if firstArg != nil && inMemory(firstArg) {
				return "", false
			}
			return KindIO, true
		}
	case path == "os":
		if recv == nil && pureOS[name] {
			return "", false
		}
		return KindIO, true
	case path == "os/exec", path == "os/signal", path == "syscall", path == "net/rpc", path == "net/smtp":
		return KindIO, true
	case path == "net", path == "net/http":
		if path == "net/http" && recv == nil && (strings.HasPrefix(name, "New") || strings.HasPrefix(name, "Parse") ||
			name == "StatusText" || name == "CanonicalHeaderKey" || name == "DetectContentType") {
			return "", false
		}
		if path == "net" && recv == nil && (strings.HasPrefix(name, "Parse") || name == "IPv4" || name == "JoinHostPort" || name == "SplitHostPort") {
			return "", false
		}
		return KindIO, true
	case path == "log", path == "log/slog":
		if recv == nil && (name == "New" || name == "Default" || strings.HasPrefix(name, "New") || name == "With" ||
			strings.HasSuffix(name, "Value") || strings.HasPrefix(name, "Any") || name == "String" || name == "Int" ||
			name == "Group" || name == "Flags" || name == "Prefix") {
			return "", false
		}
		return KindIO, true
	case path == "time":
		if recv == nil {
			switch name {
			case "Now", "Since", "Until", "Sleep", "After", "Tick", "NewTimer", "NewTicker", "AfterFunc":
				return KindClock, true
			}
		}
	case path == "sync":
		if recv != nil {
			switch name {
			case "Lock", "Unlock", "RLock", "RUnlock", "TryLock", "TryRLock", "Wait", "Signal", "Broadcast":
				return KindMutex, true
			}
		}
	case path == "math/rand", path == "math/rand/v2":
		if recv == nil && !strings.HasPrefix(name, "New") {
			return KindRand, true
		}
	}
	return "", false
}

// pureOS are os functions that neither do I/O nor change the process.
var pureOS = map[string]bool{
	"Getenv": true, "LookupEnv": true, "Environ": true, "Expand": true, "ExpandEnv": true,
	"Getpid": true, "Getppid": true, "Getuid": true, "Geteuid": true, "Getgid": true, "Getegid": true,
	"IsExist": true, "IsNotExist": true, "IsPermission": true, "IsTimeout": true, "IsPathSeparator": true,
	"NewSyscallError": true, "Getpagesize": true,
}

func inMemory(t types.Type) bool {
	s := types.TypeString(t, nil)
	switch s {
	case "*bytes.Buffer", "*strings.Builder", "*text/tabwriter.Writer":
		return true
	}
	return false
}

// advice is the sentence after the colon in a diagnostic of kind k: what to
// change.
func advice(k Kind) string {
	switch k {
	case KindIO:
		return "it runs again each time the transaction re-runs; do it before stm.Atomically, in tx.AfterCommit, or after tx.Inevitable()"
	case KindClock:
		return "each re-run reads or waits on the clock again; read the time before stm.Atomically and pass it in, or wait outside"
	case KindChannel:
		return "a channel operation cannot be undone when the attempt aborts and may block a transaction; hand values over in tx.AfterCommit, or through a Var with Retry"
	case KindGo:
		return "every re-run starts another goroutine; start it in tx.AfterCommit"
	case KindMutex:
		return "locks are not rolled back when an attempt aborts and can deadlock against the STM's waits; keep them outside the transaction"
	case KindRand:
		return "the global source is shared state outside the STM and each re-run draws again; draw before stm.Atomically, or use a local *rand.Rand"
	case KindNested:
		return "the inner transaction commits on its own even if this one aborts and re-runs; pass tx down and call the body directly"
	case KindPeek:
		return "Peek reads outside the transaction, so no conflict is detected; use Load(tx)"
	case KindRecover:
		return "it swallows the runtime's own unwinding of conflicting attempts and of Retry; let panics through, or re-panic what you do not handle"
	}
	return ""
}
