package pgstore

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ucxkit/ucxkit/mailqueue"
)

// Environment of a runner subprocess (see TestClusterRunnerProcess).
const (
	envRunner      = "UCXKIT_PGSTORE_RUNNER"
	envSchema      = "UCXKIT_PGSTORE_SCHEMA"
	envOwner       = "UCXKIT_PGSTORE_OWNER"
	envLease       = "UCXKIT_PGSTORE_LEASE"
	envSendDelay   = "UCXKIT_PGSTORE_SEND_DELAY"
	envConcurrency = "UCXKIT_PGSTORE_CONCURRENCY"
)

var seqRE = regexp.MustCompile(`(?m)^X-Seq: (\d+)\r$`)

func clusterMsg(n int) []byte {
	return fmt.Appendf(nil, "Subject: cluster %d\r\nX-Seq: %d\r\n\r\nbody\r\n", n, n)
}

// sinkSender records each delivery in the table cluster_sink (committed
// before Send returns), as an SMTP server's 250 would.
type sinkSender struct {
	pool  *pgxpool.Pool
	owner string
	delay time.Duration
}

func (s *sinkSender) Send(ctx context.Context, _ mailqueue.Envelope, b []byte) error {
	m := seqRE.FindSubmatch(b)
	if m == nil {
		return &mailqueue.DeliveryError{Class: mailqueue.ClassPermanent, Step: "data", Err: fmt.Errorf("no X-Seq in message")}
	}
	seq, _ := strconv.Atoi(string(m[1]))
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO cluster_sink (seq, owner) VALUES ($1, $2)`, seq, s.owner)
	return err
}

// TestClusterRunnerProcess is the body of a runner subprocess: a
// mailqueue.Queue over the PostgreSQL store delivering to the sink until
// SIGTERM. It does nothing in a normal test run.
func TestClusterRunnerProcess(t *testing.T) {
	if os.Getenv(envRunner) != "1" {
		t.Skip("runner subprocess body; started by the cluster tests")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg, err := pgxpool.ParseConfig(os.Getenv(dsnEnv))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = os.Getenv(envSchema)
	// Named, so a test can wait until the server has finished what a
	// killed runner sent (runnerAppName).
	cfg.ConnConfig.RuntimeParams["application_name"] = runnerAppName(os.Getenv(envSchema), os.Getenv(envOwner))
	cfg.MaxConns = 8
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	lease, _ := time.ParseDuration(os.Getenv(envLease))
	delay, _ := time.ParseDuration(os.Getenv(envSendDelay))
	conc, _ := strconv.Atoi(os.Getenv(envConcurrency))
	owner := os.Getenv(envOwner)
	store, err := Open(ctx, pool, Options{Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	q, err := mailqueue.New(mailqueue.Config{Store: store, Sender: &sinkSender{pool: pool, owner: owner, delay: delay},
		Owner: owner, Concurrency: conc, PollInterval: 20 * time.Millisecond, IdleClose: -1})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	if err := q.Run(ctx); err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
}

// runnerAppName is the application_name of a runner's connections.
func runnerAppName(schema, owner string) string { return "runner-" + owner + "-" + schema }

// waitBackendsGone waits until the server has no connection of the runner
// left. A killed runner's last command (an Ack, a sink insert) may still be
// executing when its process is gone; its backend ends only after that.
func waitBackendsGone(t *testing.T, pool *pgxpool.Pool, app string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n int
		require.NoError(t, pool.QueryRow(context.Background(),
			`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n))
		if n == 0 {
			return
		}
		require.True(t, time.Now().Before(deadline), "%d connections of %s still open a minute after its death", n, app)
		time.Sleep(10 * time.Millisecond)
	}
}

type runner struct {
	owner string
	cmd   *exec.Cmd
	out   *bytes.Buffer
	done  chan error
}

// startRunner starts a runner subprocess and waits until it is ready.
func startRunner(t *testing.T, dsn, schema, owner string, lease, delay time.Duration, conc int) *runner {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestClusterRunnerProcess$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), envRunner+"=1", dsnEnv+"="+dsn, envSchema+"="+schema, envOwner+"="+owner,
		envLease+"="+lease.String(), envSendDelay+"="+delay.String(), envConcurrency+"="+strconv.Itoa(conc))
	out := &bytes.Buffer{}
	cmd.Stderr = out
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	r := &runner{owner: owner, cmd: cmd, out: out, done: make(chan error, 1)}
	ready, exited := make(chan struct{}), make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			if sc.Text() == "ready" {
				once.Do(func() { close(ready) })
			}
		}
		r.done <- cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	select {
	case <-ready:
	case err := <-r.done:
		t.Fatalf("runner %s exited before ready: %v\n%s", owner, err, out)
	case <-time.After(60 * time.Second):
		t.Fatalf("runner %s not ready\n%s", owner, out)
	}
	return r
}

// stop ends a runner gracefully and checks that it exited cleanly.
func (r *runner) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-r.done:
		require.NoError(t, err, "runner %s: %s", r.owner, r.out)
	case <-time.After(30 * time.Second):
		t.Fatalf("runner %s did not stop", r.owner)
	}
}

func createSink(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	_, err := pool.Exec(context.Background(), `CREATE TABLE cluster_sink (n bigserial PRIMARY KEY, seq integer NOT NULL, owner text NOT NULL)`)
	require.NoError(t, err)
}

