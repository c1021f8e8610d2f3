package engine

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/archflow/archflow/engine/yamldoc"
	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	exprtypes "github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
	"gopkg.in/yaml.v3"
)

// Expr is a bare expression compiled once at load time.
type Expr struct {
	Src  string
	Pos  yamldoc.Pos
	prog *vm.Program
	// vars are the declared variables the expression reads, to name a NOT_SET one in errors.
	vars []string
	// all: it reads the whole environment ($env), so every name.
	all bool
	// Type is the static result type, or nil when only known at run time.
	Type reflect.Type
	// lazy is the set of lazyNames the expression may read: those it names, all of them when
	// it reads the whole environment ($env).
	lazy uint8
	// fast, when set, is the expression's shape that Eval runs without the VM (setFast).
	fast fastKind
	// name is the variable or scope name of a fastIdent, the environment variable of a fastEnv;
	// dflt is a fastEnv's default (hasDflt: it has one).
	name    string
	dflt    string
	hasDflt bool
}

// fastKind is a shape of expression so common that Eval runs it without the VM: a data action's
// `{{ order_id }}`, `status` in its outputs, `{{ env('BASE_URL') }}` in its URL. The VM costs
// ~150 ns a run (and env() a function bound per instance); these give the same values and
// errors in a map lookup.
type fastKind uint8

const (
	fastNone  fastKind = iota
	fastIdent          // a declared variable or a scope name alone: its value in the environment
	fastEnv            // env('NAME') or env('NAME', 'default'), both literal strings
)

// setFast makes e a fastKind when root, its compiled tree in scope s, has one of their shapes.
func (e *Expr) setFast(s *scope, root ast.Node) {
	switch n := root.(type) {
	case *ast.IdentifierNode:
		if _, declared := s.vars[n.Value]; declared || scopeBit(n.Value) != 0 {
			e.fast, e.name = fastIdent, n.Value
		}
	case *ast.CallNode:
		id, _ := n.Callee.(*ast.IdentifierNode)
		if id == nil || id.Value != "env" || len(n.Arguments) == 0 || len(n.Arguments) > 2 {
			return
		}
		var lits [2]*ast.StringNode
		for i, a := range n.Arguments {
			if lits[i], _ = a.(*ast.StringNode); lits[i] == nil {
				return
			}
		}
		e.fast, e.name = fastEnv, lits[0].Value
		if lits[1] != nil {
			e.dflt, e.hasDflt = lits[1].Value, true
		}
	}
}

// lazyNames are the names of an instance's environment made when an expression that may read
// them first runs (Instance.bindLazy), as bits: most expressions read none of them.
var lazyNames = [...]string{"instance", "now", "uuid", "env", "secret", "retry_after"}

const (
	lazyInstance = 1 << 0 // lazyNames[0]
	lazyAll      = 1<<len(lazyNames) - 1
)

// lazyReads is the set of lazyNames among the names an expression reads; $env reads them all.
func lazyReads(names []string) uint8 {
	var m uint8
	for _, n := range names {
		if n == "$env" {
			return lazyAll
		}
		for i, l := range lazyNames {
			if n == l {
				m |= 1 << i
			}
		}
	}
	return m
}

// scopeNameList are the names a step sets in an instance's environment besides variables, as
// bits (scopeBit); the environment holds those that some expression of the flow reads.
var scopeNameList = [...]string{"status", "headers", "body", "text", "elapsed", "error", "retries"}

const scopeAll = 1<<len(scopeNameList) - 1

// scopeBit is name's bit in scopeNameList, 0 for any other name.
func scopeBit(name string) uint8 {
	for i, n := range scopeNameList {
		if n == name {
			return 1 << i
		}
	}
	return 0
}

// scopeReads is the set of scope names among the names an expression reads; $env reads them all.
func scopeReads(names []string) uint8 {
	var m uint8
	for _, n := range names {
		if n == "$env" {
			return scopeAll
		}
		m |= scopeBit(n)
	}
	return m
}

// Reads reports whether the expression reads the named variable (or scope name); one that
// reads $env reads them all.
func (e *Expr) Reads(name string) bool {
	if e.all {
		return true
	}
	for _, v := range e.vars {
		if v == name {
			return true
		}
	}
	return false
}

// Vars lists the variables and scope names the expression reads.
func (e *Expr) Vars() []string { return e.vars }

