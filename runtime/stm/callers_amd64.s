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
