package route_test

import (
	"fmt"

	"github.com/mlci/mlci/route"
)

// Serving code builds the split from the rollout's current state, then
// resolves each request by a stable key such as the user's ID.
func ExampleSplit_Resolve() {
	basis, err := route.ParsePercent("20%")
	if err != nil {
		panic(err)
	}
	split := route.Split{
		RolloutID: route.RolloutID("digits", "production", "v1.3.0"),
		Stable:    route.Version{Name: "v1.2.0"},
		Canary:    route.Version{Name: "v1.3.0"},
		Basis:     basis,
	}
	for _, user := range []string{"user-1", "user-15", "user-63"} {
		v, err := split.Resolve(user)
		if err != nil {
			panic(err)
		}
		fmt.Println(user, "->", v.Name)
	}
	// Output:
	// user-1 -> v1.2.0
	// user-15 -> v1.3.0
	// user-63 -> v1.3.0
}
