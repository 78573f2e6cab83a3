package dynamodb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daemonflag/daemonflag/store"
)

// The change log is one item, namespace = key = "[P:]$changes", that this
// package's writers update after every write and readers poll (see
// Store.Notify). LaunchDarkly's SDKs never read it.
//
//	seq       (N)  the sequence number of the last change logged
//	epoch     (S)  random, chosen when the item is created: a reader that
//	               sees another epoch (the item was deleted and made again)
//	               re-checks everything
//	log       (S)  JSON: the last changes, oldest first, each
//	               [seq, kind, key], with kind "" for "everything" (an Init)
//	lastWrite (N)  Unix milliseconds of the last write (Store.LastWrite)
//
// The log keeps at most changeLogEntries entries and changeLogBytes of JSON,
// so the item stays under 4 KB, and an eventually consistent read of it
// costs half a read unit.
const (
	changesNamespace = "$changes"
	attrSeq          = "seq"
	attrEpoch        = "epoch"
	attrLog          = "log"
	attrLastWrite    = "lastWrite"
	changeLogEntries = 64
	changeLogBytes   = 3000
	changeLogTries   = 10
)

// logEntry is one change in the log: [seq, kind, key].
type logEntry struct {
	Seq  int64
	Kind string
	Key  string
}

func (e logEntry) MarshalJSON() ([]byte, error) {
	return json.Marshal([]any{e.Seq, e.Kind, e.Key})
}

func (e *logEntry) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if len(raw) != 3 {
		return errBadLog
	}
	if err := json.Unmarshal(raw[0], &e.Seq); err != nil {
		return errBadLog
	}
	if err := json.Unmarshal(raw[1], &e.Kind); err != nil {
		return errBadLog
	}
	if err := json.Unmarshal(raw[2], &e.Key); err != nil {
		return errBadLog
	}
	return nil
}

var errBadLog = errors.New("dynamodb: change log is not daemonflag's")

func (e logEntry) change() store.Change {
	if e.Kind == "" {
		return store.ChangeAll
	}
	return store.Change{Kind: store.Kind(e.Kind), Key: e.Key}
}

// changeLog is the decoded change-log item.
type changeLog struct {
	seq       int64
	epoch     string
	entries   []logEntry
	lastWrite int64
}

// decodeChangeLog reads the change-log item. A missing item gives found
// false; an item that is not a valid change log gives an error.
func decodeChangeLog(av map[string]types.AttributeValue) (cl changeLog, found bool, err error) {
	if len(av) == 0 {
		return changeLog{}, false, nil
	}
	if n, ok := av[attrSeq].(*types.AttributeValueMemberN); ok {
		if cl.seq, err = strconv.ParseInt(n.Value, 10, 64); err != nil {
			return changeLog{}, true, errBadLog
		}
	}
	if e, ok := av[attrEpoch].(*types.AttributeValueMemberS); ok {
		cl.epoch = e.Value
	}
	if l, ok := av[attrLog].(*types.AttributeValueMemberS); ok {
		if err := json.Unmarshal([]byte(l.Value), &cl.entries); err != nil {
			return changeLog{}, true, errBadLog
		}
	}
	if n, ok := av[attrLastWrite].(*types.AttributeValueMemberN); ok {
		cl.lastWrite, _ = strconv.ParseInt(n.Value, 10, 64)
	}
	return cl, true, nil
}

// since returns the changes logged after seq, or ChangeAll when the log no
// longer reaches back that far.
func (cl changeLog) since(seq int64) []store.Change {
	if cl.seq <= seq {
		return nil
	}
	if len(cl.entries) == 0 || cl.entries[0].Seq > seq+1 {
		return []store.Change{store.ChangeAll}
	}
	var out []store.Change
	for _, e := range cl.entries {
		if e.Seq > seq {
			out = append(out, e.change())
		}
	}
	return out
}

// logChanges records changes just written: it tells this store object's
// subscribers at once, and appends them to the change-log item (read,
// then a put conditioned on the sequence number read, again on a conflict
// with another writer). A failure is logged, not returned: the data was
// written, and readers still have their TTL.
func (s *Store) logChanges(ctx context.Context, changes []store.Change) {
	if len(changes) == 0 {
		return
	}
	s.hub.Broadcast(changes)
	s.appendLog(ctx, changes)
}

