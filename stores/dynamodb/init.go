package dynamodb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daemonflag/daemonflag/store"
)

// Init replaces the dataset. DynamoDB has no multi-item atomicity at this
// size, so Init writes in an order that keeps every item a reader can see
// usable (see the package documentation):
//
//  1. every item is encoded and its size checked; one oversized item fails
//     the call before anything is written;
//  2. the keys stored now are read (a Query per kind, keys only);
//  3. segments are written, then flags in prerequisite order (a flag after
//     the flags it names as prerequisites), each level in parallel
//     BatchWriteItem requests of up to 25 items;
//  4. items of those kinds that data no longer holds are deleted;
//  5. the "$inited" marker is written, and the init-in-progress mark
//     written before step 3 is deleted (see [Store.Initialized]).
//
// Unprocessed items are sent again with exponential backoff and jitter; when
// some still cannot be written the call fails, naming how many, and the
// marker is not (re)written by this call.
func (s *Store) Init(ctx context.Context, data []store.Collection) error {
	if err := s.checkOpen(); err != nil {
		return err
	}

	// Kinds in write order: the known ones first (segments, then features),
	// then any others in the order given. Kinds absent from data are emptied.
	kinds := slices.Clone(store.Kinds)
	byKind := map[store.Kind][]store.KeyedItem{}
	for _, c := range data {
		switch c.Kind {
		case "", initedNamespace, changesNamespace, bigSegMetaNS, bigSegUserNS:
			return fmt.Errorf("dynamodb init: %q is not a kind of item", c.Kind)
		}
		if !slices.Contains(kinds, c.Kind) {
			kinds = append(kinds, c.Kind)
		}
		byKind[c.Kind] = append(byKind[c.Kind], c.Items...)
	}

	// 1. Encode and check every item before writing anything.
	levels := [][]types.WriteRequest{}
	present := map[string]map[string]bool{} // namespace -> keys in data
	var tooLarge []*ItemTooLargeError
	for _, kind := range kinds {
		items := dedupe(byKind[kind])
		ns := s.namespace(string(kind))
		present[ns] = make(map[string]bool, len(items))
		enc := make(map[string]map[string]types.AttributeValue, len(items))
		for _, ki := range items {
			av, err := s.encodeItem(kind, ki.Key, ki.Item)
			if err != nil {
				return fmt.Errorf("dynamodb init: %w", err)
			}
			if err := checkSize(kind, ki.Key, av); err != nil {
				tooLarge = append(tooLarge, err)
				continue
			}
			enc[ki.Key] = av
			present[ns][ki.Key] = true
		}
		var order [][]string
		if kind == store.Features {
			order = prerequisiteLevels(items)
		} else {
			keys := make([]string, 0, len(items))
			for _, ki := range items {
				keys = append(keys, ki.Key)
			}
			order = [][]string{keys}
		}
		for _, level := range order {
			var reqs []types.WriteRequest
			for _, k := range level {
				if av, ok := enc[k]; ok {
					reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: av}})
				}
			}
			if len(reqs) > 0 {
				levels = append(levels, reqs)
			}
		}
	}
	if len(tooLarge) > 0 {
		return oversizedInit(tooLarge)
	}

	// 2. Keys stored now, to delete the ones data no longer holds.
	var deletes []types.WriteRequest
	for _, kind := range kinds {
		ns := s.namespace(string(kind))
		err := s.queryNamespace(ctx, "init: reading existing "+string(kind)+" keys", ns, []string{attrNamespace, attrKey},
			func(av map[string]types.AttributeValue) error {
				k, ok := av[attrKey].(*types.AttributeValueMemberS)
				if ok && !present[ns][k.Value] {
					deletes = append(deletes, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: s.keyOf(ns, k.Value)}})
				}
				return nil
			})
		if err != nil {
			return err
		}
	}

	// The init-in-progress mark, before the first write: readers that see
	// it know the dataset may be a mix of the old one and the new one.
	ns := s.namespace(initedNamespace)
	mark := s.keyOf(ns, s.namespace(initingKey))
	mark[attrStartedAt] = &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().UnixMilli(), 10)}
	if err := s.putItem(ctx, "init: marking an init in progress", mark); err != nil {
		return err
	}
	// Readers in other processes, which poll the change log, re-check now,
	// and so find the mark (Initialized) before they would read a mix. This
	// store object's own subscribers share the writer: they hear of the
	// Init when it is complete.
	s.appendLog(ctx, []store.Change{store.ChangeAll})

	// 3. and 4. Puts level by level, then deletions.
	if len(deletes) > 0 {
		levels = append(levels, deletes)
	}
	for _, reqs := range levels {
		if err := s.batchWrite(ctx, "init", reqs); err != nil {
			return err
		}
	}

	// 5. The marker, last; then the mark goes.
	if err := s.putItem(ctx, "init: writing $inited", s.keyOf(ns, ns)); err != nil {
		return err
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	pctx, cancel := s.opCtx(ctx)
	defer cancel()
	_, err := s.client.DeleteItem(pctx, &ddb.DeleteItemInput{TableName: &s.table, Key: s.keyOf(ns, s.namespace(initingKey))})
	if err != nil {
		return s.wrap("init: clearing the init-in-progress mark", err)
	}
	s.logChanges(ctx, []store.Change{store.ChangeAll})
	return nil
}

