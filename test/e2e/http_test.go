package e2e_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// client makes a new connection per request, as curl does, so every
// request goes through the service rules again.
var client = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// get returns the body of a 200 answer.
func get(url string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return strings.TrimSpace(string(b)), nil
}

// serves reports whether url answers with the given hello version.
func serves(url, version string) (bool, string) {
	body, err := get(url)
	if err != nil {
		return false, err.Error()
	}
	return strings.Contains(body, "("+version+")"), body
}

// load sends requests to url in a loop until stopped, counting answers
// and failures.
type load struct {
	url      string
	mu       sync.Mutex
	ok       int
	versions map[string]int
	failures []string
	failedAt []time.Time
	stopc    chan struct{}
	done     chan struct{}
}

func startLoad(url string) *load {
	l := &load{url: url, versions: map[string]int{}, stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for {
			select {
			case <-l.stopc:
				return
			default:
			}
			body, err := get(url)
			l.mu.Lock()
			if err != nil {
				now := time.Now()
				l.failures = append(l.failures, now.Format("15:04:05.000")+" "+err.Error())
				l.failedAt = append(l.failedAt, now)
			} else {
				l.ok++
				if i := strings.LastIndex(body, "("); i >= 0 {
					l.versions[body[i:]]++
				}
			}
			l.mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return l
}

// failuresBefore counts the failures before t.
func (l *load) failuresBefore(t time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, at := range l.failedAt {
		if at.Before(t) {
			n++
		}
	}
	return n
}

// summary shortens a list of failures to its first and last few.
func summary(failures []string) string {
	if len(failures) <= 10 {
		return strings.Join(failures, "\n")
	}
	return strings.Join(failures[:5], "\n") + fmt.Sprintf("\n... %d more ...\n", len(failures)-10) + strings.Join(failures[len(failures)-5:], "\n")
}

// stop ends the loop and returns the successful count and the failures.
func (l *load) stop() (int, []string, map[string]int) {
	close(l.stopc)
	<-l.done
	return l.ok, l.failures, l.versions
}
