#include "textflag.h"

// func curg() uintptr
TEXT ·curg(SB), NOSPLIT|NOFRAME, $0-8
	MOVQ (TLS), AX
	MOVQ AX, ret+0(FP)
	RET
