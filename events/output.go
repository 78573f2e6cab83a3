package events

import (
	"strconv"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

type eventKind uint8

const (
	kindFeature eventKind = iota + 1
	kindDebug
	kindIndex
	kindIdentify
	kindCustom
	kindRaw // pre-encoded (migration_op)
)

// queued is one event waiting in the queue. Contexts are kept as they are
// (immutable) and redacted when the payload is written.
type queued struct {
	kind    eventKind
	created int64
	ctx     evalctx.Context

	// feature and debug
	key           string
	version       int
	hasVersion    bool
	variation     int
	value, def    jsonvalue.Value
	reason        evaluation.Reason
	withReason    bool
	prereqOf      string
	samplingRatio int  // 0 or 1: left out
	trackEvents   bool // unsummarized only
	debugUntil    int64

	// custom
	data      jsonvalue.Value
	metric    float64
	hasMetric bool

	raw []byte // kindRaw
}

// appendEvent appends one event's JSON.
func (r *redactor) appendEvent(dst []byte, e *queued, unsummarized bool) []byte {
	if e.kind == kindRaw {
		if e.ctx.Err() != nil || len(e.raw) < 2 {
			return append(dst, e.raw...)
		}
		// A pre-encoded object gets the redacted context as its first
		// property, as LaunchDarkly writes migration_op events.
		dst = append(dst, `{"context":`...)
		dst = r.appendContext(dst, e.ctx, true)
		if e.raw[1] != '}' {
			dst = append(dst, ',')
		}
		return append(dst, e.raw[1:]...)
	}
	dst = append(dst, `{"kind":`...)
	switch e.kind {
	case kindFeature:
		dst = append(dst, `"feature"`...)
	case kindDebug:
		dst = append(dst, `"debug"`...)
	case kindIndex:
		dst = append(dst, `"index"`...)
	case kindIdentify:
		dst = append(dst, `"identify"`...)
	case kindCustom:
		dst = append(dst, `"custom"`...)
	}
	dst = append(dst, `,"creationDate":`...)
	dst = strconv.AppendInt(dst, e.created, 10)
	switch e.kind {
	case kindIndex, kindIdentify:
		dst = append(dst, `,"context":`...)
		dst = r.appendContext(dst, e.ctx, false)
	case kindCustom:
		// LaunchDarkly's Go SDK v7 (go-sdk-events v3) writes the whole
		// context, anonymous contexts redacted, rather than the older
		// "contextKeys".
		dst = append(dst, `,"key":`...)
		dst = jsonvalue.String(e.key).AppendJSON(dst)
		dst = append(dst, `,"context":`...)
		dst = r.appendContext(dst, e.ctx, true)
		if !e.data.IsNull() {
			dst = append(dst, `,"data":`...)
			dst = e.data.AppendJSON(dst)
		}
		if e.hasMetric {
			dst = append(dst, `,"metricValue":`...)
			dst = jsonvalue.Float(e.metric).AppendJSON(dst)
		}
	case kindFeature, kindDebug:
		dst = append(dst, `,"key":`...)
		dst = jsonvalue.String(e.key).AppendJSON(dst)
		if e.hasVersion {
			dst = append(dst, `,"version":`...)
			dst = strconv.AppendInt(dst, int64(e.version), 10)
		}
		dst = append(dst, `,"context":`...)
		// Debug events keep anonymous contexts' attributes (private ones
		// are still removed), as LaunchDarkly's SDK writes them.
		dst = r.appendContext(dst, e.ctx, e.kind == kindFeature)
		if e.variation >= 0 {
			dst = append(dst, `,"variation":`...)
			dst = strconv.AppendInt(dst, int64(e.variation), 10)
		}
		dst = append(dst, `,"value":`...)
		dst = e.value.AppendJSON(dst)
		dst = append(dst, `,"default":`...) // null included (prerequisites have none)
		dst = e.def.AppendJSON(dst)
		if e.withReason && e.reason.Kind != "" {
			dst = append(dst, `,"reason":`...)
			dst = e.reason.AppendJSON(dst)
		}
		if e.prereqOf != "" {
			dst = append(dst, `,"prereqOf":`...)
			dst = jsonvalue.String(e.prereqOf).AppendJSON(dst)
		}
		if e.samplingRatio > 1 || e.samplingRatio < 0 {
			dst = append(dst, `,"samplingRatio":`...)
			dst = strconv.AppendInt(dst, int64(e.samplingRatio), 10)
		}
		if unsummarized {
			if e.trackEvents {
				dst = append(dst, `,"trackEvents":true`...)
			}
			if e.debugUntil != 0 {
				dst = append(dst, `,"debugEventsUntilDate":`...)
				dst = strconv.AppendInt(dst, e.debugUntil, 10)
			}
		}
	}
	return append(dst, '}')
}

// appendSummary writes the summary event.
func appendSummary(dst []byte, s *summary) []byte {
	dst = append(dst, `{"kind":"summary","startDate":`...)
	dst = strconv.AppendInt(dst, s.start, 10)
	dst = append(dst, `,"endDate":`...)
	dst = strconv.AppendInt(dst, s.end, 10)
	dst = append(dst, `,"features":{`...)
	for i := range s.flags {
		f := &s.flags[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonvalue.String(f.key).AppendJSON(dst)
		dst = append(dst, `:{"default":`...)
		dst = f.def.AppendJSON(dst)
		dst = append(dst, `,"contextKinds":[`...)
		for j, k := range f.kinds {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = jsonvalue.String(string(k)).AppendJSON(dst)
		}
		dst = append(dst, `],"counters":[`...)
		for j := range f.counters {
			c := &f.counters[j]
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '{')
			if c.hasFlag {
				if c.variation >= 0 {
					dst = append(dst, `"variation":`...)
					dst = strconv.AppendInt(dst, int64(c.variation), 10)
					dst = append(dst, ',')
				}
				dst = append(dst, `"version":`...)
				dst = strconv.AppendInt(dst, int64(c.version), 10)
				dst = append(dst, ',')
			} else {
				dst = append(dst, `"unknown":true,`...)
			}
			dst = append(dst, `"value":`...)
			dst = c.value.AppendJSON(dst)
			dst = append(dst, `,"count":`...)
			dst = strconv.AppendInt(dst, c.count, 10)
			dst = append(dst, '}')
		}
		dst = append(dst, "]}"...)
	}
	return append(dst, "}}"...)
}
