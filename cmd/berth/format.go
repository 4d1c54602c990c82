package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"
)

// formatter prints rows in one of Docker's --format styles:
//
//	""/"table"        the command's default table
//	"json"            one JSON object a line (Docker's behaviour)
//	"table TEMPLATE"  a table with the template's columns and headers
//	"TEMPLATE"        the Go template once per row, no header
type formatter struct {
	w       io.Writer
	format  string
	defTmpl string // the default table template, columns separated by \t
	tmpl    *template.Template
	tw      *tabwriter.Writer
	header  bool
}

var templateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"join":  strings.Join,
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
	"truncate": func(s string, n int) string {
		if len(s) > n {
			return s[:n]
		}
		return s
	},
}

// newFormatter checks format and prepares to print. defTable is the
// default table template; headers are derived from the field names
// ({{.CreatedSince}} → CREATED SINCE) unless names maps them.
func newFormatter(w io.Writer, format, defTable string, names map[string]string) (*formatter, error) {
	f := &formatter{w: w, format: format, defTmpl: defTable}
	text := format
	switch {
	case format == "json":
		return f, nil
	case format == "" || format == "table":
		text, f.header = defTable, true
	case strings.HasPrefix(format, "table "):
		text, f.header = strings.TrimPrefix(format, "table "), true
	}
	text = strings.ReplaceAll(text, `\t`, "\t")
	text = strings.ReplaceAll(text, `\n`, "\n")
	t, err := template.New("format").Funcs(templateFuncs).Parse(text)
	if err != nil {
		return nil, usageError{fmt.Errorf("invalid --format: %w", err)}
	}
	f.tmpl = t
	if f.header {
		f.tw = tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
		fmt.Fprintln(f.tw, headerOf(text, names))
	}
	return f, nil
}

// headerOf turns "{{.ID}}\t{{.CreatedSince}}" into "ID\tCREATED SINCE".
func headerOf(text string, names map[string]string) string {
	cols := strings.Split(text, "\t")
	for i, c := range cols {
		field := strings.TrimSpace(c)
		field = strings.TrimPrefix(strings.TrimSuffix(field, "}}"), "{{")
		field = strings.TrimPrefix(strings.TrimSpace(field), ".")
		if n, ok := names[field]; ok {
			cols[i] = n
			continue
		}
		var b strings.Builder
		for j, r := range field {
			if j > 0 && r >= 'A' && r <= 'Z' && !(field[j-1] >= 'A' && field[j-1] <= 'Z') {
				b.WriteByte(' ')
			}
			b.WriteRune(r)
		}
		cols[i] = strings.ToUpper(b.String())
	}
	return strings.Join(cols, "\t")
}

// row prints one row.
func (f *formatter) row(v any) error {
	if f.tmpl == nil {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(f.w, "%s\n", b)
		return err
	}
	var out io.Writer = f.w
	if f.tw != nil {
		out = f.tw
	}
	if err := f.tmpl.Execute(out, v); err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	_, err := fmt.Fprintln(out)
	return err
}

// flush ends the table.
func (f *formatter) flush() error {
	if f.tw != nil {
		return f.tw.Flush()
	}
	return nil
}
