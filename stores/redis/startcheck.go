package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/store"
)

var _ store.StartChecker = (*Store)(nil)

// StartCheck implements [store.StartChecker]: EXISTS "<prefix>:$inited",
// GET "<prefix>:$write_mark", GET "<prefix>:$last_write" and, when key is
// given, the item's HGET in one pipeline, each answer as [Store.Initialized],
// [Store.WriteMark], [Store.LastWrite] and [Store.GetUnparsed] give it. On a
// Cluster with an unhashed prefix the keys are on several nodes, whose
// pipelines run side by side, so the item is read after them, in a second
// round trip; with notify=keyspace (no mark) it is not read. On a single
// server whose connections need no handshake (no credentials, client name,
// database or RESP3, and the store's own dialer), a store's first
// StartCheck is made without go-redis, on a connection it dials on the
// caller's goroutine and go-redis then takes over (see firstconn.go).
func (s *Store) StartCheck(ctx context.Context, kind store.Kind, key string) store.StartCheck {
	if err := s.check(ctx); err != nil {
		err = wrapErr("start check", err)
		return store.StartCheck{InitErr: err, MarkErr: err, LastWriteErr: err}
	}
	withItem := key != "" && kind != "" && s.notify != NotifyKeyspace
	if s.first.claim() {
		out, err := s.firstStartCheck(ctx, kind, key, withItem)
		if err == nil {
			return out
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			err = wrapErr("start check", err) // go-redis would fail the same way
			return store.StartCheck{InitErr: err, MarkErr: err, LastWriteErr: err}
		}
	}
	var (
		exists *goredis.IntCmd
		mark   *goredis.StringCmd
		last   *goredis.StringCmd
		item   *goredis.StringCmd
	)
	_, _ = s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		exists = p.Exists(ctx, s.keys.inited)
		if s.notify != NotifyKeyspace {
			mark = p.Get(ctx, s.keys.writeMark)
		}
		last = p.Get(ctx, s.keys.lastWrite)
		if withItem && s.atomicInit {
			item = p.HGet(ctx, s.keys.kind(kind), key)
		}
		return nil
	})
	var out store.StartCheck
	if n, err := exists.Result(); err != nil {
		out.InitErr = wrapErr("initialized", err)
	} else {
		out.Inited = n == 1
	}
	if mark == nil {
		out.MarkErr = errMarkKeyspace
	} else {
		out.Mark, out.MarkErr = markResult(mark.Result())
	}
	out.LastWrite, out.LastWriteOK, out.LastWriteErr = s.lastWriteResult(last.Result())
	switch {
	case !withItem:
	case item != nil:
		out.ItemRead = true
		data, err := item.Bytes()
		switch {
		case err == goredis.Nil:
		case err != nil:
			out.ItemErr = wrapErr(kindKeyOp("get", kind, key), err)
		default:
			out.ItemData, out.ItemFound = data, true
		}
	default:
		out.ItemRead = true
		out.ItemData, out.ItemFound, out.ItemErr = s.GetUnparsed(ctx, kind, key)
	}
	return out
}

var errMarkKeyspace = fmt.Errorf("redis write mark: %w with notify=keyspace", errors.ErrUnsupported)

// markResult is WriteMark's answer from the GET of "<prefix>:$write_mark".
func markResult(v string, err error) (string, error) {
	if err == goredis.Nil {
		return "", nil
	}
	if err != nil {
		return "", wrapErr("write mark", err)
	}
	return v, nil
}

// lastWriteResult is LastWrite's answer from the GET of
// "<prefix>:$last_write".
func (s *Store) lastWriteResult(v string, err error) (time.Time, bool, error) {
	if err == goredis.Nil {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, wrapErr("last write", err)
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("redis get %s: %w: %q is not Unix milliseconds", s.keys.lastWrite, store.ErrMalformedItem, v)
	}
	return time.UnixMilli(ms), true, nil
}

// firstStartCheck is StartCheck made as the store's first round trip, on a
// connection dialled on the caller's goroutine (see firstconn.go). It fails
// with ctx's error when ctx ended; on any other error go-redis is to make
// the round trip.
func (s *Store) firstStartCheck(ctx context.Context, kind store.Kind, key string, withItem bool) (out store.StartCheck, err error) {
	cmds := make([]firstCmd, 0, 4)
	cmds = append(cmds, firstCmd{args: []string{"exists", s.keys.inited}, integer: true})
	if s.notify != NotifyKeyspace {
		cmds = append(cmds, firstCmd{args: []string{"get", s.keys.writeMark}})
	}
	cmds = append(cmds, firstCmd{args: []string{"get", s.keys.lastWrite}})
	if withItem {
		cmds = append(cmds, firstCmd{args: []string{"hget", s.keys.kind(kind), key}})
	}
	replies, err := s.first.roundTrip(ctx, cmds)
	if err != nil {
		return out, err
	}
	bulk := func(r reply) (string, error) {
		if r.null {
			return "", goredis.Nil
		}
		return string(r.bulk), nil
	}
	out.Inited = replies[0].n == 1
	replies = replies[1:]
	if s.notify == NotifyKeyspace {
		out.MarkErr = errMarkKeyspace
	} else {
		out.Mark, out.MarkErr = markResult(bulk(replies[0]))
		replies = replies[1:]
	}
	out.LastWrite, out.LastWriteOK, out.LastWriteErr = s.lastWriteResult(bulk(replies[0]))
	if withItem {
		out.ItemRead = true
		if r := replies[1]; !r.null {
			out.ItemData, out.ItemFound = r.bulk, true
		}
	}
	return out, nil
}
