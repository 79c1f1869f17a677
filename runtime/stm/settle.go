package stm

import "github.com/stmlog/stmlog/logformat"

// What becomes of an attempt: settle acts on its outcome; attempt, the
// general path's attempt, runs the body under a recover and finish
// commits it; unwound is what a body's unwinding makes of it.

// settle does what an attempt's outcome calls for: it ends the call
// (done, with Atomically's result) or prepares the next attempt.
func (tx *Tx) settle(res outcome, err error) (r error, done bool) {
	switch res {
	case committed:
		tx.clk.stats.commits.inc()
		if tx.rec != nil {
			tx.recCommit()
		}
		if len(tx.after) == 0 && len(tx.adds) == 0 {
			tx.end()
			tx.recEnd()
			return nil, true
		}
		after, adds := tx.after, tx.adds
		tx.after, tx.adds = nil, nil
		tx.end()
		tx.recEnd()
		// tx is clean from here on: if a function panics, the caller
		// can give it back as it is.
		for _, a := range adds {
			a.q.add(a.it)
		}
		for _, f := range after {
			f()
		}
		clear(after)
		clear(adds)
		tx.after, tx.adds = after[:0], adds[:0]
		return nil, true
	case failed:
		tx.clk.stats.abort(logformat.AbortError)
		tx.recAbort(logformat.AbortError)
		tx.end()
		tx.recEnd()
		return err, true
	case aborted:
		tx.clk.stats.abort(logformat.AbortConflict)
		tx.recAbort(logformat.AbortConflict)
		tx.discard()
		tx.aborts++
		tx.dirty = true // so that attemptPlain's end resets aborts
		tx.contention()
	case abandoned:
		return nil, true
	case retried:
		tx.clk.stats.abort(logformat.AbortRetry)
		tx.recAbort(logformat.AbortRetry)
		tx.discard()
		if tx.holdsToken {
			// Inevitable only by contention management (Retry panics
			// after a user's Inevitable): never sleep holding the token.
			releaseToken(tx)
		}
		tx.waitRetry()
	}
	return nil, false
}

// attempt runs the body once and commits it.
func (tx *Tx) attempt(fn func(*Tx) error) (res outcome, err error) {
	finished := false
	defer func() {
		if !finished {
			res = tx.unwound(recover(), false)
		}
	}()
	err = fn(tx)
	res, err = tx.finish(err)
	finished = true
	return res, err
}

// unwound is what an attempt's body unwound by r (recovered) becomes: an
// abort or a Retry signal is an outcome; a panic, or runtime.Goexit (r ==
// nil: a panic(nil) is recovered as a *runtime.PanicNilError), ends the
// call, tx left clean (and given back if giveBack: the plain path has no
// deferred putTx) before the panic goes on.
func (tx *Tx) unwound(r any, giveBack bool) outcome {
	switch r {
	case abortSignal:
		return aborted
	case retrySignal:
		return retried
	}
	tx.clk.stats.abort(logformat.AbortPanic)
	tx.recAbort(logformat.AbortPanic)
	tx.end()
	tx.recEnd()
	if giveBack {
		putTx(tx)
	}
	if r != nil {
		panic(r)
	}
	return abandoned
}

// finish decides what becomes of an attempt whose body returned err, and
// commits it if it may.
func (tx *Tx) finish(err error) (outcome, error) {
	if tx.state&stDoomed != 0 {
		return aborted, nil
	}
	if err != nil {
		if isRetry(err) {
			// As Retry does, minus the panic (a misuse panics here, inside
			// attempt, which cleans up).
			tx.checkCanRetry()
			return retried, nil
		}
		return failed, err
	}
	tx.state &^= stActive
	if n := len(tx.writes); n >= 1 && n <= 4 && tx.rec == nil && !tx.holdsToken {
		// As on the plain path (a re-run after a conflict or a Retry).
		var res outcome
		switch n {
		case 1:
			if tx.dirty {
				res = tx.commitOneAll()
			} else {
				res = tx.commitOne() // (tx.rec is nil)
			}
		default:
			if tx.dirty {
				res = tx.commitFewAll()
			} else {
				res = tx.commitFew() // (tx.rec is nil)
			}
		}
		if res != failed {
			return res, nil
		}
	}
	if !tx.commit() {
		return aborted, nil
	}
	return committed, nil
}

// runPlain is run with no hook on (a Queue's transaction, tx fresh from
// getTx): its attempts take the plain path, as Atomically's do.
func (tx *Tx) runPlain(fn func(*Tx) error) error {
	res, err := tx.attemptPlain(fn, false)
	if res == ended {
		return nil
	}
	if r, done := tx.settle(res, err); done {
		return r
	}
	return tx.loopPlain(fn)
}

// loop runs attempts until one settles the call.
func (tx *Tx) loop(fn func(*Tx) error) error {
	for {
		tx.begin()
		res, err := tx.attempt(fn)
		if r, done := tx.settle(res, err); done {
			return r
		}
	}
}