// The init-in-progress mark is an item in the partition of the "$inited"
// marker, so that one Query reads both (LaunchDarkly's SDKs read only the
// "$inited" item itself and never see it): namespace "[P:]$inited", key
// "[P:]$initing", with the Unix milliseconds the init started at.
const (
	initingKey    = "$initing"
	attrStartedAt = "startedAt"
)

// putItem writes one item unconditionally.
func (s *Store) putItem(ctx context.Context, op string, item map[string]types.AttributeValue) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	pctx, cancel := s.opCtx(ctx)
	defer cancel()
	_, err := s.client.PutItem(pctx, &ddb.PutItemInput{TableName: &s.table, Item: item})
	return s.wrap(op, err)
}

// dedupe keeps one item per key: the highest version, the later one on a tie.
// BatchWriteItem refuses a batch that names a key twice.
func dedupe(items []store.KeyedItem) []store.KeyedItem {
	idx := make(map[string]int, len(items))
	out := make([]store.KeyedItem, 0, len(items))
	for _, ki := range items {
		if i, ok := idx[ki.Key]; ok {
			if ki.Item.Version >= out[i].Item.Version {
				out[i] = ki
			}
			continue
		}
		idx[ki.Key] = len(out)
		out = append(out, ki)
	}
	return out
}

// prerequisiteLevels groups flag keys so that every flag comes in a later
// level than the flags it names as prerequisites: level 0 holds flags with no
// prerequisite in the dataset, level n flags whose deepest prerequisite is in
// level n-1. Flags in one level may be written in parallel. Prerequisite
// cycles (malformed flags the evaluator rejects anyway) are broken at the
// first back edge. Only the "prerequisites" field of the JSON is read; an
// item whose JSON does not parse has none.
func prerequisiteLevels(items []store.KeyedItem) [][]string {
	prereqs := make(map[string][]string, len(items))
	keys := make([]string, 0, len(items))
	for _, ki := range items {
		keys = append(keys, ki.Key)
		prereqs[ki.Key] = prerequisiteKeys(ki.Item.Data)
	}
	slices.Sort(keys)

	const visiting = -1
	depth := make(map[string]int, len(keys)) // level+1 once known
	var visit func(k string) int
	visit = func(k string) int {
		switch d := depth[k]; {
		case d > 0:
			return d
		case d == visiting:
			return 0 // cycle: ignore the back edge
		}
		depth[k] = visiting
		d := 1
		for _, p := range prereqs[k] {
			if _, inData := prereqs[p]; !inData || p == k {
				continue
			}
			if pd := visit(p); pd+1 > d {
				d = pd + 1
			}
		}
		depth[k] = d
		return d
	}
	var levels [][]string
	for _, k := range keys {
		d := visit(k)
		for len(levels) < d {
			levels = append(levels, nil)
		}
		levels[d-1] = append(levels[d-1], k)
	}
	return levels
}

// prerequisiteKeys reads the keys of a flag's "prerequisites" from its JSON.
func prerequisiteKeys(data []byte) []string {
	if !bytes.Contains(data, []byte(`"prerequisites"`)) {
		return nil
	}
	var f struct {
		Prerequisites []struct {
			Key string `json:"key"`
		} `json:"prerequisites"`
	}
	if json.Unmarshal(data, &f) != nil {
		return nil
	}
	keys := make([]string, 0, len(f.Prerequisites))
	for _, p := range f.Prerequisites {
		keys = append(keys, p.Key)
	}
	return keys
}

// oversizedInit is the error of an Init refused for oversized items. It
// wraps every *ItemTooLargeError and names the first few.
func oversizedInit(items []*ItemTooLargeError) error {
	var b strings.Builder
	errs := make([]error, len(items))
	for i, e := range items {
		errs[i] = e
		if i < 5 {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %q (%d bytes)", e.Kind, e.Key, e.Size)
		}
	}
	if len(items) > 5 {
		fmt.Fprintf(&b, " and %d more", len(items)-5)
	}
	return &initError{
		msg:  fmt.Sprintf("dynamodb init: nothing was written: %d item(s) over DynamoDB's %d-byte item limit: %s", len(items), maxItemSize, b.String()),
		errs: errs,
	}
}

type initError struct {
	msg  string
	errs []error
}

func (e *initError) Error() string   { return e.msg }
func (e *initError) Unwrap() []error { return e.errs }
