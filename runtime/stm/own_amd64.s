//go:build !race

#include "textflag.h"

// func releaseOwn(p *atomic.Uint32)
TEXT ·releaseOwn(SB), NOSPLIT|NOFRAME, $0-8
	MOVQ p+0(FP), AX
	MOVL $0, (AX)        // ownFree
	RET

// func storeOwned(p *atomic.Uint64, v uint64)
TEXT ·storeOwned(SB), NOSPLIT|NOFRAME, $0-16
	MOVQ p+0(FP), AX
	MOVQ v+8(FP), BX
	MOVQ BX, (AX)
	RET
