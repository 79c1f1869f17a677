//go:build amd64 && !race

package stm

// storeRelease32 and storeRelease64 store v into *p with release order for
// readers that load *p with sync/atomic: on amd64 (x86-TSO) a plain store
// is never reordered with the loads and stores before it, so it is one,
// while sync/atomic's Store is an XCHG, a locked instruction that costs as
// much as a compare-and-swap. Being assembly, the call is also a compiler
// barrier. Race builds use sync/atomic (release_other.go), which the
// detector understands.
//
//go:noescape
func storeRelease32(p *uint32, v uint32)

//go:noescape
func storeRelease64(p *uint64, v uint64)

// storeWord stores one word of an in-place value (inplace.go) whose lock
// the caller holds. A plain store: x86-TSO keeps it after the locking
// compare-and-swap and before the storeRelease64 of the version that
// publishes it, and that call is opaque to the compiler too.
func storeWord(p *uint64, v uint64) { *p = v }

// storeReleaseInline32 is storeRelease32 written in Go, so that it inlines
// (putTx's release of a P's context, once per transaction). Still a plain
// store, after every access before it: the compiler keeps loads and stores
// to memory in program order (its scheduler orders each load before the
// next store), and x86-TSO does the rest.
func storeReleaseInline32(p *uint32, v uint32) { *p = v }

// storeReleaseInline64 is storeRelease64 in Go, for the version store that
// publishes a commit (publish, commitOne: once per written Var), where the
// assembly's call and its ABI wrapper cost more than the store. The value
// words stored before it are plain Go stores too (storeWord), which the
// compiler keeps in program order.
func storeReleaseInline64(p *uint64, v uint64) { *p = v }
