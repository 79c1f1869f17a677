// Package report renders analyses and logs for people and for tools.
//
// From an analyze.Summary: Text (the default `stmlog report` output: a
// header block of totals, a table of the top conflict groups, then each
// group with both sites, their source lines and a timeline), Markdown (the
// same for issues and pull requests), JSON (schema "stmlog.report/v1",
// documented in docs/report-json.md; integer nanoseconds, stable names) and
// CSV (one row per group, for spreadsheets). Other files render a pprof
// profile. The Chrome trace (package timeline) and PyPy's print_stm_log.py
// output (package pypyreport) are not here: they read the event stream
// themselves, since a Summary does not hold what they show (every attempt,
// raw records).
//
// Renderers take everything they show from the Summary; the only other
// input is the source tree (Options.SourceRoot) used to print the source
// line of each site, and that is optional: a missing file only omits the
// line. This keeps reports reproducible in tests (golden files) and lets a
// report be made on a machine that does not have the sources.
package report
