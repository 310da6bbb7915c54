package storage

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"
)

// TestLeaseLostToAnotherHolder: a holder whose lease was taken over learns
// it at its next renewal and reports it on Lost, so its server stops
// instead of serving a view the other holder no longer keeps.
func TestLeaseLostToAnotherHolder(t *testing.T) {
	ctx := context.Background()
	s, err := OpenBlobs(ctx, "mem://", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l, err := s.AcquireLease(ctx, LeaseHolder{Database: "/mine"}, 300*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	// Another process's takeover, as an unconditional write of its lease.
	other, _ := json.Marshal(LeaseHolder{ID: "other", Host: "elsewhere", PID: os.Getppid(), Database: "/theirs", Renewed: time.Now()})
	if err := s.writeSmall(ctx, leaseKey, other, false); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("the lease was taken over and its holder never noticed")
	}
	// Releasing a lost lease leaves the new holder's alone.
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if h, _, err := s.ReadLease(ctx); err != nil || h == nil || h.ID != "other" {
		t.Errorf("lease after releasing a lost one: %+v, %v", h, err)
	}
}
