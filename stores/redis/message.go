package redis

import (
	"encoding/json"
	"errors"

	"github.com/daemonflag/daemonflag/store"
)

// A change message, published on "<prefix>:$changes" with every write, is
// a JSON object:
//
//	{"w":"<writer>","all":true}                       a whole new dataset (Init)
//	{"w":"<writer>","c":[["features","f1"],["segments","s"]]}  these items
//
// "w" identifies the store object that wrote, so that it skips its own
// messages (it told its subscribers directly). A message naming more than
// maxMessageChanges items says "all" instead.

const maxMessageChanges = 1000

type wireMessage struct {
	W   string      `json:"w"`
	All bool        `json:"all,omitempty"`
	C   [][2]string `json:"c,omitempty"`
}

// encodeChanges builds the change message of a write by writer.
func encodeChanges(writer string, changes []store.Change) []byte {
	m := wireMessage{W: writer}
	if len(changes) > maxMessageChanges {
		m.All = true
	}
	for _, c := range changes {
		if m.All {
			break
		}
		if c.IsAll() {
			m.All, m.C = true, nil
			break
		}
		m.C = append(m.C, [2]string{string(c.Kind), c.Key})
	}
	b, _ := json.Marshal(m) // strings and bools only: cannot fail
	return b
}

var errBadMessage = errors.New("not a daemonflag change message")

// decodeChanges reads a change message. A message that is not one gives an
// error; the caller then re-checks everything, since a hint was lost.
func decodeChanges(data []byte) (writer string, changes []store.Change, err error) {
	var m wireMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return "", nil, errBadMessage
	}
	if m.All {
		return m.W, []store.Change{store.ChangeAll}, nil
	}
	if len(m.C) == 0 {
		return "", nil, errBadMessage
	}
	changes = make([]store.Change, 0, len(m.C))
	for _, c := range m.C {
		if c[0] == "" {
			return "", nil, errBadMessage
		}
		changes = append(changes, store.Change{Kind: store.Kind(c[0]), Key: c[1]})
	}
	return m.W, changes, nil
}