// Eval runs the program in the instance's scope.
func (e *Expr) Eval(in *Instance) (any, error) {
	switch e.fast {
	case fastIdent:
		return in.env[e.name], nil // what the VM's one instruction (OpLoadFast) reads
	case fastEnv:
		// envFunc's values; its panic, as the VM reports it (runtimeError)
		if v, ok := in.lookup(e.name); ok {
			return v, nil
		}
		if e.hasDflt {
			return e.dflt, nil
		}
		return nil, fmt.Errorf("%s: %q: %s", e.Pos, e.Src, envNotSet(e.name))
	}
	return e.evalVM(in)
}

// evalVM is Eval on the VM, whatever the expression's shape.
func (e *Expr) evalVM(in *Instance) (any, error) {
	if m := e.lazy &^ in.bound; m != 0 {
		in.bindLazy(m)
	}
	out, err := in.vm.Run(e.prog, in.env)
	if err != nil {
		return nil, e.runtimeError(in, err)
	}
	return out, nil
}

// EvalBool evaluates a condition; a non-boolean result is a runtime error.
func (e *Expr) EvalBool(in *Instance) (bool, error) {
	v, err := e.Eval(in)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		if v == nil {
			return false, fmt.Errorf("%s: condition %q is nil, not a boolean", e.Pos, e.Src)
		}
		return false, fmt.Errorf("%s: condition %q gave %s, not a boolean", e.Pos, e.Src, typeName(v))
	}
	return b, nil
}

// runtimeError names the NOT_SET variable behind a nil operation, as Architect does.
func (e *Expr) runtimeError(in *Instance, err error) error {
	msg := err.Error()
	var fe *file.Error
	if errors.As(err, &fe) {
		msg = fe.Message
	}
	if strings.Contains(msg, "nil") {
		// prefer the operands of the operation that failed: another variable may be NOT_SET too
		candidates := e.vars
		if fe != nil {
			if ops := e.operandsAt(fe.Location); len(ops) > 0 {
				candidates = append(ops, e.vars...)
			}
		}
		for _, v := range candidates {
			if _, declared := in.flow.varIndex[v]; declared && in.env[v] == nil {
				return fmt.Errorf("%s: variable %s is NOT_SET in %q (%s)", e.Pos, v, e.Src, msg)
			}
		}
	}
	return fmt.Errorf("%s: %q: %s%s", e.Pos, e.Src, msg, e.nilMemberHint(fe, msg))
}

// operandsAt names the variables read directly by the operation at loc, where the VM failed.
func (e *Expr) operandsAt(loc file.Location) []string {
	var names []string
	root := e.prog.Node()
	ast.Walk(&root, visitorFunc(func(node *ast.Node) {
		if (*node).Location() != loc {
			return
		}
		var operands []ast.Node
		switch n := (*node).(type) {
		case *ast.BinaryNode:
			operands = []ast.Node{n.Left, n.Right}
		case *ast.UnaryNode:
			operands = []ast.Node{n.Node}
		case *ast.BuiltinNode:
			operands = n.Arguments
		case *ast.CallNode:
			operands = n.Arguments
		case *ast.MemberNode:
			operands = []ast.Node{n.Node}
		}
		for _, o := range operands {
			if id, ok := o.(*ast.IdentifierNode); ok {
				names = append(names, id.Value)
			}
		}
	}))
	return names
}

// scope is what expressions of one flow may name, and the expr options built from it once.
type scope struct {
	vars    map[string]Type
	retries map[string]bool // nodes with a retry: policy
	// config is expr's configuration built from the options once per flow: building it (the
	// builtins table, the environment's types, each function's signature) costs more than
	// compiling a short expression, and a flow has dozens.
	config   *conf.Config
	envCalls []envCall
	// reads are the scope names (scopeBit) some expression of the flow reads: an instance's
	// environment holds only those, so that it stays a small map (a lookup without hashing,
	// one allocation to clone) and a response writes none that nothing reads
	reads uint8
	// lazy are the lazyNames some expression may read (bound on first use, room made for them)
	lazy uint8
	// programs are the programs compiled in this scope by source: an expression written in
	// several nodes (a retry loop's test, a status check) is compiled once, and its nodes run
	// one program, which stays in the CPU's caches
	programs map[string]*vm.Program
}

// envCall is a literal env()/secret() name: one without a default is checked before an instance
// starts; on Temporal every env() name is read once per instance by an activity.
type envCall struct {
	Name    string
	Secret  bool
	Default bool // the call gives a default for an unset name
	Pos     yamldoc.Pos
}

