package values

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/chartd/chartd/chart"
)

// ErrSchema is wrapped by every schema validation failure.
var ErrSchema = errors.New("values don't meet the specifications of the schema(s)")

// schemaURL is the name Helm compiles every values.schema.json under; it
// shows up in error messages, so it must not change.
const schemaURL = "file:///values.schema.json"

// ValidateAgainstSchema validates the coalesced values of a chart tree
// against each chart's values.schema.json, the subcharts' with their own
// table. The message lists failing charts as Helm does ("name:\n- at ...").
func ValidateAgainstSchema(ch *chart.Chart, vals map[string]interface{}) error {
	var sb strings.Builder
	if ch.Schema != nil {
		if err := ValidateAgainstSingleSchema(vals, ch.Schema); err != nil {
			fmt.Fprintf(&sb, "%s:\n", ch.Name())
			sb.WriteString(err.Error())
		}
	}
	for _, sub := range ch.Dependencies() {
		raw, ok := vals[sub.Name()]
		if !ok || raw == nil {
			continue
		}
		sv, ok := raw.(map[string]interface{})
		if !ok {
			fmt.Fprintf(&sb, "%s:\ninvalid type for values: expected object (map), got %T\n", sub.Name(), raw)
			continue
		}
		if err := ValidateAgainstSchema(sub, sv); err != nil {
			sb.WriteString(err.Error())
		}
	}
	if sb.Len() > 0 {
		return &SchemaError{msg: sb.String()}
	}
	return nil
}

// SchemaError is a schema validation failure; its message is the list of
// violations, and it matches ErrSchema.
type SchemaError struct{ msg string }

func (e *SchemaError) Error() string { return e.msg }

// Is makes errors.Is(err, ErrSchema) true.
func (e *SchemaError) Is(target error) bool { return target == ErrSchema }

// ValidateAgainstSingleSchema validates values against one JSON schema.
// Remote $refs are fetched over http(s) and file://; urn: refs that cannot
// be resolved are treated as permissive, like Helm.
func ValidateAgainstSingleSchema(vals map[string]interface{}, schemaJSON []byte) (reterr error) {
	// The validator can panic on exotic schemas; report rather than crash.
	defer func() {
		if r := recover(); r != nil {
			reterr = fmt.Errorf("unable to validate schema: %s", r)
		}
	}()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return err
	}
	httpLoader := &httpLoader{client: &http.Client{Timeout: 15 * time.Second}}
	c := jsonschema.NewCompiler()
	c.UseLoader(jsonschema.SchemeURLLoader{
		"file":  jsonschema.FileLoader{},
		"http":  httpLoader,
		"https": httpLoader,
		"urn":   urnLoader{},
	})
	if err := c.AddResource(schemaURL, doc); err != nil {
		return err
	}
	sch, err := c.Compile(schemaURL)
	if err != nil {
		return err
	}
	if vals == nil {
		vals = map[string]interface{}{}
	}
	if err := sch.Validate(vals); err != nil {
		msg := strings.TrimPrefix(err.Error(), "jsonschema validation failed with '"+schemaURL+"#'\n")
		return &SchemaError{msg: msg + "\n"}
	}
	return nil
}

type httpLoader struct{ client *http.Client }

func (l *httpLoader) Load(url string) (any, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("failed to create HTTP request for %s: %w", url, err)
	}
	req.Header.Set("User-Agent", "Helm/3.22")
	resp, err := l.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("HTTP request failed for %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP request to %s returned status %d (%s)", url, resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return jsonschema.UnmarshalJSON(resp.Body)
}

// urnLoader accepts any urn: reference as the schema `true`: Helm has no
// URN registry by default and chooses permissiveness.
type urnLoader struct{}

func (urnLoader) Load(string) (any, error) { return true, nil }
