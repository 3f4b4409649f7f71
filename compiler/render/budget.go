package render

import (
	"context"
	"fmt"
	"time"
)

// budgetError is a render stopped by its Limits.
type budgetError struct{ msg string }

func (e *budgetError) Error() string { return e.msg }

// runBudgeted runs fn and stops waiting for it when its time is spent.
// Go cannot stop a goroutine from outside, so fn gets a context that the
// long-running steps it controls (Helm's template functions) check and
// abort on; the caller has its answer at the deadline either way. A
// panic in a library becomes an error.
func runBudgeted(limit time.Duration, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("render failed: %v", r)
			}
		}()
		done <- fn(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return &budgetError{fmt.Sprintf("rendering took longer than its budget of %s and was stopped (a template that loops or a very large build)", limit)}
	}
}