// Reserved names that cannot be variables.
var reservedNames = []string{"status", "headers", "body", "text", "elapsed", "error", "instance", "retries", "Flow"}

// scopeFuncNames are archflow's functions that need the instance (bound per instance in the env).
var scopeFuncNames = []string{"now", "uuid", "env", "secret", "retry_after"}

// pureFuncNames are archflow's stateless functions, registered with expr.Function.
var pureFuncNames = []string{"backoff", "jsonpath", "If", "IsSet", "IsNotSetOrEmpty", "ToString", "ToInt", "contains_"}

func isReserved(name string) bool {
	for _, n := range reservedNames {
		if n == name {
			return true
		}
	}
	for _, n := range builtin.Names {
		if n == name {
			return true
		}
	}
	for _, n := range append(scopeFuncNames, pureFuncNames...) {
		if n == name {
			return true
		}
	}
	switch name {
	case "true", "false", "nil", "in", "not", "and", "or", "matches", "contains", "startsWith", "endsWith", "let", "if", "else":
		return true
	}
	return false
}

var errorType = exprtypes.Map{
	"class": exprtypes.String, "kind": exprtypes.String, "message": exprtypes.String,
	"status": exprtypes.Int, "node": exprtypes.String,
}

func newScope(vars map[string]Type, retries map[string]bool) *scope {
	s := &scope{vars: vars, retries: retries}
	env := exprtypes.Map{
		"status":   exprtypes.Int,
		"headers":  exprtypes.TypeOf(map[string]string{}),
		"body":     exprtypes.Any,
		"text":     exprtypes.String,
		"elapsed":  exprtypes.Float64,
		"error":    errorType,
		"instance": exprtypes.Map{"id": exprtypes.String, "started": exprtypes.TypeOf(time.Time{}), "flow": exprtypes.String},
		// scope functions: their values are bound per instance
		"now":         exprtypes.TypeOf(func() time.Time { return time.Time{} }),
		"uuid":        exprtypes.TypeOf(func() string { return "" }),
		"env":         exprtypes.TypeOf(func(...any) any { return nil }),
		"secret":      exprtypes.TypeOf(func(...any) any { return nil }),
		"retry_after": exprtypes.TypeOf(func(any) int { return 0 }),
	}
	rt := exprtypes.Map{}
	for n := range retries {
		rt[n] = exprtypes.Int
	}
	env["retries"] = rt
	for name, t := range vars {
		env[name] = t.exprType()
	}
	opts := []expr.Option{
		expr.Env(env),
		expr.DisableBuiltin("now"),
		expr.Patch(flowAliasPatch{}),
		expr.Patch(ifPatch{}),
		expr.Patch(notSetEqPatch{vars: vars}),
		notSetEqFunction(),
	}
	opts = append(opts, pureFunctions()...)
	s.config = newConfig(opts)
	return s
}

// newConfig is what expr.Compile builds from its options before it compiles.
func newConfig(opts []expr.Option) *conf.Config {
	cfg := conf.CreateNew()
	for _, op := range opts {
		op(cfg)
	}
	for name := range cfg.Disabled {
		delete(cfg.Builtins, name)
	}
	cfg.Check()
	return cfg
}

