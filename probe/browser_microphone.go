package probe

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/ccp-preflight/ccp-preflight/browsercheck"
	"github.com/ccp-preflight/ccp-preflight/result"
)

// browser.microphone: getUserMedia({audio: true}) in the agent's browser —
// the permission (granted, denied, prompt not answered), the input devices
// present, and a level on the track (check --browser).
// A browser without the microphone API or a secure context (browser.support
// failed) is that check's finding, with this one under it.
var browserMicrophone = Probe{
	Kind: result.Kind{ID: "browser.microphone", Layer: result.LayerBrowser, Perfdata: []string{"peak_dbfs"},
		DependsOn: []string{"browser.support"}},
	Budget:  browserBudget,
	Targets: oneTarget(browserTarget),
	Why:     browserWhy,
	Asked:   browserAsked,
	Run: func(ctx context.Context, env *Env, t Target) Result {
		a, r, ok := browserAnswer(ctx, env, t.Name)
		if !ok {
			return r
		}
		return gradeMicrophone(r, a.Microphone)
	},
}

// micSilentPeak is the peak level (full scale 1) below which the track is
// called silent: -80 dBFS, digital silence. A live microphone in a quiet
// room still picks up its own noise well above it; a muted one, a wrong
// input or a virtual device with nothing playing gives zeros.
const micSilentPeak = 1e-4

// remedyMicPermission is how an agent allows the microphone.
const remedyMicPermission = "allow the microphone for your CCP's site (the icon at the left of the address bar → Site settings → Microphone → Allow); " +
	"if it is blocked by your organisation, ask IT to allow it by policy (Chrome/Edge: AudioCaptureAllowedUrls for https://*.my.connect.aws)"

func gradeMicrophone(r Result, m *browsercheck.Microphone) Result {
	if m == nil {
		r.Status, r.Reason = Skip, "the browser's answer says nothing of the microphone"
		return r
	}
	r.SetDetail("permission_before", m.PermissionBefore)
	r.SetDetail("outcome", m.Outcome)
	if m.ErrorName != "" {
		r.SetDetail("error", m.ErrorName+": "+m.ErrorMessage)
	}
	if m.Devices >= 0 {
		r.SetMetric("input_devices", float64(m.Devices))
	}
	r.Phase = result.PhaseMicrophone
	devices := "no input device is known"
	if m.Devices > 0 {
		devices = strconv.Itoa(m.Devices) + " input device(s) present"
	}
	switch m.Outcome {
	case browsercheck.MicDenied:
		r.Status = Fail
		how := "denied the microphone permission"
		if m.PermissionBefore == "denied" {
			how = "has the microphone permission blocked for this page (a saved choice or a policy)"
		}
		r.Reason = fmt.Sprintf("the browser %s (%s): the softphone cannot send the agent's voice (the CCP's microphone_not_shared error)", how, m.ErrorName)
		r.Remedy = remedyMicPermission
		return r
	case browsercheck.MicTimeout:
		r.Status = Warn
		r.Reason = fmt.Sprintf("nobody answered the browser's microphone permission prompt within %v: the permission is not granted yet", browsercheck.MicPrompt)
		r.Remedy = "run the check again and click Allow when the browser asks; " + remedyMicPermission
		return r
	case browsercheck.MicNoDevice:
		r.Status = Fail
		r.Reason = fmt.Sprintf("the browser found no microphone (%s; %s)", m.ErrorName, devices)
		r.Remedy = "connect a headset or microphone, and check that the operating system lets the browser use it (Windows: Settings → Privacy → Microphone; macOS: System Settings → Privacy & Security → Microphone)"
		return r
	case browsercheck.MicInUse:
		r.Status = Fail
		r.Reason = fmt.Sprintf("the browser could not open the microphone (%s: %s): another program holds it, or the operating system blocks it", m.ErrorName, m.ErrorMessage)
		r.Remedy = "close other programs that use the microphone (softphones, meeting apps) and allow the browser in the operating system's privacy settings"
		return r
	case browsercheck.MicUnsupported:
		r.Status = Fail
		r.Reason = "this browser has no getUserMedia: it cannot open a microphone"
		r.Remedy = remedyBrowser
		return r
	case browsercheck.MicGranted:
	default:
		r.Status = Fail
		r.Reason = fmt.Sprintf("opening the microphone failed (%s: %s)", m.ErrorName, m.ErrorMessage)
		r.Remedy = remedyMicPermission
		return r
	}
	r.SetDetail("level_method", m.LevelMethod)
	measured := m.LevelMethod == "track-processor" || m.LevelMethod == "audio-context"
	if !measured {
		r.Status, r.Phase = Pass, ""
		r.Reason = fmt.Sprintf("microphone allowed, %s (this browser did not let the page measure the level)", devices)
		return r
	}
	r.SetMetric("peak_dbfs", dbfs(m.Peak))
	r.SetMetric("rms_dbfs", dbfs(m.RMS))
	listened := time.Duration(m.LevelMS) * time.Millisecond
	if m.Peak < micSilentPeak {
		r.Status = Warn
		r.Reason = fmt.Sprintf("microphone allowed, but the track was silent for %v (peak %.0f dBFS): it may be muted, or the wrong input is selected", listened.Round(100*time.Millisecond), dbfs(m.Peak))
		r.Remedy = "unmute the headset, choose the right input in the browser (the icon in the address bar) and in the operating system's sound settings, then run again"
		return r
	}
	r.Status, r.Phase = Pass, ""
	r.Reason = fmt.Sprintf("microphone allowed, %s, sound on the track (peak %.0f dBFS)", devices, dbfs(m.Peak))
	return r
}

// dbfs is a level (full scale 1) in dBFS, -120 for silence.
func dbfs(v float64) float64 {
	if v <= 1e-6 {
		return -120
	}
	return math.Round(20*math.Log10(v)*10) / 10
}
