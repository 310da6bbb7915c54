package storage

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// The metadata journal keeps, in the store itself, what an embedded
// database knows, so that a fresh database over a full bucket recovers
// every chart version, .prov, manifest, tag and key instead of serving an
// empty repository (and, worse, letting garbage collection reclaim every
// blob as unreferenced).
//
// Each entry is the state of some keys after a commit, read from the
// database once the commit is done; entries are numbered in the order they
// were written, one writer per store (see Lease). Replaying a snapshot and
// then the later entries in order, the last state written for each key
// wins, and it is the key's state after its last commit: every commit is
// followed by an entry read after it. A snapshot n holds every live record
// as read after entry n was written, so entries <= n add nothing to it.

// MetaRecord is one journal record: exactly one of its fields is set.
type MetaRecord struct {
	Chart    *ChartRecord    `json:"chart,omitempty"`
	Manifest *ManifestRecord `json:"manifest,omitempty"`
	Tag      *TagRecord      `json:"tag,omitempty"`
	Key      *KeyRecord      `json:"key,omitempty"`
}

// ChartRecord is a chart version's row, named by tenant path instead of
// the database's ids.
type ChartRecord struct {
	Tenant            string          `json:"tenant"`
	Name              string          `json:"name"`
	Version           string          `json:"version"`
	Deleted           bool            `json:"deleted,omitempty"`
	Digest            digest.Digest   `json:"digest,omitempty"`
	Size              int64           `json:"size,omitempty"`
	ProvDigest        digest.Digest   `json:"provDigest,omitempty"`
	ProvSize          int64           `json:"provSize,omitempty"`
	Metadata          json.RawMessage `json:"metadata,omitempty"`
	Created           time.Time       `json:"created,omitzero"`
	Signer            string          `json:"signer,omitempty"`
	SignerFingerprint string          `json:"signerFingerprint,omitempty"`
	ServerSigned      bool            `json:"serverSigned,omitempty"`
	ManifestDigest    digest.Digest   `json:"manifestDigest,omitempty"`
	ManifestSize      int64           `json:"manifestSize,omitempty"`
	ConfigDigest      digest.Digest   `json:"configDigest,omitempty"`
	ConfigSize        int64           `json:"configSize,omitempty"`
}

// ManifestRecord is a manifest's row with what it references.
type ManifestRecord struct {
	Tenant          string            `json:"tenant"`
	Repo            string            `json:"repo"`
	Digest          digest.Digest     `json:"digest"`
	Deleted         bool              `json:"deleted,omitempty"`
	Size            int64             `json:"size,omitempty"`
	MediaType       string            `json:"mediaType,omitempty"`
	ArtifactType    string            `json:"artifactType,omitempty"`
	Subject         digest.Digest     `json:"subject,omitempty"`
	ConfigDigest    digest.Digest     `json:"configDigest,omitempty"`
	ConfigMediaType string            `json:"configMediaType,omitempty"`
	Annotations     map[string]string `json:"annotations,omitempty"`
	Created         time.Time         `json:"created,omitzero"`
	// Blobs (config, layers) and Children (an index's manifests), with sizes.
	Blobs    []RefRecord `json:"blobs,omitempty"`
	Children []RefRecord `json:"children,omitempty"`
}

// RefRecord is a referenced blob or manifest.
type RefRecord struct {
	Digest digest.Digest `json:"digest"`
	Size   int64         `json:"size"`
}

// TagRecord points a tag at a manifest.
type TagRecord struct {
	Tenant  string        `json:"tenant"`
	Repo    string        `json:"repo"`
	Tag     string        `json:"tag"`
	Deleted bool          `json:"deleted,omitempty"`
	Digest  digest.Digest `json:"digest,omitempty"`
}

