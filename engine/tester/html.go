package tester

import (
	"html/template"
	"io"
)

var coverageHTML = template.Must(template.New("coverage").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>archflow coverage</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin-bottom:1em}td,th{padding:.2em .8em;text-align:left;border-bottom:1px solid #ddd}
.miss{color:#b00}.ok{color:#070}
</style></head><body>
<h1>archflow coverage</h1>
{{range .}}<h2>{{.Flow}} <small>({{.File}})</small></h2>
<table>
<tr><th>total</th><td>{{printf "%.1f" .Total.Percent}}% ({{.Total}})</td></tr>
<tr><th>nodes</th><td>{{.Nodes}}</td></tr>
<tr><th>edges</th><td>{{.Edges}}</td></tr>
<tr><th>decision cases</th><td>{{.Cases}}</td></tr>
<tr><th>data-action outcomes</th><td>{{.Outcomes}}</td></tr>
</table>
{{if .Missing}}<p>Not covered:</p><ul>{{range .Missing}}<li class="miss">{{.}}</li>{{end}}</ul>{{else}}<p class="ok">Everything covered.</p>{{end}}
{{else}}<p>No flow was tested.</p>{{end}}
</body></html>
`))

// WriteCoverageHTML writes the coverage of every flow as one HTML page.
func (r *Report) WriteCoverageHTML(w io.Writer) error {
	return coverageHTML.Execute(w, r.Coverage)
}
