package source

import (
	"bytes"
	"testing"

	"berth.dev/berth/compiler/budget"
)

// FuzzScanPack feeds arbitrary bytes, and packs with forged sizes, to the
// scanner that guards fetches: it never panics, and it accepts no object
// over the file budget.
func FuzzScanPack(f *testing.F) {
	hdr := []byte("PACK\x00\x00\x00\x02\x00\x00\x00\x01")
	f.Add(hdr)
	// A blob claiming 2^40 bytes.
	f.Add(append(append([]byte{}, hdr...), 0xb0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, 0x78, 0x9c, 0x03, 0x00))
	// An OFS delta with a truncated header.
	f.Add(append(append([]byte{}, hdr...), 0x65, 0x01, 0x78, 0x9c, 0x63, 0x00, 0x00))
	f.Add([]byte("PACK\x00\x00\x00\x02\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = scanPack(bytes.NewReader(data), budget.Limits{FileBytes: 1 << 16, Files: 100})
	})
}
