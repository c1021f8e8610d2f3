package engine

import (
	"reflect"
	"testing"
	"time"

	"github.com/archflow/archflow/engine/failure"
	"github.com/archflow/archflow/engine/trace"
)

// resetEvent zeroes every field of an event: a field added to trace.Event and not to resetEvent
// fails here, not as a value leaking from one reused event into the next.
func TestResetEventZeroesEveryField(t *testing.T) {
	var e trace.Event
	v := reflect.ValueOf(&e).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("x")
		case reflect.Int:
			f.SetInt(1)
		case reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
		case reflect.Map:
			f.Set(reflect.MakeMap(f.Type()))
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
		case reflect.Interface:
			f.Set(reflect.ValueOf(1))
		case reflect.Struct:
			f.Set(reflect.ValueOf(time.Unix(1, 0)))
		default:
			t.Fatalf("Event.%s: teach this test %s", v.Type().Field(i).Name, f.Kind())
		}
	}
	e.Error = &failure.ErrorInfo{}
	resetEvent(&e)
	if !reflect.DeepEqual(e, trace.Event{}) {
		t.Errorf("left set: %+v", e)
	}
}