// compileWith is expr.Compile with a configuration built once: parse, patch and check,
// optimize, compile.
func compileWith(cfg *conf.Config, src string) (*vm.Program, error) {
	tree, err := checker.ParseCheck(src, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Optimize {
		if err := optimizer.Optimize(&tree.Node, cfg); err != nil {
			var fe *file.Error
			if errors.As(err, &fe) {
				return nil, fe.Bind(tree.Source)
			}
			return nil, err
		}
	}
	return compiler.Compile(tree, cfg)
}

// flowAliasPatch rewrites Flow.x to x so that both spellings are checked against the declarations.
type flowAliasPatch struct{}

func (flowAliasPatch) Visit(node *ast.Node) {
	m, ok := (*node).(*ast.MemberNode)
	if !ok {
		return
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	if !ok || id.Value != "Flow" {
		return
	}
	if p, ok := m.Property.(*ast.StringNode); ok {
		ast.Patch(node, &ast.IdentifierNode{Value: p.Value})
	}
}

// ifPatch makes If(c, a, b) lazy, like c ? a : b, as Architect's If is.
type ifPatch struct{}

func (ifPatch) Visit(node *ast.Node) {
	c, ok := (*node).(*ast.CallNode)
	if !ok || len(c.Arguments) != 3 {
		return
	}
	if id, ok := c.Callee.(*ast.IdentifierNode); ok && id.Value == "If" {
		ast.Patch(node, &ast.ConditionalNode{Ternary: true, Cond: c.Arguments[0], Exp1: c.Arguments[1], Exp2: c.Arguments[2]})
	}
}

// refCollector gathers the names an expression reads and its literal env()/secret() names.
type refCollector struct {
	names    []string
	envCalls []envCall
	retries  []string
}

func (r *refCollector) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		for _, x := range r.names {
			if x == n.Value {
				return
			}
		}
		r.names = append(r.names, n.Value)
	case *ast.MemberNode:
		if id, ok := n.Node.(*ast.IdentifierNode); ok && id.Value == "$env" {
			// $env['attempts'] reads attempts, as attempts does (lint's loop and counter rules)
			if p, ok := n.Property.(*ast.StringNode); ok && !slices.Contains(r.names, p.Value) {
				r.names = append(r.names, p.Value)
			}
		}
		if id, ok := n.Node.(*ast.IdentifierNode); ok && id.Value == "retries" {
			if p, ok := n.Property.(*ast.StringNode); ok {
				r.retries = append(r.retries, p.Value)
			}
		}
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || (id.Value != "env" && id.Value != "secret") || len(n.Arguments) == 0 {
			return
		}
		if s, ok := n.Arguments[0].(*ast.StringNode); ok {
			r.envCalls = append(r.envCalls, envCall{Name: s.Value, Secret: id.Value == "secret", Default: len(n.Arguments) > 1})
		}
	}
}

// compileExpr compiles src, reporting errors at pos (offset by the expression's column).
func (c *Compiler) compileExpr(src string, pos yamldoc.Pos) *Expr {
	s := c.scope
	prog := s.programs[src]
	if prog == nil {
		var err error
		if prog, err = compileWith(s.config, src); err != nil {
			c.exprError(src, pos, err)
			return nil
		}
		if s.programs == nil {
			s.programs = map[string]*vm.Program{}
		}
		s.programs[src] = prog
	}
	rc := &refCollector{}
	root := prog.Node()
	ast.Walk(&root, rc)
	var vars []string
	for _, n := range rc.names {
		if _, ok := s.vars[n]; ok {
			vars = append(vars, n)
		} else if isReserved(n) {
			vars = append(vars, n)
		}
	}
	for _, ec := range rc.envCalls {
		ec.Pos = pos
		c.flow.EnvCalls = append(c.flow.EnvCalls, ec)
	}
	c.checkSecretPlace(rc, pos)
	for _, call := range envCallArity(root) {
		c.Errs.Add(pos, "%s", call)
	}
	s.reads |= scopeReads(rc.names)
	e := &Expr{Src: src, Pos: pos, prog: prog, vars: vars, all: slices.Contains(rc.names, "$env"), lazy: lazyReads(rc.names)}
	e.setFast(s, root)
	s.lazy |= e.lazy
	if c.cur != nil {
		c.cur.Reads = append(c.cur.Reads, e)
	}
	if t := root.Type(); t != nil && t.Kind() != reflect.Interface {
		e.Type = t
	}
	return e
}

// envCallArity checks env(name[, default]) and secret(name), whose types expr cannot check.
func envCallArity(root ast.Node) []string {
	var problems []string
	v := visitorFunc(func(node *ast.Node) {
		n, ok := (*node).(*ast.CallNode)
		if !ok {
			return
		}
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		switch {
		case id.Value == "env" && (len(n.Arguments) < 1 || len(n.Arguments) > 2):
			problems = append(problems, "env() takes a name and an optional default: env(name[, default])")
		case id.Value == "secret" && len(n.Arguments) != 1:
			problems = append(problems, "secret() takes one name: secret(name)")
		}
	})
	ast.Walk(&root, v)
	return problems
}

type visitorFunc func(*ast.Node)

func (f visitorFunc) Visit(n *ast.Node) { f(n) }

// exprError turns an expr compile error into a positioned one, suggesting the nearest name.
func (c *Compiler) exprError(src string, pos yamldoc.Pos, err error) {
	msg := err.Error()
	col := 0
	var fe *file.Error
	if errors.As(err, &fe) {
		msg = fe.Message
		col = fe.Column
	}
	if strings.HasPrefix(msg, "unknown name ") {
		name := strings.TrimPrefix(msg, "unknown name ")
		msg = fmt.Sprintf("unknown variable %q%s", name, yamldoc.DidYouMean(name, c.knownNames()))
	}
	if pos.Line > 0 && col > 0 {
		pos.Col += col
	}
	c.Errs.Add(pos, "in expression %q: %s", src, msg)
}

