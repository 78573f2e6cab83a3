package main

import (
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

// contextBuildParams are the parameters of "contextBuild": one single-kind
// context, or the parts of a multi-kind one.
type contextBuildParams struct {
	Single *contextBuildSingle  `json:"single"`
	Multi  []contextBuildSingle `json:"multi"`
}

type contextBuildSingle struct {
	Kind      *string                    `json:"kind"`
	Key       string                     `json:"key"`
	Name      *string                    `json:"name"`
	Anonymous *bool                      `json:"anonymous"`
	Private   []string                   `json:"private"`
	Custom    map[string]jsonvalue.Value `json:"custom"`
}

func (p contextBuildSingle) build() evalctx.Context {
	b := evalctx.NewBuilder(p.Key)
	if p.Kind != nil {
		b.Kind(evalctx.Kind(*p.Kind))
	}
	if p.Name != nil {
		b.Name(*p.Name)
	}
	if p.Anonymous != nil {
		b.Anonymous(*p.Anonymous)
	}
	for name, v := range p.Custom {
		b.Set(name, v)
	}
	b.Private(p.Private...)
	return b.Build()
}

// contextResponse is the answer of contextBuild and contextConvert: the
// context's JSON, or why there is none. An invalid context is an answer,
// not a failed request.
type contextResponse struct {
	Output string `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
}

func contextOutput(c evalctx.Context) contextResponse {
	if err := c.Err(); err != nil {
		return contextResponse{Error: err.Error()}
	}
	data, err := c.MarshalJSON()
	if err != nil {
		return contextResponse{Error: err.Error()}
	}
	if !c.Multiple() && c.Key() == "" {
		data = emptyKeyUserJSON(data)
	}
	return contextResponse{Output: string(data)}
}

// emptyKeyUserJSON rewrites a user context with an empty key, which
// evalctx writes in the old user format (the only one that can express it,
// so that its JSON reads back), in the current format as LaunchDarkly's
// SDKs write it and the harness expects: {"kind": "user", "key": "", ...}.
func emptyKeyUserJSON(old []byte) []byte {
	v, err := jsonvalue.Parse(old)
	if err != nil || !v.IsObject() {
		return old
	}
	out := map[string]jsonvalue.Value{"kind": jsonvalue.String("user"), "key": jsonvalue.String("")}
	for name, val := range v.Entries() {
		switch name {
		case "key":
		case "custom":
			for k, cv := range val.Entries() {
				out[k] = cv
			}
		case "privateAttributeNames":
			var refs []jsonvalue.Value
			for _, n := range val.Elements() {
				refs = append(refs, jsonvalue.String(evalctx.NewLiteralRef(n.Str()).String()))
			}
			out["_meta"] = jsonvalue.Object(map[string]jsonvalue.Value{"privateAttributes": jsonvalue.Array(refs...)})
		default:
			out[name] = val
		}
	}
	return jsonvalue.Object(out).JSON()
}

func contextBuild(p *contextBuildParams) (any, error) {
	switch {
	case p == nil || (p.Single == nil && p.Multi == nil):
		return nil, badRequest("neither single nor multi")
	case p.Single != nil:
		return contextOutput(p.Single.build()), nil
	}
	m := evalctx.NewMultiBuilder()
	for _, s := range p.Multi {
		m.Add(s.build())
	}
	return contextOutput(m.Build()), nil
}

// contextConvertParams are the parameters of "contextConvert": context JSON
// in any format, as a string (it may be deliberately malformed).
type contextConvertParams struct {
	Input string `json:"input"`
}

func contextConvert(p *contextConvertParams) (any, error) {
	if p == nil {
		return nil, badRequest("no contextConvert parameters")
	}
	c, err := evalctx.Parse([]byte(p.Input))
	if err != nil {
		return contextResponse{Error: err.Error()}, nil
	}
	return contextOutput(c), nil
}

// contextComparePair are the parameters of "contextComparison".
type contextComparePair struct {
	Context1 *contextCompareParams `json:"context1"`
	Context2 *contextCompareParams `json:"context2"`
}

type contextCompareParams struct {
	Single *contextCompareSingle  `json:"single"`
	Multi  []contextCompareSingle `json:"multi"`
}

type contextCompareSingle struct {
	Kind       string `json:"kind"`
	Key        string `json:"key"`
	Attributes []struct {
		Name  string          `json:"name"`
		Value jsonvalue.Value `json:"value"`
	} `json:"attributes"`
	PrivateAttributes []struct {
		Value   string `json:"value"`
		Literal bool   `json:"literal"`
	} `json:"privateAttributes"`
}

func (p contextCompareSingle) build() evalctx.Context {
	b := evalctx.NewBuilder(p.Key).Kind(evalctx.Kind(p.Kind))
	for _, a := range p.Attributes {
		b.Set(a.Name, a.Value)
	}
	for _, pa := range p.PrivateAttributes {
		if pa.Literal {
			b.PrivateRef(evalctx.NewLiteralRef(pa.Value))
		} else {
			b.Private(pa.Value)
		}
	}
	return b.Build()
}

func (p *contextCompareParams) build() (evalctx.Context, error) {
	switch {
	case p == nil || (p.Single == nil && p.Multi == nil):
		return evalctx.Context{}, badRequest("a context has neither single nor multi")
	case p.Single != nil:
		return p.Single.build(), nil
	}
	m := evalctx.NewMultiBuilder()
	for _, s := range p.Multi {
		m.Add(s.build())
	}
	return m.Build(), nil
}

func contextComparison(p *contextComparePair) (any, error) {
	if p == nil {
		return nil, badRequest("no contextComparison parameters")
	}
	c1, err := p.Context1.build()
	if err != nil {
		return nil, err
	}
	c2, err := p.Context2.build()
	if err != nil {
		return nil, err
	}
	return map[string]bool{"equals": c1.Equal(c2)}, nil
}
