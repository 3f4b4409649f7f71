package source

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"berth.dev/berth/compiler/budget"
)

// guardedStorage is the clone's object store with a check on every pack a
// fetch receives: go-git inflates each object of a pack into memory while
// it indexes it, so a 1.5 MB pack holding a 300 MB blob of zeros (or a
// small delta that expands to one) would cost the daemon 300 MB. The pack
// is held in a temporary file and scanned as it arrives, reading only the
// sizes its objects declare; it reaches go-git's indexer only when every
// object is within the file-size budget.
type guardedStorage struct {
	*filesystem.Storage
	tmpDir string
	lim    budget.Limits
}

// maxPackObjectsPerFile bounds a pack's object count relative to the file
// budget: history brings commits and trees besides the files, and each
// object costs the indexer memory however small it is.
const maxPackObjectsPerFile = 10

// PackfileWriter implements storer.PackfileWriter.
func (s *guardedStorage) PackfileWriter() (io.WriteCloser, error) {
	tmp, err := os.CreateTemp(s.tmpDir, "incoming-pack-")
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	w := &guardedPack{s: s, tmp: tmp, pw: pw, done: make(chan error, 1)}
	go func() {
		err := scanPack(pr, s.lim)
		pr.CloseWithError(err)
		if err == nil {
			_, _ = io.Copy(io.Discard, pr)
		}
		w.done <- err
	}()
	return w, nil
}

type guardedPack struct {
	s    *guardedStorage
	tmp  *os.File
	pw   *io.PipeWriter
	done chan error
	size int64
	// refused is set once the pack broke a budget: the rest of it is read
	// and dropped (go-git's file transport hangs on a writer that stops
	// early), and Close returns the refusal. The fetch's deadline bounds
	// a server that would send without end.
	refused error
}

func (w *guardedPack) Write(p []byte) (int, error) {
	if w.refused != nil {
		return len(p), nil
	}
	w.size += int64(len(p))
	if err := w.s.lim.Check(budget.TotalBytes, "the fetched pack", w.size); err != nil {
		w.refused = err
		w.pw.CloseWithError(err)
		return len(p), nil
	}
	if _, err := w.tmp.Write(p); err != nil {
		return 0, err
	}
	// The scanner has read p when Write returns.
	if _, err := w.pw.Write(p); err != nil {
		w.refused = err
	}
	return len(p), nil
}

// Close hands a pack that passed the scan to go-git's pack writer, which
// indexes and keeps it; a refused pack is dropped.
func (w *guardedPack) Close() error {
	defer os.Remove(w.tmp.Name())
	defer w.tmp.Close()
	w.pw.Close()
	err := <-w.done
	if w.refused != nil {
		var ex *budget.Exceeded
		if !errors.As(w.refused, &ex) && err != nil {
			return err // the pipe's error is the scanner's
		}
		return w.refused
	}
	if err != nil && w.size > 0 {
		return err
	}
	if w.size == 0 {
		return nil
	}
	if _, err := w.tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	dst, err := w.s.Storage.PackfileWriter()
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, w.tmp); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// scanPack reads a pack stream's object headers and refuses one whose
// content (for a delta, the object it rebuilds) is over the file budget.
// It inflates every object to find the next header, into a few bytes of
// memory: only a delta's header (its base and result sizes) is kept.
func scanPack(r io.Reader, lim budget.Limits) error {
	s := packfile.NewScanner(r)
	_, count, err := s.Header()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil // no pack: nothing new
		}
		return err
	}
	if err := lim.Check(budget.Files, "the fetched pack (objects)", int64(count)/maxPackObjectsPerFile); err != nil {
		ex := err.(*budget.Exceeded)
		ex.Got, ex.Max = int64(count), ex.Max*maxPackObjectsPerFile
		return ex
	}
	for range count {
		h, err := s.NextObjectHeader()
		if err != nil {
			return err
		}
		if err := lim.Check(budget.FileBytes, "an object of the fetched pack", h.Length); err != nil {
			return err
		}
		if h.Type != plumbing.OFSDeltaObject && h.Type != plumbing.REFDeltaObject {
			if _, _, err := s.NextObject(io.Discard); err != nil {
				return err
			}
			continue
		}
		dh := &deltaHeader{}
		if _, _, err := s.NextObject(dh); err != nil {
			return err
		}
		target, err := dh.target()
		if err != nil {
			return err
		}
		if err := lim.Check(budget.FileBytes, "an object of the fetched pack (a delta)", target); err != nil {
			return err
		}
	}
	return nil
}

// deltaHeader keeps the first bytes of a delta: two varints, the sizes of
// its base and of the object it rebuilds.
type deltaHeader struct{ buf []byte }

func (d *deltaHeader) Write(p []byte) (int, error) {
	if room := 32 - len(d.buf); room > 0 {
		d.buf = append(d.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (d *deltaHeader) target() (int64, error) {
	b := d.buf
	var v int64
	for range 2 {
		var n int
		if v, n = uvarint(b); n == 0 {
			return 0, fmt.Errorf("%w: bad delta header", packfile.ErrMalformedPackFile)
		}
		b = b[n:]
	}
	return v, nil
}

// uvarint reads git's delta size varint (7 bits a byte, low bits first);
// n is 0 when b holds none.
func uvarint(b []byte) (v int64, n int) {
	var shift uint
	for i, c := range b {
		if shift > 56 {
			return 0, 0
		}
		v |= int64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}
