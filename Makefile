# SPDX-License-Identifier: GPL-2.0-only
#
# dm-vela top-level Makefile.
#
#   make              build kernel/dm-vela.ko and userspace/velactl
#   make deps         install the build dependencies (Debian packages)
#   make check        install everything, build, run every test; last line is
#                     "N passed, N failed, N skipped"
#   make demo         boot a VM and walk through dm-vela
#   make kunit        run the KUnit suites in a UML kernel (cached build)
#   make check-debug  the kselftests on a debug kernel (lockdep, KASAN,
#                     kmemleak, ...) and KUnit with lockdep and KASAN; not
#                     part of make check (scripts/check-debug)
#   make install      install the module and velactl on this host
#
# KDIR is picked by scripts/pick-kdir (see there); `make KDIR=...` overrides.

VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' dkms.conf)
KDIR ?= $(shell scripts/pick-kdir)
KRELEASE = $(shell scripts/kernel-release $(KDIR))

PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
# System integration (scripts/system/): where Debian keeps them, under
# DESTDIR; they are not moved by PREFIX, as udev and systemd look only there.
UDEVRULESDIR ?= /lib/udev/rules.d
SYSTEMDUNITDIR ?= /lib/systemd/system
BASHCOMPDIR ?= /usr/share/bash-completion/completions
DESTDIR ?=

export VELA_CACHE ?= /var/cache/dm-vela

CC ?= cc
CFLAGS ?= -O2 -g
USER_CFLAGS = -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
	-DVELA_PACKAGE_VERSION='"$(VERSION)"' \
	$(shell pkg-config --cflags devmapper blkid)
USER_LIBS = $(shell pkg-config --libs devmapper blkid)

# velactl: velactl.c is main and the command-line helpers (libblkid);
# velactl-dm.c speaks to the kernel (libdevmapper), velactl-udev.c makes
# its device calls wait for udev, velactl-view.c holds the metadata view;
# velactl-pool.c, velactl-branch.c, velactl-list.c and velactl-merge.c are
# the commands by family; velactl-report.c prints list's, scan's and status's text through
# libdevmapper's report engine; velactl-meta.c (format, check, dump, repair)
# and velactl-merge.c's diff run the shared metadata code (libvela).
VELACTL_HDRS := userspace/compat.h userspace/velactl.h

# libvela: the shared metadata code (kernel/vela-*.c files that also build in
# userspace, listed in SHARED_SRCS) over the userspace compat layer.  Two
# variants: plain (-O2, for valgrind and tools) and sanitizer (ASan+UBSan).
SHARED_SRCS := kernel/vela-block.c kernel/vela-u64map.c kernel/vela-tm.c kernel/vela-btree.c \
	kernel/vela-sm.c kernel/vela-superblock.c kernel/vela-meta.c kernel/vela-mapping.c \
	kernel/vela-merge.c kernel/vela-check.c
LIBVELA_SRCS := userspace/lib/compat-user.c userspace/lib/dm-bufio-user.c $(SHARED_SRCS)
# After -Wextra, the kernel's own choices (its Makefile and W=1), so shared
# code gets the same warnings and aliasing rules on both sides.
LIB_CFLAGS = -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Ikernel -Iuserspace/lib \
	-MMD -MP -fno-strict-aliasing -Wno-unused-parameter -Wno-sign-compare \
	-Wno-missing-field-initializers -Wno-type-limits -Wno-shift-negative-value \
	-Wno-pointer-sign -Wno-address-of-packed-member -Wmissing-prototypes -Wvla
SAN_CFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -O1 -g -DVELA_DEBUG_BLOCK_LOCKS
LIBVELA_OBJS := $(LIBVELA_SRCS:%.c=build/obj/plain/%.o)
LIBVELA_SAN_OBJS := $(LIBVELA_SRCS:%.c=build/obj/san/%.o)

# Unit tests: tests/unit/test-NAME.c becomes build/tests/test-NAME (sanitizer
# build) and build/tests/test-NAME-plain (plain build, for valgrind).
UNIT_TEST_SRCS := $(wildcard tests/unit/test-*.c)
UNIT_TESTS := $(UNIT_TEST_SRCS:tests/unit/%.c=build/tests/%)
UNIT_TESTS_PLAIN := $(UNIT_TESTS:%=%-plain)
UNIT_TEST_OBJS := $(UNIT_TEST_SRCS:%.c=build/obj/plain/%.o) \
	$(UNIT_TEST_SRCS:%.c=build/obj/san/%.o)

.PHONY: all module clean-module velactl deps test-deps check check-full demo \
	install uninstall checkpatch clean libvela unit-tests kunit fuzz bench-meta \
	test-tools bench-io bench-create bench-merge bench-usage check-debug debug-module

all: module velactl test-tools

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) VELA_VERSION=$(VERSION) W=1 modules

