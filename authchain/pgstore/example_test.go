package pgstore_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/ucxkit/ucxkit/authchain"
	"github.com/ucxkit/ucxkit/authchain/pgstore"
)

// Two nodes share sessions: a login on node A is valid on node B. It needs
// a PostgreSQL server (UCXKIT_PG_DSN), so it is compiled but not run by go
// test.
func Example() {
	ctx := context.Background()
	newNode := func() *authchain.Manager {
		st, err := pgstore.Connect(ctx, os.Getenv("UCXKIT_PG_DSN"), pgstore.Options{})
		if err != nil {
			panic(err)
		}
		m, err := authchain.NewManager(authchain.DefaultSessionConfig(), st)
		if err != nil {
			panic(err)
		}
		return m
	}
	a, b := newNode(), newNode()

	w := httptest.NewRecorder()
	if _, err := a.Login(ctx, w, httptest.NewRequest(http.MethodPost, "https://uc.example.com/login", nil),
		authchain.User{Login: "alice"}, true); err != nil {
		panic(err)
	}
	r := httptest.NewRequest(http.MethodGet, "https://uc.example.com/", nil)
	r.AddCookie(w.Result().Cookies()[0])
	s, err := b.Lookup(ctx, r)
	fmt.Println(s.Login, err)
}
