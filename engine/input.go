package engine

// InputRef says which input a batch result belongs to (SPEC §4): its line in the inputs file.
type InputRef struct {
	Line int `json:"line"`
}
