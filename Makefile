# ccp-preflight — build, test, bench, fuzz, lint, dist.
# `make test` is the CI entry point (.ci/run): it installs what the tests
# need when it is missing and it runs as root, then vets, checks formatting,
# runs every test under -race and a short fuzz run.

GO       ?= go
BIN      := ccp-preflight
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS  := -s -w -X main.version=$(VERSION)
PKGS     := ./...
# Fuzz targets as package:FuzzName; `make fuzz` runs each for FUZZTIME.
FUZZ_TARGETS := ./ranges:FuzzLoad ./config:FuzzParseICEServers ./config:FuzzLoadFile ./probe:FuzzMappedAddress ./quality:FuzzAnalyze ./browsercheck:FuzzParseAnswer ./report:FuzzFindings ./internal/osrelease:FuzzPrettyName \
	./sysproxy:FuzzPAC ./sysproxy:FuzzParsePACResult ./sysproxy:FuzzSettings ./probe:FuzzProxyChallenge ./browserpolicy:FuzzPolicyFile \
	./probe:FuzzSTUNResponse ./probe:FuzzReflectedMedia ./probe:FuzzDNSAnswer ./probe:FuzzProxyAnswer ./probe:FuzzProxyAnswerEndless ./probe:FuzzClockDate ./ranges:FuzzUpdateMeta \
	./probe:FuzzOwnedAnswers ./probe:FuzzNonTLS
FUZZTIME ?= 60s
SHORT_FUZZTIME ?= 5s
# Debian packages the tests use: real TURN (coturn), firewall rules for the
# blocked/impaired paths (nftables, iptables), a real browser for the HTML
# report and the browser check (chromium; unshare from util-linux gives the
# policy test its own mount namespace), promtool (prometheus), jq for the
# ranges comparison, squid (a real proxy with its Basic and NTLM test
# helpers; the domain allowlist export), Alertmanager (the inhibit rules in
# contrib/), GNOME's settings tool for the GNOME proxy reader
# (libglib2.0-bin with gsettings-desktop-schemas).
TEST_DEBS := coturn nftables iptables chromium prometheus jq iproute2 util-linux squid prometheus-alertmanager libglib2.0-bin gsettings-desktop-schemas
TEST_CMDS := turnserver nft iptables-restore chromium promtool jq ip unshare squid prometheus-alertmanager amtool gsettings

.PHONY: all build test deps vet fmtcheck unit fuzz-short fuzz bench lint dist lab clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/$(BIN) ./cmd/ccp-preflight

# deps installs the test tools that are missing (only as root; otherwise
# the tests that need them say so when they skip).
deps:
	@missing=""; for c in $(TEST_CMDS); do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing test tools (missing:$$missing)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(TEST_DEBS) >/dev/null; \
	  else echo "note: missing$$missing; not root, so tests that need them will skip"; fi; \
	fi

test: deps vet fmtcheck build unit fuzz-short

vet:
	$(GO) vet $(PKGS)

fmtcheck:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

# scripts/fuzz.sh fails on a written failing input, and retries once a
# failure that wrote none (Go's coordinator can end a -fuzztime run with a
# bare "context deadline exceeded" on a loaded machine).
fuzz-short:
	@GO=$(GO) ./scripts/fuzz.sh $(SHORT_FUZZTIME) $(FUZZ_TARGETS)

fuzz:
	@GO=$(GO) ./scripts/fuzz.sh $(FUZZTIME) $(FUZZ_TARGETS)

bench: build
	$(GO) test -run '^$$' -bench . -benchmem -count 1 $(PKGS)

lint: vet fmtcheck

# dist cross-builds every supported OS/arch with version information, and
# vets per OS.
DIST := linux/amd64 linux/arm64 windows/amd64 darwin/arm64 darwin/amd64
dist:
	@mkdir -p dist; for p in $(DIST); do os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
	  echo "build $$os/$$arch"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/$(BIN)-$$os-$$arch$$ext ./cmd/ccp-preflight || exit 1; \
	  GOOS=$$os GOARCH=$$arch $(GO) vet $(PKGS) || exit 1; done

# lab starts the network lab (netlab/, docs/LAB.md) for a person: agent ↔
# wan ↔ cloud namespaces with coturn, DNS and HTTPS in the cloud; it prints
# how to run the check inside the agent namespace and how to switch each
# fault on and off, and tears everything down on Ctrl-C. Needs root.
# LAB_MODE=bridged puts the impairment bridge in the wan (delay, jitter,
# loss, reorder, rate; e.g. LAB_IMPAIR='delay=80ms,jitter=10ms,every=50').
LAB_MODE   ?= routed
LAB_IMPAIR ?= none
lab: build
	$(GO) build -o bin/netlab ./netlab/cmd/netlab
	@if [ "$$(id -u)" != 0 ]; then echo "make lab needs root (network namespaces, nftables)"; exit 1; fi
	bin/netlab up -bin bin/$(BIN) $(if $(filter bridged,$(LAB_MODE)),-bridged -ab '$(LAB_IMPAIR)',)

clean:
	rm -rf bin dist