// knownNames lists everything an expression may name, for suggestions.
func (c *Compiler) knownNames() []string {
	var out []string
	for n := range c.scope.vars {
		out = append(out, n)
	}
	out = append(out, reservedNames...)
	out = append(out, scopeFuncNames...)
	out = append(out, pureFuncNames...)
	return out
}

// scalarPos is the position of the first character of a scalar's text (inside its quotes).
func scalarPos(file string, n *yaml.Node) yamldoc.Pos {
	p := yamldoc.PosOf(file, n)
	if n != nil && (n.Style == yaml.DoubleQuotedStyle || n.Style == yaml.SingleQuotedStyle) {
		p.Col++
	}
	return p
}

// Expr compiles a bare expression from a YAML scalar.
func (c *Compiler) Expr(n *yaml.Node) *Expr {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		c.Errs.Add(yamldoc.PosOf(c.File, n), "expected an expression, got a %s", yamldoc.ValueType(n))
		return nil
	}
	if strings.Contains(n.Value, "{{") && strings.Contains(n.Value, "}}") {
		// the classic slip: a template where a bare expression goes
		c.Errs.Add(yamldoc.PosOf(c.File, n), "%s", bareExprHint(n.Value))
		return nil
	}
	p := scalarPos(c.File, n) // expr columns count from 0
	multiLine := strings.Contains(n.Value, "\n")
	if multiLine {
		p = yamldoc.PosOf(c.File, n)
	}
	before := len(c.Errs)
	e := c.compileExpr(n.Value, p)
	if multiLine {
		c.errorsAt(before, p)
	}
	if e != nil {
		e.Pos = yamldoc.PosOf(c.File, n)
		c.checkRetries(e, n)
	}
	return e
}

// errorsAt moves the errors recorded since before to pos: for sources whose columns do not map
// onto the file (several lines of a block scalar, the generated source of a structured condition).
func (c *Compiler) errorsAt(before int, pos yamldoc.Pos) {
	for _, x := range c.Errs[before:] {
		x.Pos = pos
	}
}

// checkRetries reports retries.<node> of a node without retry:.
func (c *Compiler) checkRetries(e *Expr, n *yaml.Node) {
	rc := &refCollector{}
	root := e.prog.Node()
	ast.Walk(&root, rc)
	for _, r := range rc.retries {
		if !c.scope.retries[r] {
			c.Errs.Add(yamldoc.PosOf(c.File, n), "retries.%s: node %q has no retry: policy", r, r)
		}
	}
}

// Cond compiles a condition: a bare expression or the structured {operator, operands} form.
func (c *Compiler) Cond(n *yaml.Node) *Expr {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.MappingNode {
		src, ok := c.structured(n)
		if !ok {
			return nil
		}
		before := len(c.Errs)
		e := c.compileExpr(src, yamldoc.PosOf(c.File, n))
		c.errorsAt(before, yamldoc.PosOf(c.File, n)) // columns of the generated source mean nothing in the file
		if e != nil {
			e.Pos = yamldoc.PosOf(c.File, n)
			if e.Type != nil && e.Type.Kind() != reflect.Bool {
				c.Errs.Add(e.Pos, "condition gives %s, not a boolean", staticTypeName(e.Type))
			}
		}
		return e
	}
	e := c.Expr(n)
	if e != nil && e.Type != nil && e.Type.Kind() != reflect.Bool {
		c.Errs.Add(e.Pos, "condition %q gives %s, not a boolean", e.Src, staticTypeName(e.Type))
	}
	return e
}

var structuredOps = map[string]bool{"==": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true, "in": true, "contains": true, "matches": true}

