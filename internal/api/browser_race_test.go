//go:build race

package api_test

// raceDetector reports a build with -race, which makes the server's runs
// several times slower: timing limits then apply to the page's share only.
const raceDetector = true
