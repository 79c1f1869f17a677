package stmhttp

import (
	"bytes"
	"net/http"

	"github.com/stmlog/stmlog/runtime/stm"
)

// FlightHandler serves fr's window as a native stmlog log (see the package
// doc); a nil fr means the running FlightRecorder, whichever it is at the
// time of the request. Without one it answers 503 with a one-line reason.
func FlightHandler(fr *stm.FlightRecorder) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		f := fr
		if f == nil {
			f = stm.ActiveFlightRecorder()
		}
		if f == nil || !f.Enabled() {
			serveError(w, http.StatusServiceUnavailable, "no stm.FlightRecorder is running (start one with stm.NewFlightRecorder(cfg).Start())")
			return
		}
		// Written to memory first, so that an error is still an HTTP
		// error and not a log cut off mid-chunk.
		var buf bytes.Buffer
		if _, err := f.WriteTo(&buf); err != nil {
			serveError(w, http.StatusServiceUnavailable, err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="stmflight.stmlog"`)
		w.Write(buf.Bytes())
	})
}
