package probe

import (
	"strings"
	"testing"

	"github.com/ccp-preflight/ccp-preflight/browsercheck"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// TestBrowserMicrophoneGrades: denied and missing microphones fail naming
// the cause; an unanswered prompt and 2 s of silence warn.
func TestBrowserMicrophoneGrades(t *testing.T) {
	for _, c := range []struct {
		name   string
		m      browsercheck.Microphone
		want   result.Status
		reason string
	}{
		{"granted with sound", browsercheck.Microphone{Outcome: "granted", Devices: 2, LevelMethod: "track-processor", Peak: 0.05, LevelMS: 2000}, result.Pass, "sound on the track"},
		{"granted, quiet room", browsercheck.Microphone{Outcome: "granted", Devices: 1, LevelMethod: "track-processor", Peak: 0.0005, LevelMS: 2000}, result.Pass, "sound on the track"},
		{"granted, silent", browsercheck.Microphone{Outcome: "granted", Devices: 1, LevelMethod: "audio-context", Peak: 0, LevelMS: 2000}, result.Warn, "silent for 2s"},
		{"granted, level not measurable", browsercheck.Microphone{Outcome: "granted", Devices: 1, LevelMethod: "audio-context-suspended"}, result.Pass, "did not let the page measure"},
		{"denied at the prompt", browsercheck.Microphone{Outcome: "denied", PermissionBefore: "prompt", ErrorName: "NotAllowedError"}, result.Fail, "denied the microphone permission"},
		{"blocked before", browsercheck.Microphone{Outcome: "denied", PermissionBefore: "denied", ErrorName: "NotAllowedError"}, result.Fail, "permission blocked"},
		{"prompt unanswered", browsercheck.Microphone{Outcome: "timeout", PermissionBefore: "prompt"}, result.Warn, "nobody answered"},
		{"no device", browsercheck.Microphone{Outcome: "no-device", ErrorName: "NotFoundError", Devices: 0}, result.Fail, "no microphone"},
		{"in use", browsercheck.Microphone{Outcome: "in-use", ErrorName: "NotReadableError", ErrorMessage: "Could not start audio source"}, result.Fail, "another program"},
		{"unknown error", browsercheck.Microphone{Outcome: "error", ErrorName: "TypeError"}, result.Fail, "failed"},
	} {
		r := gradeMicrophone(Result{}, &c.m)
		if r.Status != c.want || !strings.Contains(r.Reason, c.reason) {
			t.Errorf("%s: %s %q; want %s with %q", c.name, r.Status, r.Reason, c.want, c.reason)
		}
		if r.Status != result.Pass && (r.Phase != result.PhaseMicrophone || r.Remedy == "") {
			t.Errorf("%s: no microphone phase or remedy: %+v", c.name, r)
		}
	}
}