// appendLog is logChanges without telling this store object's subscribers.
func (s *Store) appendLog(ctx context.Context, changes []store.Change) {
	ctx = context.WithoutCancel(ctx)
	var err error
	for range changeLogTries {
		if err = s.appendChangeLog(ctx, changes); !isConditionFailed(err) {
			break
		}
	}
	if err != nil {
		s.log().Warn("dynamodb store could not update its change log; readers will see the change when their cache TTL expires",
			"table", s.table, "prefix", s.prefix, "error", err)
	}
}

func (s *Store) appendChangeLog(ctx context.Context, changes []store.Change) error {
	ns := s.namespace(changesNamespace)
	av, err := s.getItem(ctx, "read change log", ns, ns)
	if err != nil {
		return err
	}
	cl, found, err := decodeChangeLog(av)
	corrupt := err != nil
	if corrupt {
		cl = changeLog{} // start afresh: a new epoch tells readers
	}
	prevSeq := cl.seq
	if !found || corrupt || cl.epoch == "" {
		cl.epoch = newEpoch()
	}
	for _, c := range changes {
		cl.seq++
		if c.IsAll() {
			cl.entries = append(cl.entries, logEntry{Seq: cl.seq})
			continue
		}
		cl.entries = append(cl.entries, logEntry{Seq: cl.seq, Kind: string(c.Kind), Key: c.Key})
	}
	var data []byte
	for {
		if len(cl.entries) > changeLogEntries {
			cl.entries = cl.entries[len(cl.entries)-changeLogEntries:]
		}
		data, _ = json.Marshal(cl.entries)
		if len(data) <= changeLogBytes || len(cl.entries) <= 1 {
			break
		}
		cl.entries = cl.entries[1:]
	}
	if len(data) > changeLogBytes {
		// One key too long to log: log "everything" in its place.
		cl.entries = []logEntry{{Seq: cl.seq}}
		data, _ = json.Marshal(cl.entries)
	}
	item := s.keyOf(ns, ns)
	item[attrSeq] = &types.AttributeValueMemberN{Value: strconv.FormatInt(cl.seq, 10)}
	item[attrEpoch] = &types.AttributeValueMemberS{Value: cl.epoch}
	item[attrLog] = &types.AttributeValueMemberS{Value: string(data)}
	item[attrLastWrite] = &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().UnixMilli(), 10)}
	in := &ddb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     item,
		ExpressionAttributeNames: map[string]string{"#ns": attrNamespace},
	}
	switch {
	case corrupt:
	case found:
		in.ConditionExpression = aws.String("#seq = :seq")
		in.ExpressionAttributeNames = map[string]string{"#seq": attrSeq}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{
			":seq": &types.AttributeValueMemberN{Value: strconv.FormatInt(prevSeq, 10)},
		}
		if _, ok := av[attrSeq]; !ok {
			in.ConditionExpression = aws.String("attribute_not_exists(#seq)")
			in.ExpressionAttributeValues = nil
		}
	default:
		in.ConditionExpression = aws.String("attribute_not_exists(#ns)")
	}
	if in.ConditionExpression == nil {
		in.ExpressionAttributeNames = nil
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	pctx, cancel := s.opCtx(ctx)
	defer cancel()
	_, err = s.client.PutItem(pctx, in)
	if isConditionFailed(err) {
		return err
	}
	return s.wrap("update change log", err)
}

func newEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// LastWrite returns when a writer of this package last wrote the dataset,
// from the change-log item (a consistent read). ok is false for a dataset
// only other writers (a LaunchDarkly Relay Proxy) have written.
func (s *Store) LastWrite(ctx context.Context) (time.Time, bool, error) {
	ns := s.namespace(changesNamespace)
	av, err := s.getItem(ctx, "read change log", ns, ns, attrLastWrite)
	if err != nil {
		return time.Time{}, false, err
	}
	t, ok := lastWriteOf(av)
	return t, ok, nil
}

// WriteMark implements [store.WriteMarker]: the change log's epoch and
// sequence number (a consistent read), which every write of this package
// moves after the write and which Notify's polls follow. It is "" for a
// dataset only other writers (a LaunchDarkly Relay Proxy) have written, and
// an error for a change-log item that is not daemonflag's.
func (s *Store) WriteMark(ctx context.Context) (string, error) {
	ns := s.namespace(changesNamespace)
	av, err := s.getItem(ctx, "read change log", ns, ns, attrSeq, attrEpoch)
	if err != nil {
		return "", err
	}
	return markOf(av)
}
