package tester

import "github.com/archflow/archflow/engine/trace"

// redactFailures hides sensitive values in a case's failure messages (SPEC §11): assertions
// compare raw values, but what they print goes to terminals, CI logs and JUnit files. Both sides
// of a comparison are covered: the instance's secrets and credentials, and every secret() the
// flow names, as the case's environment gives it (an expected value may spell it out even when
// the instance never read it).
func redactFailures(cr *CaseResult, lookup func(string) (string, bool)) {
	if len(cr.Failures) == 0 {
		return
	}
	r := &trace.Redactor{}
	if cr.Result != nil && cr.Result.Redactor != nil {
		r = cr.Result.Redactor
	}
	for _, ec := range cr.Case.File.Flow.EnvCalls {
		if ec.Secret {
			if v, ok := lookup(ec.Name); ok {
				r.Add(v)
			}
		}
	}
	for i := range cr.Failures {
		cr.Failures[i].Msg = r.String(cr.Failures[i].Msg)
	}
}
