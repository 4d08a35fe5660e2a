package probe

import (
	"os"
	"testing"

	"github.com/pion/logging"
)

func TestMain(m *testing.M) {
	if f := os.Getenv("CCP_RELAY_DEBUG"); f != "" {
		w, _ := os.Create(f)
		quietLogs = &logging.DefaultLoggerFactory{Writer: w, DefaultLogLevel: logging.LogLevelDebug}
	}
	os.Exit(m.Run())
}
