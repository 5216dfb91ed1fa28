# SPDX-License-Identifier: GPL-2.0-only
#
# dm-vela top-level Makefile.
#
#   make              build kernel/dm-vela.ko and userspace/velactl
#   make deps         install the build dependencies (Debian packages)
#   make check        install everything, build, run every test; last line is
#                     "N passed, N failed, N skipped"
#   make demo         boot a VM and walk through dm-vela
#   make install      install the module and velactl on this host
#
# KDIR is picked by scripts/pick-kdir (see there); `make KDIR=...` overrides.

VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' dkms.conf)
KDIR ?= $(shell scripts/pick-kdir)
KRELEASE = $(shell scripts/kernel-release $(KDIR))

PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=

export VELA_CACHE ?= /var/cache/dm-vela

CC ?= cc
CFLAGS ?= -O2 -g
USER_CFLAGS = -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
	-DVELA_PACKAGE_VERSION='"$(VERSION)"' \
	$(shell pkg-config --cflags devmapper blkid)
USER_LIBS = $(shell pkg-config --libs devmapper blkid)

VELACTL_SRCS := userspace/velactl.c
VELACTL_HDRS := userspace/compat.h

.PHONY: all module clean-module velactl deps test-deps check check-full demo \
	install uninstall checkpatch clean

all: module velactl

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) VELA_VERSION=$(VERSION) W=1 modules

clean-module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean

velactl: userspace/velactl

userspace/velactl: $(VELACTL_SRCS) $(VELACTL_HDRS) dkms.conf
	$(CC) $(USER_CFLAGS) $(CFLAGS) -o $@ $(VELACTL_SRCS) $(USER_LIBS)

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

checkpatch:
	tests/host/checkpatch.sh

install: all
	install -D -m 0644 kernel/dm-vela.ko \
		$(DESTDIR)/lib/modules/$(KRELEASE)/updates/dm-vela.ko
	install -D -m 0755 userspace/velactl $(DESTDIR)$(SBINDIR)/velactl
	[ -n "$(DESTDIR)" ] || depmod -a $(KRELEASE)

uninstall:
	rm -f $(DESTDIR)/lib/modules/$(KRELEASE)/updates/dm-vela.ko
	rm -f $(DESTDIR)$(SBINDIR)/velactl
	[ -n "$(DESTDIR)" ] || depmod -a $(KRELEASE)

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -f userspace/velactl
	rm -rf build
