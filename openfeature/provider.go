package openfeature

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
	"github.com/daemonflag/daemonflag/stores"
)

// DefaultName is the provider name in [Provider.Metadata] when
// Options.Name is empty.
const DefaultName = "daemonflag"

// DefaultInitTimeout is how long initialization waits for the store's
// dataset when Options.InitTimeout is zero.
const DefaultInitTimeout = 5 * time.Second

// Options configures a [Provider]. The zero value of every field is its
// documented default.
type Options struct {
	// Name is the provider's name in its metadata (and so in OpenTelemetry's
	// feature_flag.provider.name). Empty: [DefaultName].
	Name string

	// InitTimeout bounds how long initialization waits for the store to
	// hold a dataset, within the context the SDK passes. Zero:
	// [DefaultInitTimeout]. When it runs out, initialization fails (the
	// SDK emits PROVIDER_ERROR); the provider keeps watching the store and
	// emits PROVIDER_READY as soon as the dataset is there.
	InitTimeout time.Duration

	// Hooks are the provider's own hooks, which the SDK runs on every
	// evaluation through this provider (after the API's, client's and
	// invocation's). Nil: none.
	Hooks []of.Hook

	// BigSegments makes [NewFromAddress] use the store it opens for
	// big-segment memberships too (every daemonflag backend holds both),
	// unless the client.Config names a big-segment store. Zero: big
	// segments are not configured (LaunchDarkly's default), and segments
	// with "unbounded": true never match.
	BigSegments bool

	// Logger receives the provider's log lines (state changes only; never
	// contexts). Nil: slog.Default().
	Logger *slog.Logger
}

// Provider is an OpenFeature provider over a daemon-mode [client.Client].
// It implements of.FeatureProvider, of.StateHandler,
// of.ContextAwareStateHandler, of.EventHandler and of.Tracker; it is safe
// for concurrent use. See the package documentation for the mappings.
type Provider struct {
	client *client.Client
	owned  store.Store // the store NewFromAddress opened; nil for New
	name   string
	wait   time.Duration
	hooks  []of.Hook
	logger *slog.Logger
	events chan of.Event

	mu       sync.Mutex
	running  bool          // between initialization and shutdown
	initDone bool          // the SDK has seen the outcome of initialization
	state    of.EventType  // the last state the SDK was told of
	done     chan struct{} // closed by shutdown: pending sends give up
	removes  []func()
	closed   bool // an owned client was closed
}

// eventBuffer is the capacity of the event channel. The SDK reads it
// continuously; the buffer absorbs bursts so the cache's listener
// goroutines rarely wait.
const eventBuffer = 64

// New returns a provider over c. The caller keeps ownership of c: shutting
// the provider down stops its listeners but does not close c.
func New(c *client.Client, opts Options) *Provider {
	p := &Provider{
		client: c,
		name:   opts.Name,
		wait:   opts.InitTimeout,
		hooks:  opts.Hooks,
		logger: opts.Logger,
		events: make(chan of.Event, eventBuffer),
	}
	if p.name == "" {
		p.name = DefaultName
	}
	if p.wait <= 0 {
		p.wait = DefaultInitTimeout
	}
	if p.logger == nil {
		p.logger = slog.Default()
	}
	return p
}

// NewFromAddress opens the store at addr (any address stores.Open takes:
// "bolt:PATH", "redis://...", "dynamodb://..."; bbolt files read-only),
// creates a client on it with cfg (whose Store is replaced) and returns a
// provider that owns both: shutting it down closes the client and the
// store. It does no network I/O (see stores.Open); initialization waits for
// the store. With Options.BigSegments, the store also serves big-segment
// memberships.
func NewFromAddress(ctx context.Context, addr string, cfg client.Config, opts Options) (*Provider, error) {
	a, err := stores.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("openfeature: %w", err)
	}
	st, err := a.Open(ctx, &stores.OpenOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("openfeature: %w", err)
	}
	cfg.Store = st
	if cfg.BigSegments.Store == nil && opts.BigSegments {
		if bs, ok := st.(store.BigSegmentReader); ok {
			cfg.BigSegments.Store = bs
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = opts.Logger
	}
	c, err := client.New(cfg)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("openfeature: %w", err)
	}
	p := New(c, opts)
	p.owned = st
	return p, nil
}

// Client returns the client the provider evaluates with, for what
// OpenFeature does not carry (AllFlagsState, SecureModeHash, the store
// status).
func (p *Provider) Client() *client.Client { return p.client }

// Metadata returns the provider's name (Options.Name, default "daemonflag").
func (p *Provider) Metadata() of.Metadata { return of.Metadata{Name: p.name} }

// Hooks returns Options.Hooks.
func (p *Provider) Hooks() []of.Hook { return p.hooks }

// EventChannel returns the channel of the provider's events (see the
// package documentation). It is the same channel for the provider's
// lifetime and is never closed.
func (p *Provider) EventChannel() <-chan of.Event { return p.events }

// Init is [Provider.InitWithContext] with context.Background().
func (p *Provider) Init(evalCtx of.EvaluationContext) error {
	return p.InitWithContext(context.Background(), evalCtx)
}

// ErrShutDown is the cause of an initialization after a provider built by
// [NewFromAddress] was shut down: its client is closed.
var ErrShutDown = errors.New("openfeature: provider was shut down and its client closed")

