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
	MOVQ BP, SI          // frame of our caller
	MOVQ $-7046029254386353131, R8 // 0x9e3779b97f4a7c15
	MOVQ $-3750763034362895579, AX // 0xcbf29ce484222325
	MOVQ $32, CX
	TESTQ SI, SI
	JZ   hdone
hloop:
	MOVQ 8(SI), DX       // return address into the caller's caller
	TESTQ DX, DX
	JZ   hdone
	XORQ DX, AX
	IMULQ R8, AX
	MOVQ 0(SI), DX       // caller's saved frame pointer
	DECQ CX
	JZ   hdone
	CMPQ DX, SI
	JLS  hdone           // must go up the stack
	MOVQ DX, SI
	JMP  hloop
hdone:
	ORQ  $1, AX
	MOVQ AX, h+0(FP)
	MOVQ $32, DX
	SUBQ CX, DX
	MOVQ DX, n+8(FP)
	RET
