#include "textflag.h"

// func fpCallers(buf *[maxDepth]uintptr) int
//
// Walks the frame-pointer chain starting at the caller's frame and stores
// return addresses (the same kind of PCs runtime.Callers returns) into buf.
// It has no frame of its own and calls nothing, so the goroutine's stack
// cannot move or be preempted while it runs. It stops at a nil frame
// pointer (the bottom of a goroutine stack), at a frame pointer that does
// not move towards the stack base, or after maxDepth (32) entries.
TEXT ·fpCallers(SB), NOSPLIT|NOFRAME, $0-16
	MOVQ buf+0(FP), DI
	MOVQ BP, SI          // frame of our caller
	XORQ AX, AX
loop:
	CMPQ AX, $32
	JGE  done
	TESTQ SI, SI
	JZ   done
	MOVQ 8(SI), DX       // return address into the caller's caller
	TESTQ DX, DX
	JZ   done
	MOVQ DX, (DI)(AX*8)
	INCQ AX
	MOVQ 0(SI), DX       // caller's saved frame pointer
	CMPQ DX, SI
	JLS  done            // must go up the stack
	MOVQ DX, SI
	JMP  loop
done:
	MOVQ AX, ret+8(FP)
	RET

// func cputicks() int64
//
// The time-stamp counter. constant_tsc CPUs tick at a fixed rate; the
// recorder converts ticks to nanoseconds with a rate it measures against the
// monotonic clock (record.go).
TEXT ·cputicks(SB), NOSPLIT|NOFRAME, $0-8
	RDTSC
	SHLQ $32, DX
	ORQ  DX, AX
	MOVQ AX, ret+0(FP)
	RET

// func fpHash() (h uint64, n int)
//
// Walks the frame-pointer chain as fpCallers does, from the caller's
// frame, over the same frames (at most 32), and returns a 64-bit hash of
// the return addresses (never 0) and their number, storing nothing: what
// writeSite needs to recognize a stack it has interned before.
TEXT ·fpHash(SB), NOSPLIT|NOFRAME, $0-16
	// Two frames a round (CX counts the rounds left), so that the loop's
	// own test and jump come once for two frames.
	MOVQ BP, SI          // frame of our caller
	MOVQ $-7046029254386353131, R8 // 0x9e3779b97f4a7c15
	MOVQ $-3750763034362895579, AX // 0xcbf29ce484222325
	MOVQ $16, CX
	TESTQ SI, SI
	JZ   h0
hloop:
	MOVQ 8(SI), DX       // return address into the caller's caller
	TESTQ DX, DX
	JZ   h0
	XORQ DX, AX
	IMULQ R8, AX
	MOVQ 0(SI), DX       // caller's saved frame pointer
	CMPQ DX, SI
	JLS  h1              // must go up the stack
	MOVQ DX, SI
	MOVQ 8(SI), DX       // the round's second frame
	TESTQ DX, DX
	JZ   h1
	XORQ DX, AX
	IMULQ R8, AX
	MOVQ 0(SI), DX
	CMPQ DX, SI
	JLS  h2
	MOVQ DX, SI
	DECQ CX
	JNZ  hloop
h0:                      // 2*(16-CX) frames hashed
	MOVQ $16, DX
	SUBQ CX, DX
	SHLQ $1, DX
	JMP  hret
h1:                      // 2*(16-CX)+1
	MOVQ $16, DX
	SUBQ CX, DX
	SHLQ $1, DX
	INCQ DX
	JMP  hret
h2:                      // 2*(16-CX)+2
	MOVQ $17, DX
	SUBQ CX, DX
	SHLQ $1, DX
hret:
	ORQ  $1, AX
	MOVQ AX, h+0(FP)
	MOVQ DX, n+8(FP)
	RET

// func fpKey() (h uint64, fp uintptr)
//
// The first three return addresses of the chain fpHash walks, hashed, and
// the fourth frame's pointer (the frame the third returns into):
// writeSite's key for a stack it has met before, a few loads whatever the
// depth. Three, so that the key holds the return into the Store's caller
// when addWrite is between. h is 0 (fp 1) if the chain is shorter.
TEXT ·fpKey(SB), NOSPLIT|NOFRAME, $0-16
	MOVQ BP, SI          // frame of our caller
	TESTQ SI, SI
	JZ   k0
	MOVQ 8(SI), AX
	MOVQ 0(SI), DX
	CMPQ DX, SI
	JLS  k0
	MOVQ $-7046029254386353131, R8 // 0x9e3779b97f4a7c15
	IMULQ R8, AX
	XORQ 8(DX), AX
	IMULQ R8, AX
	MOVQ 0(DX), SI
	CMPQ SI, DX
	JLS  k0
	XORQ 8(SI), AX
	IMULQ R8, AX
	MOVQ 0(SI), DX
	CMPQ DX, SI
	JLS  k0
	ORQ  $1, AX
	MOVQ AX, h+0(FP)
	MOVQ DX, fp+8(FP)
	RET