// KeyRecord is a tenant's trusted key.
type KeyRecord struct {
	Tenant      string    `json:"tenant"`
	Fingerprint string    `json:"fingerprint"`
	Deleted     bool      `json:"deleted,omitempty"`
	Armored     string    `json:"armored,omitempty"`
	Created     time.Time `json:"created,omitzero"`
}

// journalFormat heads every journal and snapshot object, so a later format
// is recognised rather than misread.
const journalFormat = "chartd-metadata/v1"

type journalHeader struct {
	Format string `json:"format"`
	N      uint64 `json:"n"`
	// Writer identifies the database that wrote the object, so a database
	// returning to a store learns whether anyone else wrote since.
	Writer string `json:"writer"`
}

// ErrJournalFormat: a journal object this version cannot read.
var ErrJournalFormat = errors.New("unreadable metadata journal")

func journalName(prefix string, n uint64) string {
	return fmt.Sprintf("%s%020d", prefix, n)
}

// JournalState is what the bucket holds of the journal.
type JournalState struct {
	// Snapshots and Entries are the numbers present, in order.
	Snapshots, Entries []uint64
}

// Empty reports a store without any snapshot or entry.
func (j JournalState) Empty() bool { return len(j.Snapshots) == 0 && len(j.Entries) == 0 }

// Last is the highest number written, snapshot or entry.
func (j JournalState) Last() uint64 {
	var n uint64
	if k := len(j.Snapshots); k > 0 {
		n = j.Snapshots[k-1]
	}
	if k := len(j.Entries); k > 0 && j.Entries[k-1] > n {
		n = j.Entries[k-1]
	}
	return n
}

// Pending is the number of entries after the latest snapshot.
func (j JournalState) Pending() int {
	if len(j.Snapshots) == 0 {
		return len(j.Entries)
	}
	base := j.Snapshots[len(j.Snapshots)-1]
	n := 0
	for _, e := range j.Entries {
		if e > base {
			n++
		}
	}
	return n
}

// Journal lists the snapshots and entries in the bucket.
func (s *BlobStore) Journal(ctx context.Context) (JournalState, error) {
	var st JournalState
	for _, p := range []struct {
		prefix string
		out    *[]uint64
	}{{snapshotPrefix, &st.Snapshots}, {journalPrefix, &st.Entries}} {
		it := s.bucket.List(&blob.ListOptions{Prefix: p.prefix})
		for {
			obj, err := it.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return st, fmt.Errorf("storage: list %s: %w", p.prefix, err)
			}
			n, err := strconv.ParseUint(strings.TrimPrefix(obj.Key, p.prefix), 10, 64)
			if err != nil || obj.IsDir {
				continue // a leftover temporary file, or not ours
			}
			*p.out = append(*p.out, n)
		}
		sort.Slice(*p.out, func(i, k int) bool { return (*p.out)[i] < (*p.out)[k] })
	}
	return st, nil
}

