package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
)

// errorCode is the machine-readable reason of an error the server sends:
// every websocket "error" message and every HTTP error body carries one
// beside its message for people, so that a client can react to the reason
// and say it in its own language without reading the English text.
// docs/protocol.md lists them; they never change meaning.
type errorCode string

// The error codes. A FieldError without a code of its own is codeBadField.
const (
	// A request the client can correct: the field says where.
	codeBadMessage    errorCode = "bad-message"    // not a JSON text message with a string "type"
	codeUnknownType   errorCode = "unknown-type"   // a "type" the protocol does not have
	codeUnknownField  errorCode = "unknown-field"  // a name the message or route does not take
	codeBadField      errorCode = "bad-field"      // a value the field does not take
	codeWorkLimit     errorCode = "work-limit"     // the model (or a training iteration) is over -max-work
	codeTrainingLimit errorCode = "training-limit" // over a training bound (-max-train-T, -H, -batch, -iterations)
	codeLangLimit     errorCode = "lang-limit"     // over a language-lab bound (-max-lang-*)
	codeNoModel       errorCode = "no-model"       // langRead or langExport before a langTrain made the model
	codeBadQuery      errorCode = "bad-query"      // a query string that does not parse
	codeNotWebsocket  errorCode = "not-websocket"  // a request to /ws that is not a websocket handshake (400)

	// The server's policy.
	codeTooManyMessages    errorCode = "too-many-messages"    // websocket messages past -messages-per-second
	codeTooManyRequests    errorCode = "too-many-requests"    // HTTP requests past -http-requests-per-second (429)
	codeTooManyConnections errorCode = "too-many-connections" // -max-connections websockets are open (503)
	codeShuttingDown       errorCode = "shutting-down"        // the server is stopping (503)
	codeTimeout            errorCode = "timeout"              // an HTTP request's runs past -run-timeout (503)
	codeHostRefused        errorCode = "host-refused"         // a Host that is not one of the server's (421)
	codeOriginRefused      errorCode = "origin-refused"       // a websocket Origin that is not allowed (403)
	codeBodyRefused        errorCode = "body-refused"         // a request with a body (413)
	codeNotFound           errorCode = "not-found"            // 404
	codeMethodNotAllowed   errorCode = "method-not-allowed"   // 405
	codeTooManyJoins       errorCode = "too-many-joins"       // class joins from one address past -class-joins-per-minute

	// Class mode (internal/class).
	codeClassNotFound   errorCode = "class-not-found"   // no class has the code, or it ended
	codeClassFull       errorCode = "class-full"        // -class-max-rooms or -class-max-members reached
	codeClassNotTeacher errorCode = "class-not-teacher" // a teacher's message from a page without the class's secret
	codeClassNoQuestion errorCode = "class-no-question" // an answer or reveal with no open question

	codeInternal errorCode = "internal" // a failure of the server's own, logged (500)
)

// errorCodes is every code the server sends, in the order docs/protocol.md
// lists them.
var errorCodes = []errorCode{
	codeBadMessage, codeUnknownType, codeUnknownField, codeBadField, codeWorkLimit, codeTrainingLimit, codeLangLimit, codeNoModel, codeBadQuery, codeNotWebsocket,
	codeTooManyMessages, codeTooManyRequests, codeTooManyConnections, codeShuttingDown, codeTimeout,
	codeHostRefused, codeOriginRefused, codeBodyRefused, codeNotFound, codeMethodNotAllowed, codeTooManyJoins,
	codeClassNotFound, codeClassFull, codeClassNotTeacher, codeClassNoQuestion,
	codeInternal,
}

// codedError is a FieldError whose code is not codeBadField. errors.As
// still finds the FieldError inside, so every reader of field errors
// reads it unchanged.
type codedError struct {
	code errorCode
	fe   *FieldError
}

func (e *codedError) Error() string { return e.fe.Message }
func (e *codedError) Unwrap() error { return e.fe }

// withCode gives a field error its code.
func withCode(code errorCode, fe *FieldError) error { return &codedError{code: code, fe: fe} }

// codedf is fieldErrorf with a code.
func codedf(code errorCode, field, format string, args ...any) error {
	return withCode(code, fieldErrorf(field, format, args...))
}

// reframe returns err's field error with another field and message,
// keeping its code; an error without a field error is returned as it is.
func reframe(err error, field, message string) error {
	var fe *FieldError
	if !errors.As(err, &fe) {
		return err
	}
	out := &FieldError{Field: field, Message: message}
	if code := errorCodeOf(err); code != codeBadField {
		return withCode(code, out)
	}
	return out
}

// errorCodeOf classifies an error a request failed with.
func errorCodeOf(err error) errorCode {
	var ce *codedError
	var fe *FieldError
	var te *runTimeoutError
	switch {
	case errors.As(err, &ce):
		return ce.code
	case errors.As(err, &fe):
		return codeBadField
	case errors.As(err, &te), errors.Is(err, context.DeadlineExceeded):
		return codeTimeout
	}
	return codeInternal
}

// errorMessage is the websocket "error" message.
type errorMessage struct {
	Type    string    `json:"type"`
	ID      int64     `json:"id"`
	Code    errorCode `json:"code"`
	Field   string    `json:"field,omitempty"`
	Message string    `json:"message"`
}

// errorBody is the JSON of every HTTP error: the code, the field at
// fault when there is one, and a message for people.
type errorBody struct {
	Code    errorCode `json:"code"`
	Field   string    `json:"field,omitempty"`
	Message string    `json:"message"`
}

// writeErrorBody answers with status and an error body.
func writeErrorBody(w http.ResponseWriter, status int, code errorCode, field, message string) {
	writeJSON(w, status, errorBody{Code: code, Field: field, Message: message})
}

// writeError answers with 400 and the field for bad input, 503 naming the
// limit for a run past -run-timeout, silence for a client that left, and
// 500 with a short message (the details go to the log) for anything else.
func writeError(w http.ResponseWriter, logger *slog.Logger, err error) {
	var fe *FieldError
	var te *runTimeoutError
	switch {
	case errors.As(err, &fe):
		writeErrorBody(w, http.StatusBadRequest, errorCodeOf(err), fe.Field, fe.Message)
	case errors.As(err, &te):
		w.Header().Set("Retry-After", "5")
		writeErrorBody(w, http.StatusServiceUnavailable, codeTimeout, "", te.Error())
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads an answer.
	case errors.Is(err, context.DeadlineExceeded):
		w.Header().Set("Retry-After", "5")
		writeErrorBody(w, http.StatusServiceUnavailable, codeTimeout, "", "the run took too long")
	default:
		logger.Error("request failed", "err", err)
		writeErrorBody(w, http.StatusInternalServerError, codeInternal, "", "internal error")
	}
}