k0:
	MOVQ $0, h+0(FP)
	MOVQ $1, fp+8(FP)
	RET

// func keyHit(w *writeKeys, off, n *int32) bool
//
// writeSite's lookup by fpKey's key, in one call: the key of the caller's
// frame (as fpKey computes it) in its slot of w, and the check not due
// (w.check decremented, not 0), sets *off to the slot's site and *n to
// siteInterned and returns true; else false, and writeSite takes the
// walk. The offsets are writeKeys' (sites.go checks them).
TEXT ·keyHit(SB), NOSPLIT|NOFRAME, $0-25
	MOVQ BP, SI          // frame of our caller
	TESTQ SI, SI
	JZ   miss
	MOVQ 8(SI), AX
	MOVQ 0(SI), DX
	CMPQ DX, SI
	JLS  miss
	MOVQ $-7046029254386353131, R8 // 0x9e3779b97f4a7c15
	IMULQ R8, AX
	XORQ 8(DX), AX
	IMULQ R8, AX
	MOVQ 0(DX), SI
	CMPQ SI, DX
	JLS  miss
	XORQ 8(SI), AX
	IMULQ R8, AX
	MOVQ 0(SI), DX
	CMPQ DX, SI
	JLS  miss
	ORQ  $1, AX
	MOVQ w+0(FP), DI
	MOVQ AX, CX
	SHRQ $1, CX
	ANDQ $3, CX          // keySlots-1
	LEAQ (CX)(CX*2), CX
	LEAQ (DI)(CX*8), CX  // &w.k[slot], 24 bytes a slot
	CMPQ 0(CX), AX       // kh
	JNE  miss
	CMPQ 8(CX), DX       // kfp
	JNE  miss
	DECB 96(DI)          // check
	JZ   miss
	MOVL 16(CX), AX      // id
	MOVQ off+8(FP), R9
	MOVL AX, 0(R9)
	MOVQ n+16(FP), R9
	MOVL $0x40000000, 0(R9) // siteInterned
	MOVB $1, ret+24(FP)
	RET
miss:
	MOVB $0, ret+24(FP)
	RET

// func keyHere(w *writeKeys, site *[2]int32) (hit bool, kh uint64, kfp uintptr)
//
// keyHit, for the Store that calls it rather than writeSite's caller: the
// key hashes keyHere's own return address (into the Store, as writeSite's
// would be), the Store's and its caller's, and is the frame the third
// returns into, so it covers the frames writeSite's key covers. A hit
// sets site to the slot's site and siteInterned (a write entry's pcOff
// and pcN) with one store; a miss returns the key (0 and 1 if the chain
// is shorter), for walkKey.
TEXT ·keyHere(SB), NOSPLIT|NOFRAME, $0-40
	MOVQ 0(SP), AX       // our return address, into the Store
	MOVQ BP, SI          // the Store's frame
	TESTQ SI, SI
	JZ   hshort
	MOVQ $-7046029254386353131, R8 // 0x9e3779b97f4a7c15
	IMULQ R8, AX
	XORQ 8(SI), AX       // the Store's return address
	IMULQ R8, AX
	MOVQ 0(SI), DX
	CMPQ DX, SI
	JLS  hshort
	XORQ 8(DX), AX       // its caller's
	IMULQ R8, AX
	MOVQ 0(DX), SI       // the frame that one returns into
	CMPQ SI, DX
	JLS  hshort
	ORQ  $1, AX
	MOVQ w+0(FP), DI
	MOVQ AX, CX
	ANDQ $6, CX          // (keySlots-1)<<1: the slot, twice
	LEAQ (CX)(CX*2), CX
	LEAQ (DI)(CX*4), CX  // &w.k[slot], 24 bytes a slot
	CMPQ 0(CX), AX       // kh
	JNE  hmiss
	CMPQ 8(CX), SI       // kfp
	JNE  hmiss
	DECB 96(DI)          // check
	JZ   hmiss
	MOVL 16(CX), AX      // id, zero-extended
	BTSQ $62, AX         // siteInterned (1<<30) in the high word
	MOVQ site+8(FP), R9
	MOVQ AX, 0(R9)
	MOVB $1, hit+16(FP)
	RET
hshort:
	XORQ AX, AX
	MOVQ $1, SI
hmiss:
	MOVQ AX, kh+24(FP)
	MOVQ SI, kfp+32(FP)
	MOVB $0, hit+16(FP)
	RET
