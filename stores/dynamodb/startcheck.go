package dynamodb

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daemonflag/daemonflag/store"
)

var _ store.StartChecker = (*Store)(nil)

// StartCheck implements [store.StartChecker]: the query of the "$inited"
// partition (as [Store.Initialized]) and one consistent GetItem of the
// change log, which holds both the write mark ([Store.WriteMark]) and the
// last write ([Store.LastWrite]), made side by side: one round trip where
// the three calls take three. It leaves the item unread (DynamoDB has no
// pipeline to order it after the mark).
func (s *Store) StartCheck(ctx context.Context, _ store.Kind, _ string) store.StartCheck {
	var out store.StartCheck
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		out.Inited, out.InitErr = s.Initialized(ctx)
	}()
	ns := s.namespace(changesNamespace)
	av, err := s.getItem(ctx, "read change log", ns, ns, attrSeq, attrEpoch, attrLastWrite)
	wg.Wait()
	if err != nil {
		out.MarkErr, out.LastWriteErr = err, err
		return out
	}
	out.Mark, out.MarkErr = markOf(av)
	out.LastWrite, out.LastWriteOK = lastWriteOf(av)
	return out
}

// markOf is WriteMark's answer from the change-log item av.
func markOf(av map[string]types.AttributeValue) (string, error) {
	if len(av) == 0 {
		return "", nil
	}
	seq, ok := av[attrSeq].(*types.AttributeValueMemberN)
	epoch, eok := av[attrEpoch].(*types.AttributeValueMemberS)
	if !ok || !eok {
		return "", fmt.Errorf("dynamodb write mark: %w", errBadLog)
	}
	return epoch.Value + ":" + seq.Value, nil
}

// lastWriteOf is LastWrite's answer from the change-log item av.
func lastWriteOf(av map[string]types.AttributeValue) (time.Time, bool) {
	n, ok := av[attrLastWrite].(*types.AttributeValueMemberN)
	if !ok {
		return time.Time{}, false
	}
	ms, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}