// InitWithContext starts watching the store (status and flag changes) and
// waits until the store holds a dataset, at most Options.InitTimeout and
// until ctx ends. It returns nil when the dataset is there (the SDK then
// emits PROVIDER_READY). Otherwise it returns an *of.ProviderInitError
// (the SDK emits PROVIDER_ERROR): with code PROVIDER_FATAL when the client
// is offline or closed, which no waiting cures, and PROVIDER_NOT_READY
// when the store has no dataset yet or does not answer; the provider then
// emits PROVIDER_READY on its own once the store is ready. The evaluation
// context is not used: contexts are evaluated per call.
func (p *Provider) InitWithContext(ctx context.Context, _ of.EvaluationContext) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return &of.ProviderInitError{ErrorCode: of.ProviderFatalCode, Message: ErrShutDown.Error()}
	}
	if !p.running {
		p.running, p.initDone, p.done = true, false, make(chan struct{})
		p.removes = append(p.removes,
			p.client.AddDataStoreStatusListener(p.statusChanged),
			p.client.AddFlagChangeBatchListener(p.flagsChanged))
	}
	p.mu.Unlock()

	wctx, cancel := context.WithTimeout(ctx, p.wait)
	defer cancel()
	err := p.client.WaitForInitialization(wctx)

	p.mu.Lock()
	p.initDone = true
	if err == nil && p.client.DataStoreStatus().State != cache.Available {
		// The store changed between the wait's end and now, and
		// statusChanged ignored it (initialization was not done): report
		// the failure; statusChanged reports the recovery.
		err = fmt.Errorf("openfeature: %w: the flag store became unavailable during initialization", store.ErrUnavailable)
	}
	if err == nil {
		p.state = of.ProviderReady
		p.mu.Unlock()
		return nil
	}
	p.state = of.ProviderError
	p.mu.Unlock()
	code := of.ProviderNotReadyCode
	if errors.Is(err, client.ErrClientNotReady) {
		code = of.ProviderFatalCode
	}
	p.logger.Warn("openfeature provider not ready: the flag store has no dataset or does not answer; it becomes ready when the store does",
		"provider", p.name, "err", err)
	return &of.ProviderInitError{ErrorCode: code, Message: err.Error()}
}

// Shutdown is [Provider.ShutdownWithContext] with context.Background().
func (p *Provider) Shutdown() { _ = p.ShutdownWithContext(context.Background()) }

// ShutdownWithContext stops the provider's listeners; no event is emitted
// afterwards. A provider built by [NewFromAddress] also closes its client
// and store (it cannot be initialized again); one built by [New] leaves the
// client open and may be initialized again. It returns the store's close
// error, if any.
func (p *Provider) ShutdownWithContext(_ context.Context) error {
	p.mu.Lock()
	removes := p.removes
	p.removes = nil
	if p.running {
		p.running = false
		close(p.done)
	}
	owned := p.owned != nil && !p.closed
	if owned {
		p.closed = true
	}
	p.mu.Unlock()
	for _, r := range removes {
		r()
	}
	if owned {
		p.client.Close()
		return p.owned.Close()
	}
	return nil
}

// statusChanged turns a data-store status change into the provider event
// it means, when the SDK's view differs.
func (p *Provider) statusChanged(st cache.Status) {
	ev, msg, code := eventFor(st)
	p.mu.Lock()
	if !p.running || !p.initDone || p.state == ev {
		p.mu.Unlock()
		return
	}
	p.state = ev
	done := p.done
	p.mu.Unlock()
	p.logger.Info("openfeature provider state changed", "provider", p.name, "event", string(ev), "store", st.State.String())
	p.send(done, of.Event{ProviderName: p.name, EventType: ev,
		ProviderEventDetails: of.ProviderEventDetails{Message: msg, ErrorCode: code}})
}

// eventFor maps a data-store status to the provider state it means: READY
// while the store is available; STALE while it is not but the client serves
// values it read before (the last good data); ERROR when there is nothing
// to serve.
func eventFor(st cache.Status) (of.EventType, string, of.ErrorCode) {
	switch {
	case st.State == cache.Available:
		return of.ProviderReady, "flag store available", ""
	case st.Stale && st.State == cache.NotInitialized:
		return of.ProviderStale, "flag store lost its dataset (no $inited marker): serving the last good values", ""
	case st.Stale:
		return of.ProviderStale, "flag store unavailable: serving the last good values: " + errText(st.Err), ""
	case st.State == cache.NotInitialized:
		return of.ProviderError, "flag store holds no dataset (no $inited marker): no writer yet, or a prefix that is not the writer's", of.ProviderNotReadyCode
	default:
		return of.ProviderError, "flag store unavailable: " + errText(st.Err), of.GeneralCode
	}
}

func errText(err error) string {
	if err == nil {
		return "no answer"
	}
	return err.Error()
}

// flagsChanged emits PROVIDER_CONFIGURATION_CHANGED for one store update.
func (p *Provider) flagsChanged(keys []string) {
	p.mu.Lock()
	if !p.running || !p.initDone {
		p.mu.Unlock()
		return
	}
	done := p.done
	p.mu.Unlock()
	p.send(done, of.Event{ProviderName: p.name, EventType: of.ProviderConfigChange,
		ProviderEventDetails: of.ProviderEventDetails{Message: "flags changed in the store", FlagChanges: keys}})
}

// send delivers ev unless the provider is shut down first. It runs on the
// cache's listener goroutines, never on an evaluation's.
func (p *Provider) send(done chan struct{}, ev of.Event) {
	select {
	case p.events <- ev:
	case <-done:
	}
}
