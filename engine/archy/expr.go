package archy

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/archflow/archflow/engine"
	"github.com/archflow/archflow/engine/archy/dataaction"
)

// ExprError is a problem in an Architect expression, at a byte offset of its source.
type ExprError struct {
	Offset int
	Msg    string
}

func (e *ExprError) Error() string { return e.Msg }

// Resolver maps an Architect variable (scope Flow, State or Task, and its name) to the archflow
// variable that holds it; ok is false for an undeclared one.
type Resolver func(scope, name string) (string, bool)

// TranslateExpr turns an Architect expression into expr source with archflow's NOT_SET rules:
// NOT_SET is nil, and/or/not in any case are &&, || and !, Flow.x is x, functions are mapped
// by name (case-insensitively, as Architect reads them). Every problem is returned, in order.
func TranslateExpr(src string, resolve Resolver) (string, []*ExprError) {
	toks, err := lex(src)
	if err != nil {
		return "", []*ExprError{err}
	}
	p := &exprParser{toks: toks, resolve: resolve}
	n := p.parse(0)
	if n != nil && p.peek().kind != tEOF {
		p.fail(p.peek().off, "unexpected %s", p.peek().describe())
	}
	if len(p.errs) > 0 {
		return "", p.errs
	}
	out, errs := emit(n, resolve)
	return out, errs
}

type tokKind int

const (
	tEOF tokKind = iota
	tNum
	tStr
	tIdent
	tOp
)

