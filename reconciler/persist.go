package reconciler

// The progress store: what a pass records (rollouts, Jobs, CronJobs,
// stops, history, claims) is saved before it acts, and loaded again
// after a restart.

import (
	"encoding/json"
	"fmt"

	"berth.dev/berth/reconciler/store"
)

func (r *Reconciler) load() error {
	for _, b := range []string{bucketRollouts, bucketJobs, bucketCrons, bucketStops, bucketHistory, bucketClaims} {
		m, err := r.opts.Store.Load(b)
		if err != nil {
			return err
		}
		for k, raw := range m {
			var err error
			switch b {
			case bucketRollouts:
				err = loadInto(r.state.Rollouts, k, raw)
			case bucketJobs:
				err = loadInto(r.state.Jobs, k, raw)
			case bucketCrons:
				err = loadInto(r.state.Crons, k, raw)
			case bucketStops:
				err = loadInto(r.stops, k, raw)
			case bucketHistory:
				err = loadInto(r.state.History, k, raw)
			case bucketClaims:
				if r.state.Claims == nil {
					r.state.Claims = map[string]ClaimHold{}
				}
				err = loadInto(r.state.Claims, k, raw)
			}
			if err != nil {
				return fmt.Errorf("load %s/%s: %w (the state store is damaged; move it away to start over)", b, k, err)
			}
		}
	}
	meta, err := r.opts.Store.Load(bucketMeta)
	if err != nil {
		return err
	}
	r.revision = string(meta["revision"])
	r.loaded = true
	return nil
}

// LastApplied returns the revision and the plan (secrets redacted) of the
// last plan a pass started to apply, from the store.
func (r *Reconciler) LastApplied() (string, []byte, error) { return LastApplied(r.opts.Store) }

// LastApplied reads the revision and plan (secrets redacted) a reconciler
// last started to apply from its store, without running one.
func LastApplied(st Store) (string, []byte, error) {
	meta, err := st.Load(bucketMeta)
	if err != nil {
		return "", nil, err
	}
	return string(meta["revision"]), meta["plan"], nil
}

// save writes records to the store, then to the in-memory state.
func (r *Reconciler) save(recs []*Record) error {
	out := make([]store.Record, 0, len(recs))
	for _, rec := range recs {
		sr := store.Record{Bucket: rec.Bucket, Key: rec.Key}
		if rec.Value != nil {
			b, err := json.Marshal(rec.Value)
			if err != nil {
				return fmt.Errorf("encode %s/%s: %w", rec.Bucket, rec.Key, err)
			}
			sr.Value = b
		}
		out = append(out, sr)
	}
	if err := r.opts.Store.Save(out); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range recs {
		switch rec.Bucket {
		case bucketRollouts:
			setOrDelete(r.state.Rollouts, rec)
		case bucketJobs:
			setOrDelete(r.state.Jobs, rec)
		case bucketCrons:
			setOrDelete(r.state.Crons, rec)
		case bucketStops:
			setOrDelete(r.stops, rec)
		case bucketHistory:
			setOrDelete(r.state.History, rec)
		case bucketClaims:
			if r.state.Claims == nil {
				r.state.Claims = map[string]ClaimHold{}
			}
			setOrDelete(r.state.Claims, rec)
		}
	}
	return nil
}

// setOrDelete applies a saved record to its in-memory map: its value, or
// a deletion when the record holds none of the map's type.
func setOrDelete[V any](m map[string]V, rec *Record) {
	if v, ok := rec.Value.(V); ok {
		m[rec.Key] = v
	} else {
		delete(m, rec.Key)
	}
}

// loadInto decodes one saved record into dst[k].
func loadInto[T any](dst map[string]T, k string, raw []byte) error {
	var v T
	err := json.Unmarshal(raw, &v)
	dst[k] = v
	return err
}
