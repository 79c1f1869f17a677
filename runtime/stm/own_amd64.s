//go:build !race

#include "textflag.h"

// func releaseOwn(p *atomic.Uint32)
TEXT ·releaseOwn(SB), NOSPLIT|NOFRAME, $0-8
	MOVQ p+0(FP), AX
	MOVL $0, (AX)        // ownFree
	RET