// structured translates the seed's {operator, operands: [{field, op, value}]} form to expr source.
func (c *Compiler) structured(n *yaml.Node) (string, bool) {
	m := c.Mapping(n, "operator", "operands", "field", "op", "value")
	if m == nil {
		return "", false
	}
	if m["field"] != nil || m["op"] != nil {
		if m["operator"] != nil || m["operands"] != nil {
			c.Errs.Add(yamldoc.PosOf(c.File, n), "a condition has either operator/operands or field/op/value, not both")
			return "", false
		}
		return c.operand(n, m)
	}
	opN, operands := m["operator"], m["operands"]
	if opN == nil || operands == nil {
		c.Errs.Add(yamldoc.PosOf(c.File, n), "a structured condition needs operator (AND, OR, NOT) and operands")
		return "", false
	}
	op := strings.ToUpper(opN.Value)
	if op != "AND" && op != "OR" && op != "NOT" {
		c.Errs.Add(yamldoc.PosOf(c.File, opN), "operator must be AND, OR or NOT, not %q", opN.Value)
		return "", false
	}
	if operands.Kind != yaml.SequenceNode || len(operands.Content) == 0 {
		c.Errs.Add(yamldoc.PosOf(c.File, operands), "operands must be a non-empty list")
		return "", false
	}
	var parts []string
	ok := true
	for _, o := range operands.Content {
		if o.Kind != yaml.MappingNode {
			c.Errs.Add(yamldoc.PosOf(c.File, o), "an operand is a mapping {field, op, value} or a nested {operator, operands}")
			ok = false
			continue
		}
		s, good := c.structured(o)
		ok = ok && good
		parts = append(parts, "("+s+")")
	}
	if !ok {
		return "", false
	}
	switch op {
	case "AND":
		return strings.Join(parts, " && "), true
	case "OR":
		return strings.Join(parts, " || "), true
	}
	return "!(" + strings.Join(parts, " && ") + ")", true
}

func (c *Compiler) operand(n *yaml.Node, m map[string]*yaml.Node) (string, bool) {
	field, opN, value := m["field"], m["op"], m["value"]
	if field == nil || opN == nil || value == nil {
		c.Errs.Add(yamldoc.PosOf(c.File, n), "an operand needs field, op and value")
		return "", false
	}
	if !structuredOps[opN.Value] {
		c.Errs.Add(yamldoc.PosOf(c.File, opN), "op must be one of == != < <= > >= in contains matches, not %q", opN.Value)
		return "", false
	}
	// compile the field alone first so that its errors point at it
	if c.Expr(field) == nil {
		return "", false
	}
	val, ok := c.valueSource(value)
	if !ok {
		return "", false
	}
	f := "(" + field.Value + ")"
	switch opN.Value {
	case "contains":
		return fmt.Sprintf("contains_(%s, %s)", f, val), true
	case "in":
		return fmt.Sprintf("%s in %s", f, val), true
	}
	return fmt.Sprintf("%s %s %s", f, opN.Value, val), true
}

// valueSource turns a structured operand's value (a literal or a template) into expr source.
func (c *Compiler) valueSource(n *yaml.Node) (string, bool) {
	switch n.Kind {
	case yaml.SequenceNode:
		var items []string
		for _, it := range n.Content {
			s, ok := c.valueSource(it)
			if !ok {
				return "", false
			}
			items = append(items, s)
		}
		return "[" + strings.Join(items, ", ") + "]", true
	case yaml.ScalarNode:
	default:
		c.Errs.Add(yamldoc.PosOf(c.File, n), "value must be a scalar, a list or a template")
		return "", false
	}
	if n.Tag == "!!str" || n.Style == yaml.DoubleQuotedStyle || n.Style == yaml.SingleQuotedStyle {
		parts, err := splitTemplate(n.Value)
		if err != nil {
			c.Errs.Add(scalarPos(c.File, n), "%v", err)
			return "", false
		}
		for _, p := range parts {
			if p.expr {
				// compile the template alone first so that its errors point into it, as the field's do
				if c.templateString(n.Value, n) == nil {
					return "", false
				}
				break
			}
		}
		if len(parts) == 1 && parts[0].expr {
			return "(" + parts[0].text + ")", true
		}
		var out []string
		for _, p := range parts {
			if p.expr {
				out = append(out, "ToString("+p.text+")")
			} else {
				out = append(out, QuoteExpr(p.text))
			}
		}
		if len(out) == 0 {
			return `""`, true
		}
		return strings.Join(out, " + "), true
	}
	switch n.Tag {
	case "!!null":
		return "nil", true
	case "!!bool":
		return strings.ToLower(n.Value), true
	}
	return n.Value, true
}

// QuoteExpr writes s as an expr string literal: expr reads Go's escapes.
func QuoteExpr(s string) string { return strconv.Quote(s) }

// bareExprHint is the message for {{ }} where a bare expression goes, with the expression
// written the way it should be.
func bareExprHint(src string) string {
	return fmt.Sprintf("bare expressions take no {{ }}: write %s", strings.TrimSpace(bareTemplateRe().ReplaceAllString(src, "$1")))
}

var bareTemplateRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{\{\s*(.*?)\s*\}\}`) })
