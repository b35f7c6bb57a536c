//go:build !race

package api_test

// raceDetector reports a build with -race; see browser_race_test.go.
const raceDetector = false
