package stm

import (
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

// BenchmarkBlocks measures, on the machine at hand, the pieces a
// transaction is built from, so that its cost can be judged against what
// it must do rather than against a mutex alone (a locked instruction costs
// 4 ns on some machines and 12 on others):
//
//   - read-only transaction: a closure called under defer/recover, the
//     context lookup, one validated load;
//   - one-Var increment: that plus a 24-byte allocation and one
//     compare-and-swap.
//
// BENCHMARKS.md puts Read1 and Increment1 beside these sums.
func BenchmarkBlocks(b *testing.B) {
	b.Run("mutex", func(b *testing.B) {
		defer cpuPerOp(b)()
		var mu sync.Mutex
		x := 0
		for b.Loop() {
			mu.Lock()
			x++
			mu.Unlock()
		}
		sink.Add(int64(x))
	})
	b.Run("pool-get-put", func(b *testing.B) {
		defer cpuPerOp(b)()
		p := sync.Pool{New: func() any { return new(benchLocal) }}
		for b.Loop() {
			p.Put(p.Get())
		}
	})
	b.Run("context-lookup", func(b *testing.B) {
		defer cpuPerOp(b)()
		for b.Loop() {
			putTx(getTx())
		}
	})
	b.Run("closure-defer-recover", func(b *testing.B) {
		defer cpuPerOp(b)()
		l := new(benchLocal)
		fn := func() { l.s++ }
		for b.Loop() {
			underRecover(fn)
		}
		sink.Add(int64(l.s))
	})
	b.Run("validated-load", func(b *testing.B) {
		defer cpuPerOp(b)()
		v := NewVar(1)
		tx := getTx()
		defer putTx(tx)
		s := 0
		for b.Loop() {
			p := atomic.LoadPointer(&v.h.val)
			ver := (*boxHeader)(p).loadVersion()
			if ver&1 == 0 && tx.visible(ver) {
				s += (*box[int])(p).v
			}
		}
		sink.Add(int64(s))
	})
	b.Run("alloc-24B", func(b *testing.B) {
		defer cpuPerOp(b)()
		for b.Loop() {
			blockSink = unsafe.Pointer(&box[int]{v: 1})
		}
	})
	b.Run("cas", func(b *testing.B) {
		defer cpuPerOp(b)()
		l := new(struct {
			_ [64]byte
			v atomic.Uint64
			_ [56]byte
		})
		for b.Loop() {
			n := l.v.Load()
			l.v.CompareAndSwap(n, n+1)
		}
	})
	b.Run("atomic-store", func(b *testing.B) {
		defer cpuPerOp(b)()
		var x atomic.Uint64
		for i := 0; b.Loop(); i++ {
			x.Store(uint64(i))
		}
	})
	b.Run("panic-recover", func(b *testing.B) {
		defer cpuPerOp(b)()
		fn := func() { panic(retrySignal) }
		for b.Loop() {
			underRecover(fn)
		}
	})
}

var blockSink unsafe.Pointer

//go:noinline
func underRecover(fn func()) (r any) {
	defer func() { r = recover() }()
	fn()
	return nil
}
