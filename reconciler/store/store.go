// Package store keeps the reconciler's state that containerd cannot give
// back (rollout progress, Job and CronJob history, the last applied plan)
// in a bbolt file under the state directory. Writes are transactional: a
// batch of records lands whole or not at all, so the reconciler can write
// what it is about to do before doing it.
package store

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Record is one value to write; a nil Value deletes the key.
type Record struct {
	Bucket string
	Key    string
	Value  []byte
}

// DB is a bbolt-backed store.
type DB struct {
	db *bolt.DB
}

// FileName is the store's file name inside the state directory.
const FileName = "reconciler.db"

// Open opens (or creates) the store in dir. A second process holding the
// file makes Open fail after a second instead of blocking forever. A
// damaged file is a *CorruptError, never a panic and never a silent new
// store: the file is checked page by page (it is small), and one that is
// empty, which bbolt would initialize as new, is damaged too (bbolt
// writes its first pages when it creates the file).
func Open(dir string) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open state store: %w", err)
	}
	path := filepath.Join(dir, FileName)
	if fi, err := os.Stat(path); err == nil && fi.Size() == 0 {
		return nil, &CorruptError{Path: path, Err: errors.New("the file is empty")}
	}
	db, err := openBolt(path)
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open state store %s: locked by another berth process; stop it first", path)
		}
		var ce *CorruptError
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, fmt.Errorf("open state store %s: %w", path, err)
	}
	if err := check(db); err != nil {
		db.Close()
		return nil, &CorruptError{Path: path, Err: err}
	}
	return &DB{db: db}, nil
}

// openBolt is bolt.Open, with a panic on a damaged file (a bad freelist
// page, say) and bbolt's own verdicts on one turned into a CorruptError.
func openBolt(path string) (db *bolt.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			db, err = nil, &CorruptError{Path: path, Err: fmt.Errorf("bbolt: %v", p)}
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrChecksum) || errors.Is(err, berrors.ErrVersionMismatch) ||
		err != nil && strings.Contains(err.Error(), "file size too small") {
		return nil, &CorruptError{Path: path, Err: err}
	}
	return db, err
}

// check walks every page of the store; bbolt reports a panic in the walk
// as one of its errors.
func check(db *bolt.DB) error {
	var errs []error
	err := db.View(func(tx *bolt.Tx) error {
		for e := range tx.Check() {
			if len(errs) < 3 {
				errs = append(errs, e)
			}
		}
		return nil
	})
	return errors.Join(append(errs, err)...)
}

// CorruptError is a state store that cannot be read. berth refuses to
// start on it: starting over loses Job history (finished Jobs would run
// again) and rollout progress.
type CorruptError struct {
	Path string
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("state store %s is damaged (%v). It holds the Job history and rollout progress of this node; "+
		"starting with an empty one would run finished Jobs again and restart finished rollouts. To recover, restore a "+
		"backup of that file, or run `berth daemon --reset-state` once with the usual flags: it moves the damaged file "+
		"aside as %s.corrupt-<time> and starts with an empty store", e.Path, e.Err, FileName)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// MoveAside renames the store in dir to reconciler.db.corrupt-<now>, kept
// for inspection, and returns the new path; Open then starts an empty one.
func MoveAside(dir string, now time.Time) (string, error) {
	path := filepath.Join(dir, FileName)
	aside := path + ".corrupt-" + now.UTC().Format("20060102T150405Z")
	if err := os.Rename(path, aside); err != nil {
		return "", fmt.Errorf("move the state store aside: %w", err)
	}
	return aside, nil
}

// Close closes the file.
func (d *DB) Close() error { return d.db.Close() }

// Save writes every record in one transaction, synced to disk.
func (d *DB) Save(recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	err := d.db.Update(func(tx *bolt.Tx) error {
		for _, r := range recs {
			b, err := tx.CreateBucketIfNotExists([]byte(r.Bucket))
			if err != nil {
				return err
			}
			if r.Value == nil {
				err = b.Delete([]byte(r.Key))
			} else {
				err = b.Put([]byte(r.Key), r.Value)
			}
			if err != nil {
				return fmt.Errorf("%s/%s: %w", r.Bucket, r.Key, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// Load returns every key and value of a bucket (empty when it does not exist).
func (d *DB) Load(bucket string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := d.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			out[string(k)] = append([]byte(nil), v...)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("load state %s: %w", bucket, err)
	}
	return out, nil
}

// Memory is an in-memory store for tests and dry runs.
type Memory struct {
	mu      sync.Mutex
	buckets map[string]map[string][]byte
	// Saves counts the Save calls that wrote something.
	Saves int
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{buckets: map[string]map[string][]byte{}} }

// Save applies the records.
func (m *Memory) Save(recs []Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(recs) > 0 {
		m.Saves++
	}
	for _, r := range recs {
		b := m.buckets[r.Bucket]
		if b == nil {
			b = map[string][]byte{}
			m.buckets[r.Bucket] = b
		}
		if r.Value == nil {
			delete(b, r.Key)
		} else {
			b[r.Key] = append([]byte(nil), r.Value...)
		}
	}
	return nil
}

// Load returns a copy of a bucket.
func (m *Memory) Load(bucket string) (map[string][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.buckets[bucket]), nil
}
