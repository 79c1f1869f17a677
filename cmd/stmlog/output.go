package main

// Output that appears whole or not at all: timeline and pprof write to a
// temporary file and put it in place (or copy it to standard output) only
// when everything was written, so a damaged log or a failed write leaves no
// valid-looking partial trace or profile behind.

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// atomicOutput is a temporary file that becomes path (or is copied to
// stdout when path is "" or "-") on commit, and vanishes otherwise. It is
// created in path's directory so that the rename cannot cross file
// systems.
type atomicOutput struct {
	f      *os.File
	path   string
	stdout io.Writer
	done   bool
}

func newAtomicOutput(path string, stdout io.Writer) (*atomicOutput, error) {
	if path == "-" {
		path = ""
	}
	dir, pattern := "", "stmlog-output-*"
	if path != "" {
		dir, pattern = filepath.Dir(path), "."+filepath.Base(path)+".*.tmp"
	}
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return &atomicOutput{f: f, path: path, stdout: stdout}, nil
}

func (o *atomicOutput) commit() error {
	o.done = true
	tmp := o.f.Name()
	if o.path == "" {
		_, err := o.f.Seek(0, io.SeekStart)
		if err == nil {
			_, err = io.Copy(o.stdout, o.f)
		}
		o.f.Close()
		os.Remove(tmp)
		return err
	}
	err := o.f.Chmod(0o644) // CreateTemp's 0600 is for secrets, not traces and profiles
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, o.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", o.path, err)
	}
	return nil
}

// discard removes the temporary file unless commit ran.
func (o *atomicOutput) discard() {
	if !o.done {
		o.f.Close()
		os.Remove(o.f.Name())
	}
}
