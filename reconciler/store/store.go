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
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
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
// file makes Open fail after a second instead of blocking forever.
func Open(dir string) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open state store: %w", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open state store %s: locked by another berth process; stop it first", path)
		}
		return nil, fmt.Errorf("open state store %s: %w", path, err)
	}
	return &DB{db: db}, nil
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
