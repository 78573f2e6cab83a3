package dynamodb

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// maxItemSize is DynamoDB's item size limit, 400 KB.
const maxItemSize = 400 * 1024

// itemSize returns the size of an item as DynamoDB counts it against the
// item limit: for each attribute, the UTF-8 length of its name plus the size
// of its value (strings: UTF-8 bytes; numbers: about one byte per two
// significant digits plus one; sets: the sum of
// their elements). It only has to be exact for the attribute types this
// package writes (S, N, SS); others are counted generously.
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += numberSize(s)
		}
		return n
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		return 3 + len(v.Value) + itemSize(v.Value)
	}
	return 0
}

// numberSize is the stored size of a decimal number: one byte per two
// significant digits, one byte of exponent, one more when the digits do not
// pack evenly into base-100 pairs, and one for a minus sign. Integers (all
// this package writes) are counted exactly; other forms are counted from
// above.
func numberSize(s string) int {
	neg := 0
	if strings.HasPrefix(s, "-") {
		neg, s = 1, s[1:]
	}
	s = strings.TrimLeft(s, "0")
	if s == "" {
		return 1 // zero
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 3 + (len(s)+1)/2 + neg // not an integer: an upper bound
		}
	}
	exp := len(s) - 1
	digits := len(strings.TrimRight(s, "0"))
	size := 1 + (digits+1)/2 + neg
	if digits%2 == 0 && exp%2 == 0 {
		size++
	}
	return size
}
