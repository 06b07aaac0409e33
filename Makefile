# hvbench build. Everything goes under $(BUILD) (default build/); nothing built is committed.
# Sources are found by wildcard so adding a file needs no edit here:
#   lib/ bench/            -> libhbcore.a  (linked into both agents)
#   probes/ reports/ host-agent/ (minus main.c) -> libhbhost.a
#   guest-agent/ (minus main.c) -> part of libhbcore.a (the guest agent also runs on the host in tests)
#   tests/test_*.c         -> one cmocka binary each
BUILD    ?= build
CC       ?= gcc
SAN      ?=
CFLAGS   ?= -O2 -g
WARN     := -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wno-unused-parameter -Wno-format-truncation
CPPFLAGS += -D_GNU_SOURCE -Ilib -Ibench -Iprobes -Ireports -Ihost-agent -Iguest-agent -I/usr/include/postgresql
LDLIBS   := -ljansson -liperf -lpfm -lm -lpthread
# the history store (host side only: the guest agent never links them)
HOST_LIBS := -lsqlite3 -lpq
# The libvirt backend (host agent only): built when libvirt's and libxml2's headers are there,
# else host-agent/be_libvirt.c compiles to a stub that says why it is unsupported.
LIBVIRT_PC := libvirt libvirt-qemu libxml-2.0
ifeq ($(shell pkg-config --exists $(LIBVIRT_PC) && echo yes),yes)
CPPFLAGS += -DHB_HAVE_LIBVIRT $(shell pkg-config --cflags $(LIBVIRT_PC))
HOST_LDLIBS := $(shell pkg-config --libs $(LIBVIRT_PC))
endif