type token struct {
	kind tokKind
	text string // for tStr: the decoded value
	off  int
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tStr:
		return strconv.Quote(t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

var twoCharOps = []string{"==", "!=", "<>", "<=", ">=", "&&", "||"}

func lex(src string) ([]token, *ExprError) {
	var toks []token
	i := 0
	for i < len(src) {
		r, w := utf8.DecodeRuneInString(src[i:])
		switch {
		case unicode.IsSpace(r):
			i += w
		case r >= '0' && r <= '9':
			j := i
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.') {
				j++
			}
			toks = append(toks, token{tNum, src[i:j], i})
			i = j
		case r == '"' || r == '\'':
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(src) {
				c := src[j]
				if c == '\\' && j+1 < len(src) {
					switch src[j+1] {
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					case 'r':
						b.WriteByte('\r')
					default:
						b.WriteByte(src[j+1])
					}
					j += 2
					continue
				}
				if c == byte(r) {
					closed = true
					j++
					break
				}
				b.WriteByte(c)
				j++
			}
			if !closed {
				return nil, &ExprError{i, "unterminated string"}
			}
			toks = append(toks, token{tStr, b.String(), i})
			i = j
		case r == '_' || unicode.IsLetter(r):
			j := i
			for j < len(src) {
				c, cw := utf8.DecodeRuneInString(src[j:])
				if c != '_' && !unicode.IsLetter(c) && !unicode.IsDigit(c) {
					break
				}
				j += cw
			}
			toks = append(toks, token{tIdent, src[i:j], i})
			i = j
		default:
			op := ""
			for _, o := range twoCharOps {
				if strings.HasPrefix(src[i:], o) {
					op = o
				}
			}
			if op == "" && strings.ContainsRune("+-*/%<>!()[],.", r) {
				op = string(r)
			}
			if op == "" {
				return nil, &ExprError{i, fmt.Sprintf("unexpected character %q", r)}
			}
			toks = append(toks, token{tOp, op, i})
			i += len(op)
		}
	}
	return append(toks, token{tEOF, "", len(src)}), nil
}

// exprNode is a parsed Architect expression.
type exprNode struct {
	kind string // lit, var, call, bin, unary, member, index
	text string // lit: expr source; var: scope.name; call: function name; bin/unary: operator; member: property
	off  int
	args []*exprNode
}

type exprParser struct {
	toks    []token
	pos     int
	errs    []*ExprError
	resolve Resolver
}

func (p *exprParser) peek() token { return p.toks[p.pos] }
func (p *exprParser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func (p *exprParser) fail(off int, format string, args ...any) {
	p.errs = append(p.errs, &ExprError{off, fmt.Sprintf(format, args...)})
}

// binaryOp reads the binary operator at t (and, or in any case) and its precedence.
func binaryOp(t token) (string, int) {
	if t.kind == tIdent {
		switch strings.ToLower(t.text) {
		case "or":
			return "||", 1
		case "and":
			return "&&", 2
		}
		return "", 0
	}
	if t.kind != tOp {
		return "", 0
	}
	switch t.text {
	case "||":
		return "||", 1
	case "&&":
		return "&&", 2
	case "==", "!=":
		return t.text, 3
	case "<>":
		return "!=", 3
	case "<", "<=", ">", ">=":
		return t.text, 4
	case "+", "-":
		return t.text, 5
	case "*", "/", "%":
		return t.text, 6
	}
	return "", 0
}

func (p *exprParser) parse(minPrec int) *exprNode {
	left := p.unary()
	if left == nil {
		return nil
	}
	for {
		op, prec := binaryOp(p.peek())
		if prec == 0 || prec <= minPrec {
			return left
		}
		t := p.next()
		right := p.parse(prec)
		if right == nil {
			return nil
		}
		left = &exprNode{kind: "bin", text: op, off: t.off, args: []*exprNode{left, right}}
	}
}

func (p *exprParser) unary() *exprNode {
	t := p.peek()
	if (t.kind == tOp && (t.text == "!" || t.text == "-")) || (t.kind == tIdent && strings.EqualFold(t.text, "not")) {
		p.next()
		x := p.unary()
		if x == nil {
			return nil
		}
		op := "!"
		if t.text == "-" {
			op = "-"
		}
		return &exprNode{kind: "unary", text: op, off: t.off, args: []*exprNode{x}}
	}
	return p.postfix(p.primary())
}

func (p *exprParser) postfix(x *exprNode) *exprNode {
	for x != nil {
		t := p.peek()
		switch {
		case t.kind == tOp && t.text == ".":
			p.next()
			name := p.next()
			if name.kind != tIdent {
				p.fail(name.off, "expected a property name after '.', got %s", name.describe())
				return nil
			}
			x = &exprNode{kind: "member", text: name.text, off: name.off, args: []*exprNode{x}}
		case t.kind == tOp && t.text == "[":
			p.next()
			i := p.parse(0)
			if i == nil {
				return nil
			}
			if c := p.next(); c.kind != tOp || c.text != "]" {
				p.fail(c.off, "expected ']', got %s", c.describe())
				return nil
			}
			x = &exprNode{kind: "index", off: t.off, args: []*exprNode{x, i}}
		default:
			return x
		}
	}
	return nil
}

func (p *exprParser) primary() *exprNode {
	t := p.next()
	switch t.kind {
	case tNum:
		if _, err := strconv.ParseFloat(t.text, 64); err != nil {
			p.fail(t.off, "malformed number %q", t.text)
			return nil
		}
		return &exprNode{kind: "lit", text: t.text, off: t.off}
	case tStr:
		return &exprNode{kind: "lit", text: QuoteExpr(t.text), off: t.off}
	case tIdent:
		switch strings.ToLower(t.text) {
		case "true", "false":
			return &exprNode{kind: "lit", text: strings.ToLower(t.text), off: t.off}
		case "not_set":
			return &exprNode{kind: "lit", text: "nil", off: t.off}
		}
		if n := p.peek(); n.kind == tOp && n.text == "(" {
			p.next()
			var args []*exprNode
			if c := p.peek(); c.kind == tOp && c.text == ")" {
				p.next()
				return &exprNode{kind: "call", text: t.text, off: t.off, args: args}
			}
			for {
				a := p.parse(0)
				if a == nil {
					return nil
				}
				args = append(args, a)
				c := p.next()
				if c.kind == tOp && c.text == ")" {
					break
				}
				if c.kind != tOp || c.text != "," {
					p.fail(c.off, "expected ',' or ')' in the arguments of %s, got %s", t.text, c.describe())
					return nil
				}
			}
			return &exprNode{kind: "call", text: t.text, off: t.off, args: args}
		}
		switch t.text {
		case "Flow", "State", "Task", "Common":
			if d := p.peek(); d.kind == tOp && d.text == "." {
				p.next()
				name := p.next()
				if name.kind != tIdent {
					p.fail(name.off, "expected a variable name after %s., got %s", t.text, name.describe())
					return nil
				}
				return &exprNode{kind: "var", text: t.text + "." + name.text, off: t.off}
			}
		}
		p.fail(t.off, "unknown name %q (variables are written Flow.name, State.name, Task.name or Common.name)", t.text)
		return nil
	case tOp:
		if t.text == "(" {
			x := p.parse(0)
			if x == nil {
				return nil
			}
			if c := p.next(); c.kind != tOp || c.text != ")" {
				p.fail(c.off, "expected ')', got %s", c.describe())
				return nil
			}
			return &exprNode{kind: "paren", off: t.off, args: []*exprNode{x}}
		}
	}
	p.fail(t.off, "unexpected %s", t.describe())
	return nil
}

// emitter writes expr source for a parsed expression and collects what it cannot translate.
type emitter struct {
	resolve Resolver
	errs    []*ExprError
}

func emit(n *exprNode, resolve Resolver) (string, []*ExprError) {
	e := &emitter{resolve: resolve}
	s := e.emit(n)
	return s, e.errs
}

func (e *emitter) emit(n *exprNode) string {
	switch n.kind {
	case "lit":
		return n.text
	case "paren":
		return "(" + e.emit(n.args[0]) + ")"
	case "var":
		scope, name, _ := strings.Cut(n.text, ".")
		v, ok := e.resolve(scope, name)
		if !ok {
			e.errs = append(e.errs, &ExprError{n.off, fmt.Sprintf("unknown variable %s", n.text)})
			return "nil"
		}
		return v
	case "member":
		return e.emit(n.args[0]) + dataaction.Member(n.text)
	case "index":
		return e.emit(n.args[0]) + "[" + e.emit(n.args[1]) + "]"
	case "unary":
		return n.text + e.operand(n.args[0], 7)
	case "bin":
		_, prec := binaryOp(token{kind: tOp, text: n.text})
		return e.operand(n.args[0], prec) + " " + n.text + " " + e.operand(n.args[1], prec+1)
	case "call":
		return e.call(n)
	}
	return "nil"
}

// operand writes a sub-expression, in parentheses when it binds less tightly than prec.
func (e *emitter) operand(n *exprNode, prec int) string {
	s := e.emit(n)
	if n.kind == "bin" {
		if _, p := binaryOp(token{kind: tOp, text: n.text}); p < prec {
			return "(" + s + ")"
		}
	}
	return s
}

// function translates one Architect function call; args are the translated arguments.
type function struct {
	min, max int // arity; max -1: any number
	emit     func(args []string) string
}

// functions are the Architect functions archflow can run, by lower-case name.
var functions = map[string]function{
	"if":              {3, 3, func(a []string) string { return "If(" + strings.Join(a, ", ") + ")" }},
	"isset":           {1, 1, func(a []string) string { return "IsSet(" + a[0] + ")" }},
	"isnotsetorempty": {1, 1, func(a []string) string { return "IsNotSetOrEmpty(" + a[0] + ")" }},
	"tostring": {1, 2, func(a []string) string {
		if len(a) == 2 { // a collection joined with a separator
			return "join(map(" + a[0] + " ?? [], ToString(#)), " + a[1] + ")"
		}
		return "ToString(" + a[0] + ")"
	}},
	"toint":     {1, 1, func(a []string) string { return "ToInt(" + a[0] + ")" }},
	"todecimal": {1, 1, func(a []string) string { return "float(" + a[0] + ")" }},
	"append": {1, -1, func(a []string) string {
		parts := make([]string, len(a))
		for i, x := range a {
			parts[i] = "ToString(" + x + ")"
		}
		return "(" + strings.Join(parts, " + ") + ")"
	}},
	"additem":               {2, 2, func(a []string) string { return "concat(" + a[0] + " ?? [], [" + a[1] + "])" }},
	"count":                 {1, 1, func(a []string) string { return "len(" + a[0] + " ?? [])" }},
	"getat":                 {2, 2, func(a []string) string { return "(" + a[0] + ")[" + a[1] + "]" }},
	"findstring":            {2, 2, func(a []string) string { return "indexOf(" + a[0] + ", " + a[1] + ")" }},
	"contains":              {2, 2, func(a []string) string { return "contains_(" + a[0] + ", " + a[1] + ")" }},
	"substring":             {3, 3, func(a []string) string { return "(" + a[0] + ")[" + a[1] + ":(" + a[1] + ") + (" + a[2] + ")]" }},
	"lower":                 {1, 1, func(a []string) string { return "lower(" + a[0] + ")" }},
	"upper":                 {1, 1, func(a []string) string { return "upper(" + a[0] + ")" }},
	"trim":                  {1, 1, func(a []string) string { return "trim(" + a[0] + ")" }},
	"getjsonobjectproperty": {2, 2, func(a []string) string { return "(" + a[0] + ")?.[" + a[1] + "]" }},
	"jsonparse":             {1, 1, func(a []string) string { return "fromJSON(" + a[0] + ")" }},
	// MakeDuration(days, hours, minutes, seconds, milliseconds) is a number of seconds, which is
	// what archflow's waits and duration variables take.
	"makeduration": {5, 5, func(a []string) string {
		total, mult := 0.0, []float64{86400, 3600, 60, 1, 0.001}
		for i, x := range a {
			f, err := strconv.ParseFloat(x, 64)
			if err != nil {
				total = -1
				break
			}
			total += f * mult[i]
		}
		if total >= 0 { // all literals: the number itself
			return strconv.FormatFloat(total, 'f', -1, 64)
		}
		return fmt.Sprintf("((%s) * 86400 + (%s) * 3600 + (%s) * 60 + (%s) + (%s) / 1000.0)", a[0], a[1], a[2], a[3], a[4])
	}},
	"getcurrentdatetimeutc": {0, 0, func([]string) string { return "now()" }},
	"addminutes":            {2, 2, func(a []string) string { return "(" + a[0] + ") + duration(ToString(" + a[1] + ") + \"m\")" }},
	"addseconds":            {2, 2, func(a []string) string { return "(" + a[0] + ") + duration(ToString(" + a[1] + ") + \"s\")" }},
	"addhours":              {2, 2, func(a []string) string { return "(" + a[0] + ") + duration(ToString(" + a[1] + ") + \"h\")" }},
	"datetimediff":          {2, 2, func(a []string) string { return "((" + a[0] + ") - (" + a[1] + "))" }},
}

func (e *emitter) call(n *exprNode) string {
	f, ok := functions[strings.ToLower(n.text)]
	if !ok {
		e.errs = append(e.errs, &ExprError{n.off, fmt.Sprintf("unknown or unsupported Architect function %s()", n.text)})
		return "nil"
	}
	if len(n.args) < f.min || (f.max >= 0 && len(n.args) > f.max) {
		want := strconv.Itoa(f.min)
		if f.max != f.min {
			want = fmt.Sprintf("%d to %d", f.min, f.max)
			if f.max < 0 {
				want = fmt.Sprintf("at least %d", f.min)
			}
		}
		e.errs = append(e.errs, &ExprError{n.off, fmt.Sprintf("%s() takes %s argument(s), got %d", n.text, want, len(n.args))})
		return "nil"
	}
	args := make([]string, len(n.args))
	for i, a := range n.args {
		args[i] = e.emit(a)
	}
	return f.emit(args)
}

// QuoteExpr writes s as an expr string literal, as the engine's compiler does.
func QuoteExpr(s string) string { return engine.QuoteExpr(s) }
