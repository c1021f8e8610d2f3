module github.com/archflow/archflow

go 1.26.8

require (
	github.com/expr-lang/expr v1.17.8
	github.com/go-resty/resty/v2 v2.17.2
	github.com/google/uuid v1.6.0
	gopkg.in/yaml.v3 v3.0.1
)

require golang.org/x/net v0.43.0 // indirect