CORE_SRC  := $(wildcard lib/*.c bench/*.c) $(filter-out guest-agent/main.c,$(wildcard guest-agent/*.c))
HOST_SRC  := $(wildcard probes/*.c reports/*.c) $(filter-out host-agent/main.c,$(wildcard host-agent/*.c))
TEST_SRC  := $(wildcard tests/test_*.c)
CORE_OBJ  := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
HOST_OBJ  := $(HOST_SRC:%.c=$(BUILD)/obj/%.o)
TESTS     := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

ALL_CFLAGS = $(WARN) $(CFLAGS) $(SAN)

# Keep test objects (make would delete them as intermediates and relink every time).
.SECONDARY:

.PHONY: all deps test test-loaded asan demo guest bench fuzz clean format format-check install uninstall deb bundle screenshots
all: $(BUILD)/hvbench $(BUILD)/hvbench-guest

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libhbcore.a: $(CORE_OBJ)
	@rm -f $@; ar rcs $@ $^
$(BUILD)/libhbhost.a: $(HOST_OBJ)
	@rm -f $@; ar rcs $@ $^

$(BUILD)/hvbench: $(BUILD)/obj/host-agent/main.o $(BUILD)/libhbhost.a $(BUILD)/libhbcore.a
	@echo "  LINK    $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(HOST_LIBS) $(HOST_LDLIBS) $(LDLIBS)
$(BUILD)/hvbench-guest: $(BUILD)/obj/guest-agent/main.o $(BUILD)/libhbcore.a
	@echo "  LINK    $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(BUILD)/libhbhost.a $(BUILD)/libhbcore.a
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ -lcmocka $(HOST_LIBS) $(HOST_LDLIBS) $(LDLIBS)

# Installs missing Debian packages (apt-get; needs root when something is missing).
deps: $(BUILD)/.deps
$(BUILD)/.deps: tools/deps.sh
	@mkdir -p $(BUILD)
	sh tools/deps.sh
	@touch $@

guest: deps all
	sh tools/mkguest.sh $(BUILD)

test: deps all $(TESTS)
	sh tests/run.sh $(BUILD)

# The same suite with every CPU busy (stress-ng or busy loops): timing races show up here.
test-loaded: deps all $(TESTS)
	sh tools/loaded.sh $(BUILD)

# HB_ASAN_PASS: tests that are sanitizer builds already (the fuzz replay) run once, in `test`
asan:
	HB_ASAN_PASS=1 $(MAKE) BUILD=build-asan SAN="-fsanitize=address,undefined -fno-omit-frame-pointer" CFLAGS="-O1 -g" test

demo: guest
	$(BUILD)/hvbench run configs/quick.json

bench: deps all
	sh tools/bench.sh $(BUILD)

# Headless-Chromium screenshots of REPORT/report.html (REPORT=results/<run>) into
# REPORT/screenshots/, to check that no table or figure is clipped. Needs chromium.
screenshots:
	@test -n "$(REPORT)" || { echo "usage: make screenshots REPORT=DIR"; exit 2; }
	sh tools/screenshots.sh $(REPORT)

# Fuzzing: libFuzzer harnesses fuzz/*.c, built with clang (+ASan/UBSan) into $(BUILD)/fuzz/.
# The core is rebuilt instrumented in $(BUILD)/fuzz/obj; -Werror is dropped there because
# clang's warnings differ from gcc's and must not block fuzzing.
FUZZ_CC    ?= clang
FUZZ_SAN   := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS = $(filter-out -Werror,$(WARN)) -Wno-unknown-warning-option -g -O1 $(FUZZ_SAN)
FUZZ_BINS  := $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard fuzz/*.c))
FUZZ_LIBS   = $(BUILD)/fuzz/libhbhost.a $(BUILD)/fuzz/libhbcore.a
fuzz: $(FUZZ_BINS)
$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
$(BUILD)/fuzz/libhbcore.a: $(CORE_SRC:%.c=$(BUILD)/fuzz/obj/%.o)
	@rm -f $@; ar rcs $@ $^
$(BUILD)/fuzz/libhbhost.a: $(HOST_SRC:%.c=$(BUILD)/fuzz/obj/%.o)
	@rm -f $@; ar rcs $@ $^
$(BUILD)/fuzz/%: fuzz/%.c $(FUZZ_LIBS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(HOST_LIBS) $(HOST_LDLIBS) $(LDLIBS)
-include $(shell find $(BUILD)/fuzz/obj -name '*.d' 2>/dev/null)

# Install like a Debian tool (docs/install.md): `make install PREFIX=/usr/local DESTDIR=...`.
# The binary finds its profiles and guest image relative to itself (PREFIX/share/hvbench), so
# any PREFIX or DESTDIR works without rebuilding. `make deb` packages the same tree.
PREFIX  ?= /usr/local
DESTDIR ?=
I_BIN    = $(DESTDIR)$(PREFIX)/bin
I_SHARE  = $(DESTDIR)$(PREFIX)/share/hvbench
I_LIB    = $(DESTDIR)$(PREFIX)/lib/hvbench
I_DOC    = $(DESTDIR)$(PREFIX)/share/doc/hvbench
I_MAN    = $(DESTDIR)$(PREFIX)/share/man/man1
I_BASH   = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
install: all
	install -d $(I_BIN) $(I_SHARE)/profiles $(I_LIB) $(I_DOC) $(I_MAN) $(I_BASH)
	install -m 0755 $(BUILD)/hvbench $(BUILD)/hvbench-guest tools/hvbench-mkguest $(I_BIN)/
	install -m 0644 configs/*.json $(I_SHARE)/profiles/
	install -m 0755 tools/mkguest.sh tools/fiostub.sh tools/guest-init $(I_LIB)/
	install -m 0644 README.md docs/*.md docs/results.schema.json $(I_DOC)/
	gzip -9n <docs/hvbench.1 >$(I_MAN)/hvbench.1.gz
	install -m 0644 tools/hvbench.bash-completion $(I_BASH)/hvbench
	rm -rf $(I_SHARE)/deploy && cp -R deploy $(I_SHARE)/deploy
uninstall:
	rm -f $(I_BIN)/hvbench $(I_BIN)/hvbench-guest $(I_BIN)/hvbench-mkguest \
		$(I_MAN)/hvbench.1.gz $(I_BASH)/hvbench
	rm -rf $(I_SHARE) $(I_LIB) $(I_DOC)

HB_VER   = $(shell sed -n 's/^\#define HB_VERSION "\(.*\)"/\1/p' lib/hb.h)
DEB_ARCH = $(shell dpkg --print-architecture)
DEB      = $(BUILD)/hvbench_$(HB_VER)_$(DEB_ARCH).deb
deb: all
	rm -rf $(BUILD)/deb
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(BUILD)/deb PREFIX=/usr
	install -d $(BUILD)/deb/DEBIAN
	sed -e 's/@VERSION@/$(HB_VER)/' -e 's/@ARCH@/$(DEB_ARCH)/' \
		-e "s/@SIZE@/$$(du -sk $(BUILD)/deb | cut -f1)/" tools/deb-control >$(BUILD)/deb/DEBIAN/control
	dpkg-deb --root-owner-group --build $(BUILD)/deb $(DEB)

# The installed tree (PREFIX=/usr) as a tarball to unpack anywhere: what the Ansible role ships.
BUNDLE   = $(BUILD)/hvbench-$(HB_VER)-$(DEB_ARCH).tar.gz
bundle: all
	rm -rf $(BUILD)/bundle
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(BUILD)/bundle PREFIX=/usr
	tar -C $(BUILD)/bundle -czf $(BUNDLE) usr
	@echo "bundle: $(BUNDLE)"

clean:
	rm -rf build build-*

format:
	clang-format -i $(wildcard */*.c */*.h)

# Fails (and names the lines) when a C file is not formatted with .clang-format (.ci/run).
format-check:
	clang-format --dry-run -Werror $(wildcard */*.c */*.h)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