// waitDelivered waits until every seq 0..total-1 is in the sink and the
// queue is empty.
func waitDelivered(t *testing.T, pool *pgxpool.Pool, total int, runners []*runner) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(120 * time.Second)
	for {
		var distinct, left int
		require.NoError(t, pool.QueryRow(ctx, `SELECT (SELECT count(DISTINCT seq) FROM cluster_sink), (SELECT count(*) FROM ucxkit_mail_queue)`).Scan(&distinct, &left))
		if distinct == total && left == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, r := range runners {
				t.Logf("runner %s output:\n%s", r.owner, r.out)
			}
			t.Fatalf("delivered %d of %d, %d left in the queue", distinct, total, left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sinkCounts returns how often each seq was delivered and by whom.
func sinkCounts(t *testing.T, pool *pgxpool.Pool) (map[int]int, map[int][]string, map[string][]int) {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT seq, owner FROM cluster_sink ORDER BY n`)
	require.NoError(t, err)
	defer rows.Close()
	count, by, order := map[int]int{}, map[int][]string{}, map[string][]int{}
	for rows.Next() {
		var seq int
		var owner string
		require.NoError(t, rows.Scan(&seq, &owner))
		count[seq]++
		by[seq] = append(by[seq], owner)
		order[owner] = append(order[owner], seq)
	}
	require.NoError(t, rows.Err())
	return count, by, order
}

func enqueueAll(t *testing.T, s *Store, total int) {
	t.Helper()
	ctx := context.Background()
	base := time.Now()
	env := mailqueue.Envelope{From: "pbx@example.com", To: []string{"ops@example.com"}}
	for i := range total {
		// Distinct, increasing enqueue times: FIFO order is seq order.
		_, err := s.Put(ctx, env, clusterMsg(i), base.Add(time.Duration(i)*time.Microsecond))
		require.NoError(t, err)
	}
}

func TestClusterThreeRunnersNoLossNoDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three runner processes")
	}
	s, dsn, schema := testStore(t, Options{})
	createSink(t, s.Pool())
	const total = 1000
	var runners []*runner
	for i := range 3 {
		runners = append(runners, startRunner(t, dsn, schema, fmt.Sprintf("node-%d", i), 0, 0, 1))
	}
	enqueueAll(t, s, total)
	waitDelivered(t, s.Pool(), total, runners)
	for _, r := range runners {
		r.stop(t)
	}
	count, _, order := sinkCounts(t, s.Pool())
	require.Len(t, count, total)
	for seq := range total {
		require.Equal(t, 1, count[seq], "message %d delivered %d times", seq, count[seq])
	}
	for _, r := range runners {
		seqs := order[r.owner]
		assert.NotEmpty(t, seqs, "runner %s delivered nothing", r.owner)
		for i := 1; i < len(seqs); i++ {
			require.Less(t, seqs[i-1], seqs[i], "runner %s: per-node order is FIFO by enqueue time", r.owner)
		}
		t.Logf("runner %s delivered %d", r.owner, len(seqs))
	}
}

func TestClusterSIGKILLedRunner(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three runner processes")
	}
	s, dsn, schema := testStore(t, Options{})
	pool := s.Pool()
	ctx := context.Background()
	createSink(t, pool)
	const total = 300
	// Sends take milliseconds; a 2 s lease (renewed every 667 ms) never
	// runs out on a live runner, even on a loaded machine.
	const lease = 2 * time.Second
	victim := startRunner(t, dsn, schema, "victim", lease, 10*time.Millisecond, 1)
	runners := []*runner{victim,
		startRunner(t, dsn, schema, "node-1", lease, 2*time.Millisecond, 1),
		startRunner(t, dsn, schema, "node-2", lease, 2*time.Millisecond, 1)}
	enqueueAll(t, s, total)

	// Kill the victim mid-run while it holds a lease.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var delivered, held int
		require.NoError(t, pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM cluster_sink),
			(SELECT count(*) FROM ucxkit_mail_queue WHERE state = 'leased' AND lease_owner = 'victim')`).Scan(&delivered, &held))
		if delivered >= total/4 && held > 0 {
			require.NoError(t, victim.cmd.Process.Kill())
			break
		}
		require.True(t, time.Now().Before(deadline), "victim never held a lease mid-run")
		time.Sleep(time.Millisecond)
	}
	<-victim.done
	// The server may still be executing the victim's last command (an
	// Ack that removes its message): take the snapshot once it is done.
	waitBackendsGone(t, pool, runnerAppName(schema, victim.owner))
	// What the victim held when it died (it cannot change any more).
	rows, err := pool.Query(ctx, `SELECT id, data FROM ucxkit_mail_queue WHERE state = 'leased' AND lease_owner = 'victim'`)
	require.NoError(t, err)
	held := map[int]bool{}
	for rows.Next() {
		var id string
		var data []byte
		require.NoError(t, rows.Scan(&id, &data))
		n, _ := strconv.Atoi(string(seqRE.FindSubmatch(data)[1]))
		held[n] = true
	}
	require.NoError(t, rows.Err())
	rows.Close()
	require.LessOrEqual(t, len(held), 1, "a runner with concurrency 1 holds at most one message")

	waitDelivered(t, pool, total, runners[1:])
	for _, r := range runners[1:] {
		r.stop(t)
	}
	count, by, _ := sinkCounts(t, pool)
	require.Len(t, count, total, "nothing lost")
	dups := 0
	for seq := range total {
		require.GreaterOrEqual(t, count[seq], 1)
		if count[seq] > 1 {
			dups++
			require.True(t, held[seq], "message %d duplicated (%v) but the victim did not hold it", seq, by[seq])
			require.Equal(t, 2, count[seq], "message %d: %v", seq, by[seq])
		}
	}
	for seq := range held {
		owners := by[seq]
		require.NotEmpty(t, owners)
		assert.NotEqual(t, "victim", owners[len(owners)-1], "message %d, leased by the dead runner, was delivered by another after the lease", seq)
	}
	t.Logf("victim held %v at SIGKILL; %d duplicate(s)", held, dups)
}