// AppendJournal writes entry n. Rewriting an entry (after a crash lost the
// database's note that it was written) replaces it with newer states of
// the same keys, which replays the same way.
func (s *BlobStore) AppendJournal(ctx context.Context, n uint64, writer string, recs []MetaRecord) error {
	err := s.writeMeta(ctx, journalName(journalPrefix, n), false, func(w io.Writer) error {
		return writeRecords(w, journalHeader{journalFormat, n, writer}, func(yield func(MetaRecord) error) error {
			for _, r := range recs {
				if err := yield(r); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("storage: write journal entry %d: %w", n, err)
	}
	return nil
}

// WriteSnapshot writes snapshot n from the records each yields, gzip'd.
func (s *BlobStore) WriteSnapshot(ctx context.Context, n uint64, writer string, each func(yield func(MetaRecord) error) error) error {
	err := s.writeMeta(ctx, journalName(snapshotPrefix, n), false, func(w io.Writer) error {
		zw := gzip.NewWriter(w)
		if err := writeRecords(zw, journalHeader{journalFormat, n, writer}, each); err != nil {
			return err
		}
		return zw.Close()
	})
	if err != nil {
		return fmt.Errorf("storage: write snapshot %d: %w", n, err)
	}
	return nil
}

func writeRecords(w io.Writer, h journalHeader, each func(yield func(MetaRecord) error) error) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(h); err != nil {
		return err
	}
	if err := each(func(r MetaRecord) error { return enc.Encode(r) }); err != nil {
		return err
	}
	return bw.Flush()
}

// ReplayJournal calls fn for every record of the latest snapshot, then of
// every later entry, in order, and returns the number of the last one read
// (zero when the journal is empty). The caller folds: a later record of a
// key replaces an earlier one.
func (s *BlobStore) ReplayJournal(ctx context.Context, st JournalState, fn func(MetaRecord) error) (uint64, error) {
	var last uint64
	if k := len(st.Snapshots); k > 0 {
		last = st.Snapshots[k-1]
		if _, err := s.readRecords(ctx, journalName(snapshotPrefix, last), last, true, fn); err != nil {
			return 0, err
		}
	}
	for _, n := range st.Entries {
		if len(st.Snapshots) > 0 && n <= last {
			continue
		}
		if _, err := s.readRecords(ctx, journalName(journalPrefix, n), n, false, fn); err != nil {
			return 0, err
		}
		last = n
	}
	return last, nil
}

// JournalWriter returns who wrote the last object of the journal.
func (s *BlobStore) JournalWriter(ctx context.Context, st JournalState) (string, error) {
	n := st.Last()
	key, gz := journalName(journalPrefix, n), false
	if k := len(st.Snapshots); k > 0 && st.Snapshots[k-1] == n {
		key, gz = journalName(snapshotPrefix, n), true
	}
	errStop := errors.New("header read")
	h, err := s.readRecords(ctx, key, n, gz, func(MetaRecord) error { return errStop })
	if err != nil && !errors.Is(err, errStop) {
		return "", err
	}
	return h.Writer, nil
}

func (s *BlobStore) readRecords(ctx context.Context, key string, n uint64, gz bool, fn func(MetaRecord) error) (journalHeader, error) {
	var h journalHeader
	r, err := s.bucket.NewReader(ctx, key, nil)
	if err != nil {
		return h, fmt.Errorf("storage: read %s: %w", key, mapErr(err))
	}
	defer r.Close()
	var src io.Reader = r
	if gz {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return h, fmt.Errorf("storage: %s: %w: %v", key, ErrJournalFormat, err)
		}
		defer zr.Close()
		src = zr
	}
	dec := json.NewDecoder(bufio.NewReaderSize(src, 64<<10))
	if err := dec.Decode(&h); err != nil || h.Format != journalFormat || h.N != n {
		return h, fmt.Errorf("storage: %s: %w (header %+v, %v)", key, ErrJournalFormat, h, err)
	}
	for {
		var rec MetaRecord
		err := dec.Decode(&rec)
		if errors.Is(err, io.EOF) {
			return h, nil
		}
		if err != nil {
			return h, fmt.Errorf("storage: %s: %w: %v", key, ErrJournalFormat, err)
		}
		if err := fn(rec); err != nil {
			return h, err
		}
	}
}

// TrimJournal deletes the entries a snapshot n covers and older snapshots.
// A crash midway leaves objects that replay skips (numbered <= n).
func (s *BlobStore) TrimJournal(ctx context.Context, st JournalState, n uint64) error {
	del := func(key string) error {
		if err := s.bucket.Delete(ctx, key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return fmt.Errorf("storage: trim journal: %w", err)
		}
		return nil
	}
	for _, e := range st.Entries {
		if e <= n {
			if err := del(journalName(journalPrefix, e)); err != nil {
				return err
			}
		}
	}
	for _, sn := range st.Snapshots {
		if sn < n {
			if err := del(journalName(snapshotPrefix, sn)); err != nil {
				return err
			}
		}
	}
	return nil
}
