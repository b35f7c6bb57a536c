module gradviz

go 1.26.8

require gonum.org/v1/gonum v0.17.0

require github.com/go-chi/chi/v5 v5.5.0 // indirect
