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

// func fpCallersFrom(fp uintptr, buf *[maxDepth]uintptr) int
//
// fpCallers from the frame fp (a frame pointer of this goroutine's stack)
// instead of the caller's.
TEXT ·fpCallersFrom(SB), NOSPLIT|NOFRAME, $0-24
	MOVQ fp+0(FP), SI
	MOVQ buf+8(FP), DI
	XORQ AX, AX
floop:
	CMPQ AX, $32
	JGE  fdone
	TESTQ SI, SI
	JZ   fdone
	MOVQ 8(SI), DX
	TESTQ DX, DX
	JZ   fdone
	MOVQ DX, (DI)(AX*8)
	INCQ AX
	MOVQ 0(SI), DX
	CMPQ DX, SI
	JLS  fdone
	MOVQ DX, SI
	JMP  floop
fdone:
	MOVQ AX, ret+16(FP)
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

// func fpHashFrom(fp uintptr) (h uint64, n int)
//
// Walks the frame-pointer chain as fpCallersFrom does, from the frame fp,
// over the same frames (at most 32), and returns a 64-bit hash of the
// return addresses (never 0) and their number, storing nothing: what
// walkSite needs to recognize a stack it has interned before.
TEXT ·fpHashFrom(SB), NOSPLIT|NOFRAME, $0-24
	// Two frames a round (CX counts the rounds left), so that the loop's
	// own test and jump come once for two frames.
	MOVQ fp+0(FP), SI
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
	MOVQ AX, h+8(FP)
	MOVQ DX, n+16(FP)
	RET

// func keyHere(w *writeKeys, site *[2]int32) bool
//
// writeKeys.hit for the Store of the frame that calls it (store's): its
// key is that frame's return address, the frame above it and that frame's
// return address; found, and the check not due (w.check decremented, not
// 0), it sets site to the key's site and siteInterned (a write entry's
// pcOff and pcN) with one store. The frame above is read from only once
// its address has matched a key walkKey stored, which checked the chain.
// The offsets are writeKeys' (callers_amd64.go checks them).
TEXT ·keyHere(SB), NOSPLIT|NOFRAME, $0-17
	MOVQ 8(BP), AX       // the Store's return address
	MOVQ 0(BP), DX       // its caller's frame
	MOVQ DX, CX
	SHRQ $3, CX
	XORQ AX, CX
	ANDQ $3, CX          // keySlot
	SHLQ $5, CX          // 32 bytes a slot
	MOVQ w+0(FP), DI
	ADDQ DI, CX          // &w.k[slot]
	CMPQ 0(CX), AX       // pc
	JNE  miss
	CMPQ 16(CX), DX      // fp
	JNE  miss
	MOVQ 8(DX), AX       // the caller's return address
	CMPQ 8(CX), AX       // ret
	JNE  miss
	DECB 128(DI)         // check
	JZ   miss
	MOVL 24(CX), AX      // id, zero-extended
	BTSQ $62, AX         // siteInterned (1<<30) in the high word
	MOVQ site+8(FP), R9
	MOVQ AX, 0(R9)
	MOVB $1, ret+16(FP)
	RET
miss:
	MOVB $0, ret+16(FP)
	RET