clean-module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean

velactl: userspace/velactl

# Helpers the VM tests run in the guest, and a dm-vela module whose targets
# claim major version 1: velactl_version.sh loads it to see velactl refuse.
test-tools: build/tools/vela-io build/tools/vela-replay build/tools/vela-rand build/tools/vela-craft \
	build/mismatch/kernel/dm-vela.ko

build/mismatch/kernel/dm-vela.ko: $(wildcard kernel/*.c kernel/*.h) kernel/Kbuild Kbuild dkms.conf
	rm -rf build/mismatch
	mkdir -p build/mismatch/kernel
	cp Kbuild dkms.conf build/mismatch/
	cp kernel/*.c kernel/*.h kernel/Kbuild build/mismatch/kernel/
	$(MAKE) -C $(KDIR) M=$(CURDIR)/build/mismatch VELA_VERSION=$(VERSION) \
		VELA_TARGET_MAJOR=1 modules >build/mismatch.log

build/tools/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) $(CFLAGS) -o $@ $<

build/obj/velactl.o build/obj/velactl-util.o build/obj/velactl-filter.o: build/obj/%.o: userspace/%.c \
		$(VELACTL_HDRS) dkms.conf
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) $(CFLAGS) -c -o $@ $<

# The files that need the on-disk format and libdevmapper or libvela.
VELACTL_LIB_OBJS := build/obj/velactl-dm.o build/obj/velactl-udev.o build/obj/velactl-view.o \
	build/obj/velactl-scan.o build/obj/velactl-meta.o \
	build/obj/velactl-devices.o \
	build/obj/velactl-pool.o \
	build/obj/velactl-branch.o build/obj/velactl-list.o build/obj/velactl-merge.o \
	build/obj/velactl-lifecycle.o \
	build/obj/velactl-report.o

$(VELACTL_LIB_OBJS): build/obj/%.o: userspace/%.c $(VELACTL_HDRS) kernel/vela-format.h dkms.conf
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -Iuserspace -DVELA_PACKAGE_VERSION='"$(VERSION)"' \
		$(shell pkg-config --cflags devmapper blkid) $(CFLAGS) -c -o $@ $<

userspace/velactl: build/obj/velactl.o build/obj/velactl-util.o build/obj/velactl-filter.o \
		$(VELACTL_LIB_OBJS) build/libvela.a
	$(CC) $(CFLAGS) -pthread -o $@ $^ $(USER_LIBS)

libvela: build/libvela.a build/libvela-san.a

build/obj/plain/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) $(CFLAGS) -c -o $@ $<

build/obj/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) $(SAN_CFLAGS) -c -o $@ $<

build/libvela.a: $(LIBVELA_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

build/libvela-san.a: $(LIBVELA_SAN_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

unit-tests: $(UNIT_TESTS) $(UNIT_TESTS_PLAIN)

build/tests/%: build/obj/san/tests/unit/%.o build/libvela-san.a
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -pthread -o $@ $^

build/tests/%-plain: build/obj/plain/tests/unit/%.o build/libvela.a
	@mkdir -p $(dir $@)
	$(CC) -pthread -o $@ $^

.SECONDARY: $(UNIT_TEST_OBJS)
# The libFuzzer target (clang): the shared code and the compat layer are
# compiled into it with the fuzzer's instrumentation.  `make fuzz` runs it
# for FUZZ_SECONDS (default an hour); make check runs it for 60 s.
FUZZ_CC ?= clang-14
FUZZ_CFLAGS = -std=gnu11 -g -O1 -D_GNU_SOURCE -Ikernel -Iuserspace/lib -fno-strict-aliasing \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -pthread
FUZZ_SECONDS ?= 3600

build/fuzz/fuzz-metadata: tests/fuzz/fuzz-metadata.c $(LIBVELA_SRCS) $(wildcard kernel/*.h userspace/lib/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz-metadata.c $(LIBVELA_SRCS)

build/fuzz/gen-corpus: build/obj/plain/tests/fuzz/gen-corpus.o build/libvela.a
	@mkdir -p $(dir $@)
	$(CC) -pthread -o $@ $^

# bench/meta: the metadata benchmark (bench/meta.sh prints the table).
build/bench/meta: build/obj/plain/bench/meta.o build/libvela.a
	@mkdir -p $(dir $@)
	$(CC) -pthread -o $@ $^

bench-meta: libvela
	bench/meta.sh

# bench/populate: a fully mapped volume in a pool's metadata, for P4.
build/bench/populate: build/obj/plain/bench/populate.o build/libvela.a
	@mkdir -p $(dir $@)
	$(CC) -pthread -o $@ $^

# P4: velactl create-branch end to end, against dm-thin, in one VM boot.
bench-create: test-deps all build/bench/populate
	bench/create.sh

# P8: diff and merge with 1,000 changed blocks, 1 GiB against 64 GiB mapped.
bench-merge: test-deps all build/bench/populate
	bench/merge.sh

# K7: I/O latency of one branch while another's usage is polled.
bench-usage: test-deps all build/bench/populate
	bench/usage.sh

# The I/O benchmark, in one VM boot (several minutes without KVM).
bench-io: test-deps all
	bench/io.sh

fuzz: test-deps
	tests/host/fuzz.sh $(FUZZ_SECONDS)

-include $(wildcard build/obj/*/*/*.d build/obj/*/*/*/*.d)

deps:
	scripts/install-deps build

test-deps:
	scripts/install-deps test

# The dependency installs run first and in order; the rest runs in a sub-make
# so KDIR is picked only after the headers are installed.
check: deps test-deps
	@tests/check

check-full: deps test-deps
	@VELA_CHECK_FULL=1 tests/check

demo: deps test-deps
	$(MAKE) all
	tests/vm/run-vm --timeout 600 -- scripts/demo-guest

# R8: the kselftests on a debug kernel built from linux-source-6.12 and
# cached in $(VELA_CACHE)/debug-kernel/ (scripts/debug-kernel), and KUnit with
# lockdep and KASAN; results in build/results-debug/.
check-debug: deps test-deps
	@scripts/check-debug

# dm-vela.ko against the debug kernel, from a copy of the sources (so the
# objects of kernel/ stay those of the stock build): build/debug/module/, and
# the version check's module in build/debug/mismatch/.  DEBUG_SRC: where
# Kbuild, dkms.conf and kernel/ are copied from (scripts/check-debug points
# it at a git revision's tree for VELA_CHECK_DEBUG_REV).
DEBUG_KDIR ?= $(shell scripts/debug-kernel --dir 2>/dev/null)/build
DEBUG_SRC ?= .
debug-module:
	@[ -e "$(DEBUG_KDIR)/Module.symvers" ] || \
		{ echo "debug-module: no debug kernel in '$(DEBUG_KDIR)': run scripts/debug-kernel" >&2; exit 1; }
	rm -rf build/debug
	for d in module mismatch; do \
		mkdir -p build/debug/$$d/kernel && \
		cp $(DEBUG_SRC)/Kbuild $(DEBUG_SRC)/dkms.conf build/debug/$$d/ && \
		cp $(DEBUG_SRC)/kernel/*.c $(DEBUG_SRC)/kernel/*.h $(DEBUG_SRC)/kernel/Kbuild \
			build/debug/$$d/kernel/ || exit 1; \
	done
	$(MAKE) -C $(DEBUG_KDIR) M=$(CURDIR)/build/debug/module VELA_VERSION=$(VERSION) modules
	$(MAKE) -C $(DEBUG_KDIR) M=$(CURDIR)/build/debug/mismatch VELA_VERSION=$(VERSION) \
		VELA_TARGET_MAJOR=1 modules

checkpatch:
	tests/host/checkpatch.sh

# dm-vela's KUnit suites in a UML kernel built from linux-source-6.1, cached
# in $(VELA_CACHE)/kunit/ (the first run builds it: 5 to 8 minutes on 2 cores).
kunit: test-deps
	scripts/kunit

install: all
	install -D -m 0644 kernel/dm-vela.ko \
		$(DESTDIR)/lib/modules/$(KRELEASE)/updates/dm-vela.ko
	install -D -m 0755 userspace/velactl $(DESTDIR)$(SBINDIR)/velactl
	install -D -m 0644 docs/velactl.8 $(DESTDIR)$(MANDIR)/man8/velactl.8
	install -D -m 0644 scripts/system/56-dm-vela.rules $(DESTDIR)$(UDEVRULESDIR)/56-dm-vela.rules
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|@SBINDIR@|$(SBINDIR)|g' scripts/system/dm-vela.service \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/dm-vela.service
	install -D -m 0644 scripts/system/velactl.bash-completion $(DESTDIR)$(BASHCOMPDIR)/velactl
	[ -n "$(DESTDIR)" ] || depmod -a $(KRELEASE)
	@[ -n "$(DESTDIR)" ] || echo "make install: enable boot activation with: systemctl enable dm-vela.service"

uninstall:
	rm -f $(DESTDIR)/lib/modules/$(KRELEASE)/updates/dm-vela.ko
	rm -f $(DESTDIR)$(SBINDIR)/velactl $(DESTDIR)$(MANDIR)/man8/velactl.8
	rm -f $(DESTDIR)$(UDEVRULESDIR)/56-dm-vela.rules $(DESTDIR)$(SYSTEMDUNITDIR)/dm-vela.service
	rm -f $(DESTDIR)$(BASHCOMPDIR)/velactl
	[ -n "$(DESTDIR)" ] || depmod -a $(KRELEASE)

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -f userspace/velactl
	rm -rf build
