package stm

import (
	"sync/atomic"

	"github.com/stmlog/stmlog/logformat"
)

// recording is true while events are recorded; the hot path tests it once.
var recording atomic.Bool

type conflictInfo struct{}

type threadRec struct{}

func newWorkerThread() *threadRec               { return nil }
func (tx *Tx) recBegin(th *threadRec)           {}
func (tx *Tx) recEnd()                          {}
func (tx *Tx) recEvent(k logformat.Kind)        {}
func (tx *Tx) recAbort(c logformat.AbortCause)  {}
func (tx *Tx) waitStart(r logformat.WaitReason) {}
func (tx *Tx) waitDone(r logformat.WaitReason)  {}
func (tx *Tx) captureSite(off, n *int32)        {}
func (tx *Tx) internSite(off, n int32) uint32   { return 0 }
func (tx *Tx) recBecomeInevitable(off, n int32) {}
func (tx *Tx) recConflict(k logformat.ConflictKind, v uint64, off, n int32, other, otherSite uint32) {
}
